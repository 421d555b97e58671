import { type CustomerState, type CustomerView, customerView } from '../domain/customer.ts';
import { type LedgerEntry, lastExpiredDay, PointsChange } from '../domain/lifecycle.ts';
import type { Program } from '../domain/program.ts';
import { notFound, ProblemError } from '../errors.ts';
import type { AdjustmentInput } from '../schemas.ts';
import {
  commitChange,
  customerFromItem,
  getCustomer,
  getCustomerConsistent,
} from '../store/customers.ts';
import { type DueIndex, dueCustomerIds } from '../store/due.ts';
import {
  claimIdempotencyKey,
  type IdempotencyContext,
  idempotencyKey,
  readReplay,
  replayFrom,
  type StoredResponse,
} from '../store/idempotency.ts';
import { keys } from '../store/keys.ts';
import { getModel } from '../store/model.ts';
import { getProgram } from '../store/program.ts';
import { batchGet, pick } from '../store/reads.ts';
import { backoff } from '../store/transactions.ts';
import { tooContended } from './contention.ts';
import type { Outcome } from './purchases.ts';

const MAX_ATTEMPTS = 8;

/**
 * A customer as of now. Whatever fell due since the last change (pending points that
 * became available, expired points, a tier review) is written first, lazily, with its
 * ledger entries, so what a reader sees always matches the ledger, whether or not the
 * jobs have run yet. A read pays a write only when something was due.
 */
export async function settledCustomer(
  id: string,
  program: Program,
  now: Date,
): Promise<CustomerState | undefined> {
  let customer = await getCustomer(id);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (!customer) return undefined;
    const change = new PointsChange(customer, program, now).settle();
    if (!change.changed) return customer;
    if (attempt > 0) await backoff(attempt);
    if ((await commitChange(change)) === 'committed') return change.customer;
    customer = await getCustomerConsistent(id);
  }
  throw tooContended('customer');
}

export async function readSettledCustomer(id: string, now = new Date()): Promise<CustomerView> {
  const [program, model] = await Promise.all([getProgram(), getModel()]);
  const customer = await settledCustomer(id, program, now);
  if (!customer) throw notFound('Customer');
  return customerView(customer, program, now, model);
}

/**
 * A goodwill credit or a correction, with its reason. A debit may not take available
 * points below 0 (422 insufficient-points). Idempotent like every POST.
 */
export async function adjustPoints(
  customerId: string,
  input: AdjustmentInput,
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Outcome> {
  const program = await getProgram();
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const now = clock();
    const found = await batchGet([keys.customer(customerId), idempotencyKey(idem)]);
    const replay = replayFrom(pick(found, idempotencyKey(idem)), idem, now);
    if (replay) return { ...replay, replayed: true };
    const customer = customerFromItem(pick(found, keys.customer(customerId)));
    if (!customer) throw notFound('Customer');
    const change = new PointsChange(customer, program, now).settle();
    const available = change.customer.available;
    if (available + input.points < 0) {
      throw new ProblemError(
        'insufficient-points',
        `An adjustment of ${input.points} would take available points below 0 (${available} available)`,
      );
    }
    const entry: LedgerEntry = change.adjust(input.points, input.reason);
    const response: StoredResponse = { status: 201, body: entry };
    const outcome = await commitChange(change, [claimIdempotencyKey(idem, response, now)]);
    if (outcome === 'committed') return { ...response, replayed: false };
    if (outcome !== 'stale') {
      const stored = await readReplay(idem, now);
      if (stored) return { ...stored, replayed: true };
    }
  }
  throw tooContended('customer');
}

export type JobName = 'activate-pending' | 'expire-points' | 'review-tiers' | 'lapse-scan';

export interface JobResult {
  asOf: string;
  /** Customers the job changed. */
  customers: number;
  /** Points activated or expired (review-tiers: 0; lapse-scan: customers flagged). */
  points: number;
  /** Tiers changed (review-tiers only: the others report 0). */
  tiersChanged: number;
  /** false if the job stopped at its deadline; the next run carries on where it left off. */
  complete: boolean;
}

interface JobSpec {
  index: DueIndex;
  /** Due strictly before the bound (the lapse rule's "more than"). */
  strict?: true;
  /** The index bound: everything at or before it is due at asOf; null when nothing can be. */
  bound: (asOf: Date, program: Program) => string | null;
  /** The one step this job applies; returns the points it moved. */
  apply: (change: PointsChange) => number;
}

const jobSpecs: Record<JobName, JobSpec> = {
  'activate-pending': {
    index: 'ActivateDue',
    bound: (asOf) => asOf.toISOString(),
    apply: (change) => change.activateDue(),
  },
  'expire-points': {
    index: 'ExpireDue',
    bound: (asOf, program) =>
      program.pointsExpireAfterDays === null
        ? null
        : lastExpiredDay(asOf, program.pointsExpireAfterDays),
    apply: (change) => change.expireDue(),
  },
  'lapse-scan': {
    index: 'LapseDue',
    strict: true,
    bound: (asOf) => asOf.toISOString(),
    apply: (change) => (change.flagLapse() ? 1 : 0),
  },
  'review-tiers': {
    index: 'ReviewDue',
    bound: (asOf) => asOf.toISOString(),
    apply: (change) => {
      change.reviewTier();
      return 0;
    },
  },
};

/**
 * Runs one periodic job as of `asOf`: queries its due index (only the customers due) and
 * applies its step to each in the customer's own conditional transaction. A customer
 * done leaves the index (or moves later in it), so a rerun, an overlapping run or a run
 * cut off half-way and started again applies nothing twice.
 */
export async function runJob(
  name: JobName,
  asOf: Date,
  options: {
    /** Epoch ms after which no new page is started. */
    deadline?: number;
    /** Asked before each page; true stops the run there (the deadline check, or a test's). */
    shouldStop?: () => boolean;
    pageSize?: number;
    clock?: () => Date;
    /** Count what would change, and write nothing. */
    dryRun?: boolean;
  } = {},
): Promise<JobResult> {
  const { deadline = Number.POSITIVE_INFINITY, clock = () => new Date() } = options;
  const shouldStop = options.shouldStop ?? (() => Date.now() > deadline);
  const spec = jobSpecs[name];
  const program = await getProgram();
  const result: JobResult = {
    asOf: asOf.toISOString(),
    customers: 0,
    points: 0,
    tiersChanged: 0,
    complete: true,
  };
  const bound = spec.bound(asOf, program);
  if (bound === null) return result;
  for await (const ids of dueCustomerIds(spec.index, bound, options.pageSize, spec.strict)) {
    if (shouldStop()) {
      result.complete = false;
      break;
    }
    const found = await batchGet(ids.map((id) => keys.customer(id)));
    for (const id of ids) {
      let customer = customerFromItem(pick(found, keys.customer(id)));
      for (let attempt = 0; customer && attempt < MAX_ATTEMPTS; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const change = new PointsChange(customer, program, asOf, clock());
        const points = spec.apply(change);
        if (!change.changed) break;
        if (options.dryRun || (await commitChange(change)) === 'committed') {
          result.customers += 1;
          result.points += points;
          result.tiersChanged += change.events.filter((e) => e.type === 'tier.changed').length;
          break;
        }
        customer = await getCustomerConsistent(id);
      }
    }
  }
  return result;
}
