/**
 * What can go wrong, as the problem codes the API answers with. Use cases and the HTTP layer throw
 * DomainErrors naming one of these codes; lib/http/problem.ts alone knows the status
 * and title each code is answered with. Anything else becomes a 500 with no internals.
 */
export type ErrorCode =
  | 'validation-failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'payload-too-large'
  | 'idempotency-key-required'
  | 'idempotency-key-reused'
  | 'idempotency-key-in-use'
  | 'currency-mismatch'
  | 'insufficient-points'
  | 'invalid-redemption-code'
  | 'invalid-state'
  | 'rate-limited'
  | 'refund-exceeds-purchase'
  | 'merge-blocked'
  | 'customer-erased'
  | 'unsupported-media-type'
  | 'invalid-as-of'
  | 'internal-error'
  | 'service-unavailable';

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra: {
      errors?: FieldError[];
      /** When the caller may try again (rate limits, contention). */
      retryAfterSeconds?: number;
    } & Record<string, unknown> = {},
  ) {
    super(detail ?? code);
  }
}

export const notFound = (what: string) => new DomainError('not-found', `${what} was not found`);

export const validationFailed = (errors: FieldError[], detail = 'The request is not valid') =>
  new DomainError('validation-failed', detail, { errors });

/** 413: the body is over the route's limit. */
export const payloadTooLarge = (limit: number) =>
  new DomainError(
    'payload-too-large',
    `Request bodies are limited to ${limit} bytes on this route`,
  );
