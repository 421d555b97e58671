/**
 * The periodic jobs that change customers one by one from a due index (activate-pending,
 * expire-points, review-tiers, birthday-bonus, expiry-reminders, and the lapse scan's
 * flagging): each reads only the customers due and applies its step to each in the
 * customer's own conditional transaction. (expiry-reminders first finishes, once, the pass
 * that gives customers stored before its index their remindLot: remindIndex.ts.)
 */
import type { Campaign } from '../domain/campaigns.ts';
import type { CustomerState } from '../domain/customer.ts';
import { lastExpiredDay } from '../domain/lots.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import type { Program } from '../domain/program.ts';
import { DomainError } from '../errors.ts';
import { campaignCountItems, liveCampaigns } from '../store/campaigns.ts';
import { type ExtraItem, getCustomerConsistent } from '../store/customers.ts';
import { type DueIndex, dueCustomerIds, lapsedCustomerIds } from '../store/due.ts';
import { lookUp } from '../store/lookups.ts';
import { getProgram } from '../store/program.ts';
import { changeCustomers, done, write } from './change.ts';
import { bonusTallies, commitPacked, type Decided, packable } from './jobPacks.ts';
import { indexReminders } from './remindIndex.ts';

export type JobName =
  | 'activate-pending'
  | 'expire-points'
  | 'review-tiers'
  | 'lapse-scan'
  | 'birthday-bonus'
  | 'expiry-reminders';

export interface JobResult {
  asOf: string;
  /** Customers the job changed. */
  customers: number;
  /**
   * Points activated or expired (review-tiers: 0; lapse-scan: customers flagged;
   * expiry-reminders: reminders sent).
   */
  points: number;
  /** Tiers changed (review-tiers only: the others report 0). */
  tiersChanged: number;
  /** false if the job stopped at its deadline; the next run carries on where it left off. */
  complete: boolean;
}

type JobSpec = {
  /** The one step this job applies; returns the points it moved. */
  apply: (change: PointsChange, campaigns: readonly Campaign[]) => number;
} & (
  | {
      index: DueIndex;
      /** The index bound: all at or before it is due at asOf; null when nothing can be. */
      bound: (asOf: Date, program: Program) => string | null;
    }
  | {
      /** The ids of the customers due, a page at a time (when a bound can't say it). */
      due: (
        asOf: Date,
        program: Program,
        options: { pageSize?: number; dropStale: boolean },
      ) => AsyncGenerator<string[]>;
    }
);

/** `points.expiring` goes out this many days before a lot of points expires. */
export const EXPIRY_REMINDER_DAYS = 14;

/** The expiry-reminders job: `points.expiring` once per lot, 14 days ahead. */
export async function runExpiryReminders(
  asOf: Date,
  options: { deadline?: number; dryRun?: boolean } = {},
): Promise<{ asOf: string; customers: number; reminders: number; complete: boolean }> {
  // Once, after an upgrade: customers stored before the RemindDue index get their key.
  const indexed = options.dryRun ? true : await indexReminders(options.deadline);
  const { customers, points, complete } = await runJob('expiry-reminders', asOf, options);
  return { asOf: asOf.toISOString(), customers, reminders: points, complete: complete && indexed };
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
  // Customers whose oldest lot not yet reminded expires within EXPIRY_REMINDER_DAYS: a
  // reminder per lot expiring by then. A reminder moves the customer's remindLot on to
  // its next lot, so a run reads only the customers with a reminder due.
  'expiry-reminders': {
    index: 'RemindDue',
    bound: (asOf, program) =>
      program.pointsExpireAfterDays === null
        ? null
        : lastExpiredDay(
            new Date(asOf.getTime() + EXPIRY_REMINDER_DAYS * 86_400_000),
            program.pointsExpireAfterDays,
          ),
    apply: (change) => change.remindExpiring(EXPIRY_REMINDER_DAYS),
  },
  // The thresholds are applied in the LapseWatch queries, not written into the index
  // (domain/lapseWatch.ts); `program` is the one whose thresholds are in force (lapse.ts).
  'lapse-scan': {
    due: (asOf, program, options) => lapsedCustomerIds(asOf, program.lapse, options),
    apply: (change, campaigns) => (change.flagLapse(campaigns) ? 1 : 0),
  },
  'birthday-bonus': {
    index: 'BirthdayDue',
    bound: (asOf) => asOf.toISOString(),
    apply: (change, campaigns) => change.birthday(campaigns),
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
 * What the one-off credits of a change (enrolment, birthday, referral bonuses) add to
 * their campaigns' counts: the points, and a customer the campaign has not credited before.
 */
export async function bonusCountItems(change: PointsChange, now: Date): Promise<ExtraItem[]> {
  return campaignCountItems(await bonusTallies([change]), now);
}

/** Customers due read per page: a wave of packed transactions (jobPacks.ts). */
const PAGE_SIZE = 200;

/** What one customer's step changed, as the job reports it. */
type Counts = { points: number; tiersChanged: number };

/**
 * Runs one periodic job as of `asOf`: queries its due index (only the customers due), a
 * page at a time, and applies its step to each, several customers to a transaction and
 * several transactions in flight (jobPacks.ts). A customer done leaves the index (or
 * moves later in it), and each change is conditional on the customer's version, so a
 * rerun, an overlapping run or a run cut off half-way and started again applies nothing
 * twice.
 */
export async function runJob(
  name: JobName,
  asOf: Date,
  options: {
    /** Epoch ms after which no new page is started. */
    deadline?: number;
    /**
     * Asked before each page of customers due; true stops the run there (the deadline
     * check, or a test's).
     */
    shouldStop?: () => boolean;
    pageSize?: number;
    clock?: () => Date;
    /** Count what would change, and write nothing. */
    dryRun?: boolean;
    /** The rules to apply instead of the stored program's (the lapse thresholds in force). */
    program?: Program;
    /**
     * Each customer in its own transaction, one after another: the path before packing,
     * kept for the scale bench's comparison (npm run bench:scale).
     */
    oneAtATime?: boolean;
  } = {},
): Promise<JobResult> {
  const { deadline = Number.POSITIVE_INFINITY, clock = () => new Date() } = options;
  const shouldStop = options.shouldStop ?? (() => Date.now() > deadline);
  const spec = jobSpecs[name];
  const program = options.program ?? (await getProgram());
  const result: JobResult = {
    asOf: asOf.toISOString(),
    customers: 0,
    points: 0,
    tiersChanged: 0,
    complete: true,
  };
  const pageSize = options.pageSize ?? (options.oneAtATime ? 100 : PAGE_SIZE);
  let due: AsyncGenerator<string[]>;
  if ('due' in spec) {
    due = spec.due(asOf, program, { pageSize, dropStale: !options.dryRun });
  } else {
    const bound = spec.bound(asOf, program);
    if (bound === null) return result;
    due = dueCustomerIds(spec.index, bound, pageSize);
  }
  const campaigns = await liveCampaigns();
  const count = (applied: Counts | null) => {
    if (!applied) return;
    result.customers += 1;
    result.points += applied.points;
    result.tiersChanged += applied.tiersChanged;
  };
  /** The step on a customer as read: its change and counts, or null when it changes nothing. */
  const decide = (customer: CustomerState, now: Date): Decided<Counts> | null => {
    // Rules as of asOf; entries written at the attempt's own clock reading.
    const change = new PointsChange(customer, program, asOf, now);
    const points = spec.apply(change, campaigns);
    if (!change.changed) return null;
    const tiersChanged = change.events.filter((e) => e.type === 'tier.changed').length;
    return { change, counts: { points, tiersChanged } };
  };
  /**
   * One customer in its own transaction, from `read` (the page's) or else a fresh read. A
   * change refused before any write (it would take the customer past a bound) leaves that
   * customer as they are, logged, and the run goes on with the others.
   */
  const applyOne = (id: string, read?: { customer: CustomerState | undefined }) =>
    changeOne(id, read).catch((error: unknown) => {
      if (!(error instanceof DomainError) || error.code !== 'validation-failed') throw error;
      console.error(`loyalty: ${name} left customer ${id} as they are: ${error.detail}`);
      return null;
    });
  const changeOne = (id: string, read?: { customer: CustomerState | undefined }) =>
    changeCustomers<Counts | null>({
      // A customer that keeps changing under the run stays due: the next run takes it.
      onTooContended: () => null,
      clock,
      attempt: async (now, attempt) => {
        const customer = attempt === 0 && read ? read.customer : await getCustomerConsistent(id);
        const decided = customer && decide(customer, now);
        if (!decided) return done(null);
        if (options.dryRun) return done(decided.counts);
        return write({
          changes: [decided.change],
          extras: await bonusCountItems(decided.change, now),
          result: decided.counts,
        });
      },
    });
  for await (const ids of due) {
    // Before each page of customers due; between index pages with nobody due (LapseWatch),
    // the deadline alone, so a long run of those cannot hold the run past it.
    if (ids.length === 0 ? Date.now() > deadline : shouldStop()) {
      result.complete = false;
      break;
    }
    if (ids.length === 0) continue;
    const found = await lookUp({ customers: ids });
    if (options.oneAtATime || options.dryRun) {
      for (const id of ids) count(await applyOne(id, { customer: found.customer(id) }));
      continue;
    }
    const now = clock();
    const decided: Decided<Counts>[] = [];
    const alone: string[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      const customer = found.customer(id);
      if (!customer) continue;
      // Two ids read as one customer (a merge): the second from a fresh read, alone.
      if (seen.has(customer.id)) {
        alone.push(id);
        continue;
      }
      seen.add(customer.id);
      const d = decide(customer, now);
      // One the pack path does not check (erased, or the change would take it past a
      // bound): the one-at-a-time path answers it as for any change, logged.
      if (d && !packable(d.change.customer)) alone.push(id);
      else if (d) decided.push(d);
    }
    const { committed, contended } = await commitPacked(decided, now);
    for (const counts of committed) count(counts);
    for (const id of [...alone, ...contended]) count(await applyOne(id));
  }
  return result;
}
