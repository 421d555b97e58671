/**
 * The one way a customer changes: read, decide a PointsChange (and what else goes with it),
 * commit it all in one transaction, and start again from a fresh read when another change
 * got in first. Purchases, refunds, redemptions, adjustments, lapse reasons, settling
 * reads and jobs all go through `changeCustomers`, so they share one retry policy, one
 * idempotent-replay rule and one way of naming a lost race.
 */
import {
  type CustomerState,
  MAX_CUSTOMER_POINTS,
  MAX_CUSTOMER_SPEND,
  totalOutOfBounds,
} from '../domain/customer.ts';
import { DomainError, validationFailed } from '../errors.ts';
import type { IdempotencyContext } from '../principal.ts';
import { type CustomerChange, commitChanges, type ExtraItem } from '../store/customers.ts';
import { claimIdempotencyKey, readReplay } from '../store/idempotency.ts';
import { backoff } from '../store/transactions.ts';

/** Attempts at an optimistic write before 503: enough for 50 tills racing on one customer. */
export const MAX_ATTEMPTS = 10;

/** The answer of an idempotent request; `replayed` when it is a stored one returned again. */
export interface Answer<T> {
  value: T;
  replayed: boolean;
}

/** What one attempt decided: nothing to write, or changes to commit. */
export type Decision<T> =
  | { kind: 'done'; result: T }
  | {
      kind: 'write';
      /** Changes to distinct customers (many operations on one customer are one change). */
      changes: CustomerChange[];
      extras?: ExtraItem[];
      /** The answer kept under the request's Idempotency-Key, in the same transaction. */
      answer?: unknown;
      /** What the caller gets once it is written. */
      result: T;
    };

export const done = <T>(result: T): Decision<T> => ({ kind: 'done', result });

export const write = <T>(
  w: Omit<Extract<Decision<T>, { kind: 'write' }>, 'kind'>,
): Decision<T> => ({
  kind: 'write',
  ...w,
});

/** Optimistic retries ran out: the item kept changing under us. Safe to retry later. */
const tooContended = (what: 'customer' | 'purchase') =>
  new DomainError('service-unavailable', `Too many concurrent changes to this ${what}`, {
    retryAfterSeconds: 1,
  });

/** An erased customer changes no more: their record stays as it was left. */
function refuseErased(change: CustomerChange): void {
  if (change.was === 'erased') refuseIfErased(change.customer);
}

/**
 * Refuses a call about an erased customer before anything else is checked, so it answers
 * customer-erased rather than whatever their emptied balance would make of it.
 */
export function refuseIfErased(customer: Pick<CustomerState, 'id' | 'status'> | undefined) {
  if (customer?.status !== 'erased') return;
  throw new DomainError('customer-erased', `Customer ${customer.id} was erased on request`);
}

/** Refused before anything is written: a total past its bound would no longer be exact. */
function refuseOutOfBounds(change: CustomerChange): void {
  const total = totalOutOfBounds(change.customer);
  if (total === undefined) return;
  throw validationFailed(
    [{ path: '', message: `this would take the customer's ${total} past their bound` }],
    `A customer's points stay within ${MAX_CUSTOMER_POINTS} and qualifying spend within ${MAX_CUSTOMER_SPEND}`,
  );
}

/** An idempotent request's answer to the caller, fresh or replayed. */
export const answered = <T>(value: T): Answer<T> => ({ value, replayed: false });
/** A stored answer (kept as JSON by the request that made it) given again. */
export const replayed = <T>(stored: { answer: unknown }): Answer<T> => ({
  value: stored.answer as T,
  replayed: true,
});

/**
 * Runs `attempt` until what it decided is committed (or it decides there is nothing to
 * write). Each attempt after the first waits a jittered backoff and starts from a fresh
 * read. With `idempotency`, the answer is stored with the change; a key another request
 * took meanwhile returns that request's answer. A conflict an extra item names becomes
 * the error `conflicts` gives for it.
 */
export async function changeCustomers<T>(options: {
  attempt: (now: Date, attempt: number) => Promise<Decision<T>>;
  clock?: () => Date;
  idempotency?: { ctx: IdempotencyContext; replay: (stored: { answer: unknown }) => T };
  conflicts?: Record<string, () => DomainError>;
  /** What kept changing, for the 503 when the attempts run out. */
  contended?: 'customer' | 'purchase';
  /** Instead of the 503 when the attempts run out (a job moves on to the next customer). */
  onTooContended?: () => T;
}): Promise<T> {
  const clock = options.clock ?? (() => new Date());
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const now = clock();
    const decision = await options.attempt(now, attempt);
    if (decision.kind === 'done') return decision.result;
    for (const change of decision.changes) {
      refuseErased(change);
      refuseOutOfBounds(change);
    }
    const idem = options.idempotency;
    // An idempotent change always stores its answer: without it a retry would apply again.
    if (idem && decision.answer === undefined)
      throw new Error('an idempotent change needs its answer');
    const result = await commitChanges({
      changes: decision.changes,
      ...(decision.extras && { extras: decision.extras }),
      ...(idem && { idempotency: claimIdempotencyKey(idem.ctx, decision.answer, now) }),
    });
    switch (result.outcome) {
      case 'committed':
        return decision.result;
      case 'idempotency-key-taken': {
        const stored = idem && (await readReplay(idem.ctx, now));
        if (stored && idem) return idem.replay(stored);
        break;
      }
      case 'conflict': {
        const conflict = options.conflicts?.[result.name];
        if (!conflict) throw new Error(`no error for the conflict ${result.name}`);
        throw conflict();
      }
      case 'stale':
        break;
    }
  }
  if (options.onTooContended) return options.onTooContended();
  throw tooContended(options.contended ?? 'customer');
}
