/**
 * Typed errors that carry an RFC 9457 problem. Use cases throw these; one middleware
 * (lib/http/problem.ts) turns them into responses. Anything else becomes a 500 with
 * no internals in the body.
 */
export type ProblemCode =
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
  | 'unsupported-media-type'
  | 'invalid-as-of'
  | 'internal-error'
  | 'service-unavailable';

const titles: Record<ProblemCode, [status: number, title: string]> = {
  'validation-failed': [400, 'The request is not valid'],
  unauthorized: [401, 'A valid credential is required'],
  forbidden: [403, 'This credential may not call this route'],
  'not-found': [404, 'Not found'],
  conflict: [409, 'Conflict with an existing resource'],
  'payload-too-large': [413, 'The request body is too large'],
  'idempotency-key-required': [400, 'An Idempotency-Key header is required'],
  'idempotency-key-reused': [422, 'The Idempotency-Key was used for a different request'],
  'idempotency-key-in-use': [409, 'A request with this Idempotency-Key is in progress'],
  'currency-mismatch': [422, "The currency is not the program's currency"],
  'insufficient-points': [422, 'Not enough points'],
  'invalid-redemption-code': [422, 'The redemption code is unknown, used or expired'],
  'invalid-state': [409, 'Not possible in the current state'],
  'rate-limited': [429, 'Too many failed attempts; retry later'],
  'refund-exceeds-purchase': [422, 'Refunds would exceed the purchase total'],
  'unsupported-media-type': [415, 'The request body must be JSON'],
  'invalid-as-of': [422, 'asOf is in the future'],
  'internal-error': [500, 'Internal error'],
  'service-unavailable': [503, 'The service is busy, retry later'],
};

export interface FieldError {
  path: string;
  message: string;
}

export class ProblemError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } & Record<
      string,
      unknown
    > = {},
  ) {
    super(detail ?? code);
    const [status, title] = titles[code];
    this.status = status;
    this.title = title;
  }
}

export const notFound = (what: string) => new ProblemError('not-found', `${what} was not found`);

export const validationFailed = (errors: FieldError[], detail = 'The request is not valid') =>
  new ProblemError('validation-failed', detail, { errors });

/**
 * Client mistakes found below the use cases, where there is no HTTP: lib/http/problem.ts
 * answers each with its problem.
 */
export class IdempotencyKeyReusedError extends Error {
  constructor() {
    super('This Idempotency-Key was already used with a different request');
  }
}

export class InvalidCursorError extends Error {
  constructor() {
    super('not a cursor this API issued for this list');
  }
}
