/**
 * The periodic jobs that change customers one by one from a due index (activate-pending,
 * expire-points, review-tiers, birthday-bonus, expiry-reminders, and the lapse scan's
 * flagging): each reads only the customers due and applies its step to each in the
 * customer's own conditional transaction. (expiry-reminders first finishes, once, the pass
 * that gives customers stored before its index their remindLot: remindIndex.ts.)
 */
import type { Campaign } from '../domain/campaigns.ts';
import { lastExpiredDay } from '../domain/lots.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import type { Program } from '../domain/program.ts';
import { campaignCountItems, liveCampaigns } from '../store/campaigns.ts';
import { type ExtraItem, getCustomerConsistent } from '../store/customers.ts';
import { type DueIndex, dueCustomerIds, lapsedCustomerIds } from '../store/due.ts';
import { lookUp } from '../store/lookups.ts';
import { getProgram } from '../store/program.ts';
import { changeCustomers, done, write } from './change.ts';
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
    apply: (change) => (change.flagLapse() ? 1 : 0),
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
  const bonuses = change.entries
    .map(({ entry }) => entry)
    .filter((e) => e.type === 'bonus' && e.campaignId !== undefined);
  if (bonuses.length === 0) return [];
  const customerId = change.customer.id;
  const ids = [...new Set(bonuses.map((e) => e.campaignId as string))];
  const seen = await lookUp({ credited: ids.map((campaignId) => ({ campaignId, customerId })) });
  return campaignCountItems(
    bonuses.map((e) => ({
      campaignId: e.campaignId as string,
      customerId,
      points: e.points,
      purchase: false,
      newCustomer: !seen.credited(e.campaignId as string, customerId),
    })),
    now,
  );
}

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
  let due: AsyncGenerator<string[]>;
  if ('due' in spec) {
    due = spec.due(asOf, program, {
      ...(options.pageSize !== undefined && { pageSize: options.pageSize }),
      dropStale: !options.dryRun,
    });
  } else {
    const bound = spec.bound(asOf, program);
    if (bound === null) return result;
    due = dueCustomerIds(spec.index, bound, options.pageSize);
  }
  const campaigns = await liveCampaigns();
  for await (const ids of due) {
    // Before each page of customers due; between index pages with nobody due (LapseWatch),
    // the deadline alone, so a long run of those cannot hold the run past it.
    if (ids.length === 0 ? Date.now() > deadline : shouldStop()) {
      result.complete = false;
      break;
    }
    if (ids.length === 0) continue;
    const found = await lookUp({ customers: ids });
    for (const id of ids) {
      const applied = await changeCustomers<{ points: number; tiersChanged: number } | null>({
        // A customer that keeps changing under the run stays due: the next run takes it.
        onTooContended: () => null,
        clock,
        attempt: async (now, attempt) => {
          // The page's read first; after a lost race, the customer as it is now.
          const customer = attempt === 0 ? found.customer(id) : await getCustomerConsistent(id);
          if (!customer) return done(null);
          // Rules as of asOf; entries written at the attempt's own clock reading.
          const change = new PointsChange(customer, program, asOf, now);
          const points = spec.apply(change, campaigns);
          if (!change.changed) return done(null);
          const counts = {
            points,
            tiersChanged: change.events.filter((e) => e.type === 'tier.changed').length,
          };
          if (options.dryRun) return done(counts);
          return write({
            changes: [change],
            extras: await bonusCountItems(change, now),
            result: counts,
          });
        },
      });
      if (applied) {
        result.customers += 1;
        result.points += applied.points;
        result.tiersChanged += applied.tiersChanged;
      }
    }
  }
  return result;
}
