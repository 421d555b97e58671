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

/** DynamoDB's answers to too many requests at once, past the SDK's own retries. */
const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
]);

/** DynamoDB was too busy, or a transaction lost a race: the same request may pass later. */
export const isThrottled = (error: unknown) =>
  THROTTLED.has((error as Error | undefined)?.name ?? '') || isTransactionConflict(error);

/**
 * A failure of DynamoDB or of the way to it (a fault on its side, throttling past the SDK's
 * retries, a dropped or timed-out connection), not of the request: what it stopped was not
 * written, or was written whole (a transaction is all or nothing), so it can be sent again
 * and found recorded if it was. A request DynamoDB refuses (a ValidationException, such as
 * an item over 400 KB, or a condition that failed) is not one: it would be refused again.
 */
export function isStorageFailure(error: unknown): boolean {
  const answered = error as
    | { $fault?: string; $metadata?: { httpStatusCode?: number } }
    | undefined;
  return (
    answered?.$fault === 'server' ||
    (answered?.$metadata?.httpStatusCode ?? 0) >= 500 ||
    isThrottled(error) ||
    isUnreachable(error)
  );
}

/**
 * A request DynamoDB answered with a refusal of the request itself (a 4xx other than
 * throttling: a ValidationException, a failed condition not handled): sending it again as
 * it is would be refused again.
 */
export function isRefusedRequest(error: unknown): boolean {
  const answered = error as { $metadata?: unknown } | undefined;
  return answered?.$metadata !== undefined && !isStorageFailure(error);
}

/** What an optimistic write's attempt answers when it lost a race and must read again. */
export const AGAIN: unique symbol = Symbol('again');

/** Marks an error a loop gave up with, so that a loop around it does not try again. */
const GAVE_UP: unique symbol = Symbol('gave up');

/**
 * The loop of every optimistic write outside the customer-change path (which has its own,
 * usecases/change.ts): `attempt` (its number from 0) reads, decides and writes on the
 * condition that what it read has not moved; it answers its outcome, or AGAIN when the
 * write lost that race, and then runs again from a fresh read (after a jittered backoff
 * unless `wait` is false). With `conflicts`, a transaction it throws that lost a race with
 * another (isTransactionConflict, with no condition failed) is tried again too, and thrown
 * as it is when the last attempt loses it. After `attempts` AGAINs it throws `exhausted()`:
 * by default a TransactionConflict, which the API answers 503 with Retry-After. What a loop
 * gives up with is never tried again by a loop around it.
 */
export async function optimistic<T>(
  attempt: (n: number) => Promise<T | typeof AGAIN>,
  {
    attempts = 10,
    wait = true,
    conflicts = true,
    exhausted = () =>
      Object.assign(new Error('the item kept changing'), { name: 'TransactionConflictException' }),
  }: { attempts?: number; wait?: boolean; conflicts?: boolean; exhausted?: () => Error } = {},
): Promise<T> {
  for (let n = 0; n < attempts; n++) {
    if (n > 0 && wait) await backoff(n);
    try {
      const outcome = await attempt(n);
      if (outcome !== AGAIN) return outcome as T;
    } catch (error) {
      const lostRace =
        conflicts &&
        isTransactionConflict(error) &&
        (failedConditions(error) ?? []).length === 0 &&
        (error as { [GAVE_UP]?: true })[GAVE_UP] !== true;
      if (!lostRace) throw error;
      if (n === attempts - 1) throw Object.assign(error as Error, { [GAVE_UP]: true });
    }
  }
  throw Object.assign(exhausted(), { [GAVE_UP]: true });
}
