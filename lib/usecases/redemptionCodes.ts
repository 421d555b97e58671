import { randomInt } from 'node:crypto';
import { notFound } from '../errors.ts';
import { getCustomerConsistent } from '../store/customers.ts';
import { insertRedemptionCode } from '../store/redemptionCodes.ts';
import { refuseIfErased } from './change.ts';

/** No 0/O, 1/I/L or U: a code read aloud or typed at a till can't be mistaken. */
export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CODE_LENGTH = 8;
export const CODE_TTL_SECONDS = 10 * 60;

const drawCode = () =>
  Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join(
    '',
  );

/**
 * A single-use code, valid 10 minutes: the customer's consent to one redemption. 30^8
 * (6.6 x 10^11) codes, drawn with a CSPRNG, so guessing one is impractical.
 */
export async function createRedemptionCode(
  id: string,
  now = new Date(),
): Promise<{ code: string; expiresAt: string }> {
  // The customer the token names, or the one they were merged into; an erased one may not.
  const customer = await getCustomerConsistent(id);
  if (!customer) throw notFound('Customer');
  refuseIfErased(customer);
  const customerId = customer.id;
  const expiresAt = Math.floor(now.getTime() / 1000) + CODE_TTL_SECONDS;
  for (let attempt = 0; attempt < 5; attempt++) {
    const code = drawCode();
    const stored = await insertRedemptionCode(
      { code, customerId, createdAt: now.toISOString(), expiresAt },
      now,
    );
    if (stored) return { code, expiresAt: new Date(expiresAt * 1000).toISOString() };
  }
  throw new Error('could not draw an unused redemption code');
}
