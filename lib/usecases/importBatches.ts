/**
 * Import: a merchant's members and their purchase history, in batches of up to 500
 * (importCustomers.ts, importPurchases.ts). What both halves share is here: how an item
 * that was not imported is told (the problem code its single route would answer), how a
 * batch of many transactions keeps its Idempotency-Key, and how items are packed into
 * transactions.
 */
import { DomainError, type ErrorCode } from '../errors.ts';
import type { IdempotencyContext } from '../principal.ts';
import { keepAnswer, markInFlight, releaseInFlight } from '../store/idempotency.ts';
import { type Answer, answered, replayed } from './change.ts';

/** Transactions of one batch written at once: enough to keep DynamoDB busy, few enough to be polite. */
export const CONCURRENT_TRANSACTIONS = 4;

/** An item that was not imported, with the problem code its single route would answer. */
export interface ItemError {
  index: number;
  code: ErrorCode;
  detail: string;
}

export const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;

/** At most this many of an item's problems are told (the answer stays small whatever is sent). */
const MAX_ISSUES_PER_ITEM = 5;

/** An item's schema problems as one line: `path: message; ...`, the first few of them. */
export function invalid(
  index: number,
  issues: readonly { path: PropertyKey[]; message: string }[],
): ItemError {
  const told = issues
    .slice(0, MAX_ISSUES_PER_ITEM)
    .map((i) => `${i.path.map(String).join('.').slice(0, 100) || '(item)'}: ${i.message}`);
  const more = issues.length - told.length;
  const detail = told.join('; ') + (more > 0 ? `; and ${more} more` : '');
  return { index, code: 'validation-failed', detail };
}

/** What the single route would answer: a DomainError's code and detail; anything else is ours. */
export function problemOf(index: number, error: unknown): ItemError {
  if (!(error instanceof DomainError)) throw error;
  const fields = error.extra.errors?.map((e) => `${e.path || '(item)'}: ${e.message}`);
  return { index, code: error.code, detail: fields?.join('; ') ?? error.detail ?? error.code };
}

/**
 * A batch is many transactions, not one, so its Idempotency-Key is marked in flight first
 * (a second request with the key meanwhile: 409 `idempotency-key-in-use`) and its answer
 * kept after; a batch that failed frees its key at once. Running a batch again is safe in
 * any case: what it recorded is found and skipped.
 */
export async function onceFor<T>(
  idem: IdempotencyContext,
  clock: () => Date,
  work: () => Promise<T>,
): Promise<Answer<T>> {
  const mark = await markInFlight(idem, clock());
  if ('replay' in mark) return replayed(mark.replay);
  try {
    const value = await work();
    await keepAnswer(idem, mark.token, value, clock());
    return answered(value);
  } catch (error) {
    await releaseInFlight(idem, mark.token, clock()).catch(() => undefined);
    throw error;
  }
}

/** Consecutive groups whose items add up to at most `room` (an item bigger alone is a group). */
export function packed<T>(list: readonly T[], size: (t: T) => number, room: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let used = 0;
  for (const t of list) {
    if (group.length > 0 && used + size(t) > room) {
      groups.push(group);
      group = [];
      used = 0;
    }
    group.push(t);
    used += size(t);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
