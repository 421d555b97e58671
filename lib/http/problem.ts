import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DomainError, type ErrorCode, type FieldError } from '../errors.ts';
import { isThrottled, isUnreachable } from '../store/transactions.ts';

/** The status and title each code is answered with: the one place codes meet HTTP. */
const statusAndTitle: Record<ErrorCode, [status: number, title: string]> = {
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
  'merge-blocked': [409, 'The customer to merge has a redemption open'],
  'customer-erased': [409, 'The customer was erased'],
  'unsupported-media-type': [415, 'The request body must be JSON'],
  'invalid-as-of': [422, 'asOf is in the future'],
  'internal-error': [500, 'Internal error'],
  'service-unavailable': [503, 'The service is busy, retry later'],
};

export const statusOf = (code: ErrorCode): number => statusAndTitle[code][0];
export const titleOf = (code: ErrorCode): string => statusAndTitle[code][1];

/** An error as the client will see it (RFC 9457), before it is serialised. */
export interface Problem {
  status: number;
  title: string;
  code: ErrorCode;
  detail?: string;
  errors?: FieldError[];
  headers: Record<string, string>;
  /** Members of the problem beyond the standard ones (`remaining`, and such). */
  extra: Record<string, unknown>;
}

function problemOf(error: DomainError): Problem {
  const { errors, retryAfterSeconds, ...extra } = error.extra;
  return {
    status: statusOf(error.code),
    title: titleOf(error.code),
    code: error.code,
    ...(error.detail !== undefined && { detail: error.detail }),
    ...(errors !== undefined && { errors }),
    headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
    extra,
  };
}

/**
 * The one place errors become problems. DomainErrors say what went wrong; DynamoDB
 * throttling or unreachable is a 503; anything else is a 500 with nothing internal in it.
 */
export function toProblem(error: unknown): Problem {
  if (error instanceof DomainError) return problemOf(error);
  if (isThrottled(error)) {
    return problemOf(
      new DomainError('service-unavailable', 'Too many requests right now; retry shortly', {
        retryAfterSeconds: 1,
      }),
    );
  }
  if (isUnreachable(error)) {
    return problemOf(
      new DomainError('service-unavailable', 'The database is unreachable; retry shortly', {
        retryAfterSeconds: 1,
      }),
    );
  }
  return problemOf(
    new DomainError('internal-error', 'An unexpected error occurred; it has been logged'),
  );
}

/** Any error as an RFC 9457 response (see toProblem). */
export function problemResponse(
  error: unknown,
  instance?: string,
): APIGatewayProxyStructuredResultV2 {
  const problem = toProblem(error);
  return {
    statusCode: problem.status,
    headers: {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      ...problem.headers,
    },
    body: JSON.stringify({
      type: `urn:loyalty:problem:${problem.code}`,
      title: problem.title,
      status: problem.status,
      code: problem.code,
      ...(problem.detail !== undefined && { detail: problem.detail }),
      ...(instance !== undefined && { instance }),
      ...(problem.errors !== undefined && { errors: problem.errors }),
      ...problem.extra,
    }),
  };
}
