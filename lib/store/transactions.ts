/**
 * Which items of a cancelled TransactWriteItems failed their condition. DynamoDB lists
 * one reason per item, in request order; "None" for the items that were fine.
 */
export function failedConditions(error: unknown): number[] | undefined {
  if ((error as Error | undefined)?.name !== 'TransactionCanceledException') return undefined;
  const reasons =
    (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
}

/** A transaction that lost a race with another on the same items; safe to retry. */
export function isTransactionConflict(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  if (name === 'TransactionConflictException') return true;
  if (name !== 'TransactionCanceledException') return false;
  const reasons =
    (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((r) => r.Code === 'TransactionConflict');
}

/** Jittered exponential wait before retry `attempt` (1, 2, ...) of a lost optimistic write. */
export const backoff = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(attempt, 7)));

/** Node's socket errors, which the SDK v3 passes through when DynamoDB cannot be reached. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** DynamoDB could not be reached: a dropped, refused or timed-out connection. */
export const isUnreachable = (error: unknown) =>
  (error as Error | undefined)?.name === 'TimeoutError' ||
  UNREACHABLE.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');

/**
 * A failure of DynamoDB or of the way to it (an error DynamoDB answered, throttling past the
 * SDK's retries, a dropped or timed-out connection), not of our code: what it stopped was
 * not written, or was written whole (a transaction is all or nothing), so it can be sent
 * again and found recorded if it was.
 */
export function isStorageFailure(error: unknown): boolean {
  return (
    (error as { $metadata?: unknown } | undefined)?.$metadata !== undefined || isUnreachable(error)
  );
}
