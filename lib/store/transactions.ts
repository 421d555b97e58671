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
