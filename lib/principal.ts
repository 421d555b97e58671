/**
 * Who is calling and under which Idempotency-Key: what the HTTP layer learns from a
 * request (the authorizer's context, the headers) and hands to the use cases. The store
 * keeps principals (API keys) and idempotency records of these shapes. Plain types with no
 * HTTP in them, so the store and the use cases take them without importing the HTTP layer.
 */

/** The API's roles; the route table says which may call each route. */
export type Role = 'admin' | 'pos' | 'partner' | 'app' | 'customer';

/** Who is calling: an API key's holder, or (role `customer`) the customer a token names. */
export interface Principal {
  /** The credential: an API key id, or `token:<customerId>` for a customer token. */
  keyId: string;
  role: Role;
  storeId?: string;
  partnerId?: string;
  customerId?: string;
}

/**
 * An Idempotency-Key, scoped to the calling credential and bound to the exact request:
 * the same key with another request is refused.
 */
export interface IdempotencyContext {
  /** The calling credential: keys are scoped to it. */
  scope: string;
  key: string;
  /** sha256 of method, path and canonical body. */
  requestHash: string;
}
