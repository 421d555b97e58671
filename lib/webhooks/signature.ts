import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, where each `v1` is
 * HMAC-SHA256, keyed with one whole secret string (`whsec_...`, prefix included, as UTF-8),
 * over `"<t>.<raw body>"`. Several `v1`s let a merchant roll a secret: during the overlap
 * every delivery is signed with the old and the new secret, and either one verifies.
 */

/** Receivers refuse a signature more than this many seconds from their clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const UNIX_SECONDS = /^\d{1,16}$/;

function hmacHex(secret: string, t: number, rawBody: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${t}.${rawBody}`, 'utf8')
    .digest('hex');
}

/** The signature header for a delivery of `rawBody` at `t`, one `v1` per secret, in order. */
export function signatureHeader(secrets: string[], rawBody: string, t: number): string {
  if (!Number.isSafeInteger(t) || t < 0) {
    throw new RangeError('t must be a non-negative integer number of unix seconds');
  }
  if (secrets.length === 0) throw new RangeError('at least one secret is needed');
  return [`t=${t}`, ...secrets.map((secret) => `v1=${hmacHex(secret, t, rawBody)}`)].join(',');
}

/**
 * Whether `header` signs `rawBody` with `secret`, within `toleranceSeconds` of `nowSeconds`.
 * Tolerant of spaces, element order and unknown keys (such as a future `v2`); a header with
 * no `t`, or more than one, is refused.
 */
export function verifySignature(
  header: string,
  rawBody: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): boolean {
  let t: number | undefined;
  let timestamps = 0;
  const signatures: Buffer[] = [];
  for (const element of header.split(',')) {
    const eq = element.indexOf('=');
    if (eq < 0) continue;
    const key = element.slice(0, eq).trim();
    const value = element.slice(eq + 1).trim();
    if (key === 't') {
      timestamps += 1;
      if (UNIX_SECONDS.test(value) && Number.isSafeInteger(Number(value))) t = Number(value);
    } else if (key === 'v1' && HEX_SHA256.test(value)) {
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamps !== 1 || t === undefined || signatures.length === 0) return false;
  if (!(Math.abs(nowSeconds - t) <= toleranceSeconds)) return false;
  const expected = Buffer.from(hmacHex(secret, t, rawBody), 'hex');
  let matched = false;
  for (const signature of signatures) {
    // Compare every candidate, so the time taken does not say which one matched.
    if (signature.length === expected.length && timingSafeEqual(signature, expected)) {
      matched = true;
    }
  }
  return matched;
}

/** A new signing secret: `whsec_` and 32 random bytes, base64url (43 characters). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}
