/**
 * Customers stored before the counts by day existed (no `counted` on the item) are counted
 * whole, once, by the roll-up job: what their ledger, purchases and ended lapses (the
 * outbox's `customer.reactivated` events) add to each day, in one transaction with the
 * customer conditional on its version, as every change is. Until then their changes add
 * nothing (PointsChange), so nothing is counted twice whatever runs meanwhile.
 *
 * What the data allows: points by day from the ledger, purchases and spend by the day
 * they occurred, customers from the day they joined or first bought, lapses and returns
 * from the outbox. What it does not: the value at risk of a lapse that ended before (its
 * spend then is not kept), and a reason counts from the day it was recorded, on an ended
 * lapse from the day it began.
 */
import type { CustomerState } from '../domain/customer.ts';
import {
  count,
  countEntry,
  type DayStats,
  lapsedKey,
  mergeStats,
  moveLapsedShare,
  type ReasonKey,
  utcDay,
} from '../domain/dayStats.ts';
import type { DomainEvent } from '../domain/ledger.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import type { Program } from '../domain/program.ts';
import { getCustomerConsistent } from '../store/customers.ts';
import { customerIdsOfShard, SAMPLE_SHARDS } from '../store/lapsed.ts';
import { getCustomers } from '../store/lookups.ts';
import { getProgram } from '../store/program.ts';
import { getPurchases } from '../store/purchases.ts';
import { getRedemptions } from '../store/redemptions.ts';
import {
  addReactivations,
  backfillState,
  saveBackfillState,
  wholeLedger,
} from '../store/reports.ts';
import { changeCustomers, done, write } from './change.ts';
import { inParallel } from './parallel.ts';

/** Customers counted at once (each its own transaction). */
const CONCURRENCY = 4;

/**
 * The most days one customer's history counts on: with the customer item and the mark,
 * its transaction stays within DynamoDB's 100 items. A longer history has its oldest
 * months counted on their first day (monthsFolded).
 */
export const MAX_HISTORY_DAYS = 90;

/**
 * Counts every customer not yet counted, shard by shard of the Customers index (where it
 * stopped last time), until `deadline`; marks the backfill done once all are. A customer
 * too busy to count now is counted by a later run (the backfill is not done until then).
 */
export async function backfillReports(
  now: Date,
  options: { deadline?: number } = {},
): Promise<{ counted: number; complete: boolean }> {
  const state = await backfillState();
  if (state.done) return { counted: 0, complete: true };
  const program = await getProgram();
  // The lapses that ended, by customer: all so far, then those recorded since, read again
  // after each customer is read (its return, if any, is in the outbox by then).
  const reactivations = new Map<string, DomainEvent[]>();
  let readFrom = 0;
  const refresh = async () => {
    const at = Date.now();
    await addReactivations(reactivations, readFrom);
    // A minute back: ids are made on writers' clocks.
    readFrom = at - 60_000;
  };
  await refresh();
  let counted = 0;
  let firstSkipped: number | undefined;
  const stop = (shard: number) =>
    saveBackfillState({ done: false, nextShard: firstSkipped ?? shard }, now).then(() => ({
      counted,
      complete: false,
    }));
  for (let shard = state.nextShard; shard < SAMPLE_SHARDS; shard++) {
    const ids = await customerIdsOfShard(shard);
    for (let i = 0; i < ids.length; i += 100) {
      if (options.deadline !== undefined && Date.now() > options.deadline) return stop(shard);
      const uncounted = (await getCustomers(ids.slice(i, i + 100))).filter(
        (c) => c.counted !== true,
      );
      await inParallel(uncounted, CONCURRENCY, async (c) => {
        const outcome = await countCustomer(c.id, program, now, async () => {
          await refresh();
          return reactivations.get(c.id) ?? [];
        });
        if (outcome === 'counted') counted++;
        if (outcome === 'skipped') firstSkipped = Math.min(firstSkipped ?? shard, shard);
      });
    }
  }
  if (firstSkipped !== undefined) return stop(firstSkipped);
  await saveBackfillState({ done: true, nextShard: SAMPLE_SHARDS }, now);
  return { counted, complete: true };
}

async function countCustomer(
  id: string,
  program: Program,
  now: Date,
  reactivationsOf: () => Promise<DomainEvent[]>,
): Promise<'counted' | 'already' | 'skipped'> {
  return changeCustomers<'counted' | 'already' | 'skipped'>({
    clock: () => now,
    attempt: async () => {
      const customer = await getCustomerConsistent(id);
      if (!customer || customer.counted === true) return done('already');
      const history = await historyOf(customer, await reactivationsOf());
      const change = new PointsChange(customer, program, now).countHistory(
        monthsFolded(history.stats, MAX_HISTORY_DAYS),
        history.memberSince,
      );
      return write({ changes: [change], result: 'counted' });
    },
    // Busy with its own changes: a later run counts it.
    onTooContended: () => 'skipped',
  });
}

/**
 * `stats` on at most `maxDays` days: the oldest months, one after another, counted on
 * their first day until it fits (the totals are the same; only where in those months
 * the counts fall moves).
 */
export function monthsFolded(stats: DayStats, maxDays: number): DayStats {
  if (stats.size <= maxDays) return stats;
  const days = [...stats.keys()].sort();
  const fold = (unit: (day: string) => string | undefined) => {
    const out: DayStats = new Map();
    for (const day of days) mergeStats(out, new Map([[unit(day) ?? day, { ...stats.get(day) }]]));
    return out;
  };
  const folded = new Set<string>();
  const byMonth = (day: string) =>
    folded.has(day.slice(0, 7)) ? `${day.slice(0, 7)}-01` : undefined;
  for (const month of new Set(days.map((d) => d.slice(0, 7)))) {
    if (fold(byMonth).size <= maxDays) break;
    folded.add(month);
  }
  const months = fold(byMonth);
  // Over 90 months of history: by year.
  return months.size <= maxDays ? months : fold((day) => `${day.slice(0, 4)}-01-01`);
}

/** What a customer's history adds to the counts by day, as if counted as it happened. */
export async function historyOf(
  customer: CustomerState,
  reactivations: readonly DomainEvent[],
): Promise<{ stats: DayStats; memberSince: string | undefined }> {
  const stats: DayStats = new Map();
  const ledger = await wholeLedger(customer.id);
  // A hold captured later: its points were counted as redeemed at the capture.
  const captures = ledger.filter((e) => e.type === 'redeem' && e.points === 0 && e.redemptionId);
  const redemptions = new Map(
    (await getRedemptions(captures.map((e) => e.redemptionId as string))).map((r) => [r.id, r]),
  );
  for (const e of captures) {
    const redemption = redemptions.get(e.redemptionId as string);
    if (redemption) count(stats, utcDay(e.at), 'pointsRedeemed', redemption.points as number);
  }
  const purchaseIds = [
    ...new Set(
      ledger
        .filter((e) => (e.type === 'earn' || e.type === 'pending') && e.purchaseId)
        .map((e) => e.purchaseId as string),
    ),
  ];
  const joined = utcDay(customer.createdAt);
  let since = joined;
  // A purchase's points count on the day it occurred, as PointsChange counts them.
  const purchaseDays = new Map<string, string>();
  for (const purchase of await getPurchases(purchaseIds)) {
    const day = utcDay(purchase.occurredAt);
    purchaseDays.set(purchase.id, day);
    count(stats, day, 'purchases', 1);
    count(stats, day, 'spend', purchase.total.amount);
    if (day < since) since = day;
  }
  count(stats, since, 'customers', 1);
  for (const entry of ledger) {
    const earned = entry.type === 'earn' || entry.type === 'pending';
    countEntry(stats, entry, (earned && purchaseDays.get(entry.purchaseId as string)) || undefined);
  }
  for (const event of reactivations) {
    const lapsedAt = event.data.lapsedAt as string | null;
    // A withdrawn lapse did not happen: it adds nothing.
    if (!lapsedAt || event.data.withdrawn === true) continue;
    const reason = ((event.data.reason as string | null) ?? 'unknown') as ReasonKey;
    const lapsedDay = utcDay(lapsedAt);
    const boughtDay = utcDay((event.data.purchaseAt as string | null) ?? event.at);
    const back = [boughtDay, lapsedDay].sort()[1] as string;
    for (const [day, sign] of [
      [lapsedDay, 1],
      [back, -1],
    ] as const) {
      count(stats, day, 'lapsed', sign);
      count(stats, day, lapsedKey(reason), sign);
    }
    count(stats, lapsedDay, 'lapsedToday', 1);
    count(stats, back, 'reactivatedToday', 1);
  }
  if (customer.status === 'lapsed' && customer.lapsedAt) {
    const lapsedDay = utcDay(customer.lapsedAt);
    const unknown = { reason: 'unknown' as const, spend: customer.spend };
    count(stats, lapsedDay, 'lapsedToday', 1);
    moveLapsedShare(stats, lapsedDay, undefined, unknown);
    const why = customer.lapseReason;
    if (why) {
      moveLapsedShare(stats, utcDay(why.at), unknown, {
        reason: why.reason,
        spend: customer.spend,
      });
    }
  }
  return { stats, memberSince: since < joined ? since : undefined };
}
