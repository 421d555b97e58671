import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ProblemError } from '../errors.ts';
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
 * Any error as an RFC 9457 response. Only ProblemErrors say what went wrong; anything
 * else is a 500 (or a 503 when DynamoDB was throttling or unreachable) with nothing
 * internal in it.
 */
export function problemResponse(
  error: unknown,
  instance?: string,
): APIGatewayProxyStructuredResultV2 {
  const problem =
    error instanceof ProblemError
      ? error
      : THROTTLED.has((error as Error | undefined)?.name ?? '') || isTransactionConflict(error)
        ? new ProblemError('service-unavailable', 'Too many requests right now; retry shortly', {
            headers: { 'retry-after': '1' },
          })
        : unreachable(error)
          ? new ProblemError('service-unavailable', 'The database is unreachable; retry shortly', {
              headers: { 'retry-after': '1' },
            })
          : new ProblemError('internal-error', 'An unexpected error occurred; it has been logged');
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
