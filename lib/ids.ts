import { createHash } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

export type IdPrefix =
  | 'cus'
  | 'pur'
  | 'led'
  | 'sto'
  | 'ptn'
  | 'key'
  | 'red'
  | 'ref'
  | 'evt'
  | 'cmp'
  | 'whe'
  | 'dlv'
  | 'exp';

/** ULID-based ids with a type prefix: sortable by creation time, opaque to clients. */
export const newId = (prefix: IdPrefix, now = Date.now()) => `${prefix}_${nextUlid(now)}`;

/** What an id can look like; a path id of any other shape names nothing (404). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The id of the purchase of a receipt: the same for the same store and receipt id, so the
 * purchase's own item is the receipt's guard (store/purchases.ts) and no second item is
 * written for it. Shaped as a ULID (26 Crockford base32 characters, 128 bits: the first 16
 * bytes of SHA-256 over both ids) with its prefix; it sorts by nothing, unlike newId.
 */
export function receiptPurchaseId(storeId: string, receiptId: string): string {
  const digest = createHash('sha256').update(`${storeId}\u0000${receiptId}`).digest();
  let n = 0n;
  for (const byte of digest.subarray(0, 16)) n = (n << 8n) | BigInt(byte);
  let chars = '';
  for (let i = 0; i < 26; i++) {
    chars = CROCKFORD[Number(n & 31n)] + chars;
    n >>= 5n;
  }
  return `pur_${chars}`;
}
