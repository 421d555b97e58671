import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  IdempotencyKeyReusedError,
  InvalidCursorError,
  ProblemError,
  validationFailed,
} from '../errors.ts';
import { isTransactionConflict } from '../store/transactions.ts';

const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
]);

/** The database could not be reached (the SDK v3 passes node's socket errors through). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const unreachable = (error: unknown) =>
  (error as Error | undefined)?.name === 'TimeoutError' ||
  UNREACHABLE.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');

/**
 * The one place errors become problems. ProblemErrors say what went wrong; the store's
 * client mistakes get their codes here; DynamoDB throttling or unreachable is a 503;
 * anything else is a 500 with nothing internal in it.
 */
export function toProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof IdempotencyKeyReusedError) {
    return new ProblemError('idempotency-key-reused', error.message);
  }
  if (error instanceof InvalidCursorError) {
    return validationFailed([{ path: 'cursor', message: error.message }]);
  }
  if (THROTTLED.has((error as Error | undefined)?.name ?? '') || isTransactionConflict(error)) {
    return new ProblemError('service-unavailable', 'Too many requests right now; retry shortly', {
      headers: { 'retry-after': '1' },
    });
  }
  if (unreachable(error)) {
    return new ProblemError('service-unavailable', 'The database is unreachable; retry shortly', {
      headers: { 'retry-after': '1' },
    });
  }
  return new ProblemError('internal-error', 'An unexpected error occurred; it has been logged');
}

/** Any error as an RFC 9457 response (see toProblem). */
export function problemResponse(
  error: unknown,
  instance?: string,
): APIGatewayProxyStructuredResultV2 {
  const problem = toProblem(error);
  const { errors, headers, ...extra } = problem.extra;
  return {
    statusCode: problem.status,
    headers: {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      ...headers,
    },
    body: JSON.stringify({
      type: `urn:loyalty:problem:${problem.code}`,
      title: problem.title,
      status: problem.status,
      code: problem.code,
      ...(problem.detail !== undefined && { detail: problem.detail }),
      ...(instance !== undefined && { instance }),
      ...(errors !== undefined && { errors }),
      ...extra,
    }),
  };
}
