/**
 * The programme's counts by UTC day, kept as changes happen (the reports over time). Every
 * change to a customer adds to the day it belongs to: a purchase to the day it occurred,
 * a lapse to the day it started, points to the day they moved. A day's counts are
 * changes (deltas); what stands at the end of a day (customers, lapsed, points
 * outstanding, value at risk) is the sum of every day's changes up to it.
 *
 * Counts are flat names, so DynamoDB can ADD them in place:
 * - flows: `purchases`, `spend`, `lapsedToday`, `reactivatedToday`, `pointsEarned`,
 *   `pointsRedeemed`, `pointsExpired`;
 * - running totals: `customers`, `lapsed`, `points` (available + pending of everyone),
 *   `lapsed:<reason>` (lapsed customers by what their win-back call learned, `unknown`
 *   before), `risk:<reason>:<YYYYMM>` (those customers' spend by month: the value at risk
 *   of a day is the last twelve months' of it).
 */
import type { LapseReason } from './cadence.ts';
import type { CustomerState } from './customer.ts';
import { DAY_MS } from './days.ts';
import type { LedgerEntry } from './ledger.ts';
import { type MonthlySpend, windowMonths } from './tiers.ts';

/** Counts of one day, by name. */
export type Counts = Record<string, number>;

/** Counts by UTC day ("YYYY-MM-DD"). */
export type DayStats = Map<string, Counts>;

export type ReasonKey = LapseReason | 'unknown';

export const FLOWS = [
  'purchases',
  'spend',
  'lapsedToday',
  'reactivatedToday',
  'pointsEarned',
  'pointsRedeemed',
  'pointsExpired',
] as const;

/** The UTC day of an instant, as reports name it. */
export const utcDay = (at: Date | string): string =>
  (typeof at === 'string' ? at : at.toISOString()).slice(0, 10);

/** The day after (or `n` days after) a "YYYY-MM-DD" day. */
export const addDays = (day: string, n: number): string =>
  new Date(Date.parse(`${day}T00:00:00.000Z`) + n * DAY_MS).toISOString().slice(0, 10);

/** Days from `from` to `to`, both included (counted in time: 9999-12-31 is the last). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  const end = Date.parse(`${to}T00:00:00.000Z`);
  for (let t = Date.parse(`${from}T00:00:00.000Z`); t <= end; t += DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

export const riskKey = (reason: ReasonKey, month: string) => `risk:${reason}:${month}`;
export const lapsedKey = (reason: ReasonKey) => `lapsed:${reason}`;

/** Adds `n` to `name` on `day` (nothing for 0). */
export function count(stats: DayStats, day: string, name: string, n: number): void {
  if (n === 0) return;
  let counts = stats.get(day);
  if (!counts) {
    counts = {};
    stats.set(day, counts);
  }
  counts[name] = (counts[name] ?? 0) + n;
  if (counts[name] === 0) delete counts[name];
  if (Object.keys(counts).length === 0) stats.delete(day);
}

/** `into` plus every count of `more`. */
export function mergeStats(into: DayStats, more: DayStats): DayStats {
  for (const [day, counts] of more) {
    for (const [name, n] of Object.entries(counts)) count(into, day, name, n);
  }
  return into;
}

/** What a customer adds to the lapsed totals while lapsed: one, and their spend by month. */
export interface LapsedShare {
  reason: ReasonKey;
  spend: MonthlySpend;
}

/** Moves a customer's share of the lapsed totals on `day`: out of `from`, into `to`. */
export function moveLapsedShare(
  stats: DayStats,
  day: string,
  from: LapsedShare | undefined,
  to: LapsedShare | undefined,
): void {
  // Months before the day's twelve are in no later day's either: not counted at all.
  const oldest = oldestMonthOf(day);
  for (const [share, sign] of [
    [from, -1],
    [to, 1],
  ] as const) {
    if (!share) continue;
    count(stats, day, 'lapsed', sign);
    count(stats, day, lapsedKey(share.reason), sign);
    for (const [month, amount] of Object.entries(share.spend)) {
      if (month >= oldest) count(stats, day, riskKey(share.reason, month), sign * amount);
    }
  }
}

/** The first month ("YYYYMM") of the twelve that end in `day`'s month. */
const oldestMonthOf = (day: string) =>
  [...windowMonths(new Date(`${day}T00:00:00.000Z`), 12)].sort()[0] as string;

/** Flows are the day's own; only these are carried as running totals (with the share counts). */
const CARRIED = new Set(['customers', 'lapsed', 'points', 'lapsedToday', 'reactivatedToday']);
const isCarried = (name: string) =>
  CARRIED.has(name) || name.startsWith('lapsed:') || name.startsWith('risk:');

/**
 * The running totals at the end of `day`: `before` (the end of the day before) plus the
 * day's counts. Spend by month that can no longer be in any later day's twelve months is
 * dropped, so totals stay small however long the programme runs.
 */
export function carryForward(before: Counts, delta: Counts, day: string): Counts {
  const oldest = oldestMonthOf(day);
  const totals: Counts = {};
  for (const source of [before, delta]) {
    for (const [name, n] of Object.entries(source)) {
      if (!isCarried(name)) continue;
      if (name.startsWith('risk:') && (name.split(':')[2] as string) < oldest) continue;
      totals[name] = (totals[name] ?? 0) + n;
    }
  }
  for (const [name, n] of Object.entries(totals)) if (n === 0) delete totals[name];
  return totals;
}

/** The value at risk at the end of `day`: the lapsed customers' spend in its twelve months. */
export function valueAtRiskOf(totals: Counts, day: string, reason?: ReasonKey): number {
  const months = new Set(windowMonths(new Date(`${day}T00:00:00.000Z`), 12));
  let sum = 0;
  for (const [name, n] of Object.entries(totals)) {
    if (!name.startsWith('risk:')) continue;
    const [, r, month] = name.split(':');
    if ((reason === undefined || r === reason) && months.has(month as string)) sum += n;
  }
  return sum;
}

/** The reasons that have lapsed customers in `totals`. */
export function reasonsIn(totals: Counts): ReasonKey[] {
  return Object.keys(totals)
    .filter((name) => name.startsWith('lapsed:') && (totals[name] ?? 0) !== 0)
    .map((name) => name.slice('lapsed:'.length) as ReasonKey)
    .sort();
}

/** A customer's share of the lapsed totals: none while active. */
export function lapsedShareOf(c: CustomerState): LapsedShare | undefined {
  if (c.status !== 'lapsed') return undefined;
  return { reason: c.lapseReason?.reason ?? 'unknown', spend: { ...c.spend } };
}

/**
 * A ledger entry's points on `day` (the day it was written; a purchase's, the day the
 * purchase occurred): the points outstanding (available and pending), and points earned,
 * redeemed (a redemption captured at once) or expired. (A hold captured later is counted
 * by the capture: its entry carries no points.)
 */
export function countEntry(stats: DayStats, entry: LedgerEntry, day = utcDay(entry.at)): void {
  count(stats, day, 'points', entry.points + (entry.pendingPoints ?? 0));
  if (entry.type === 'earn') count(stats, day, 'pointsEarned', entry.points);
  // A referral's bonus may be pending, like its purchase's points.
  if (entry.type === 'bonus')
    count(stats, day, 'pointsEarned', entry.points + (entry.pendingPoints ?? 0));
  if (entry.type === 'pending') count(stats, day, 'pointsEarned', entry.pendingPoints ?? 0);
  if (entry.type === 'redeem') count(stats, day, 'pointsRedeemed', -entry.points);
  if (entry.type === 'expire') count(stats, day, 'pointsExpired', -entry.points);
}

/** What a report shows of the totals at the end of a day (what a stored row keeps). */
export interface Summary {
  customers: number;
  lapsed: number;
  /** Available and pending points of everyone. */
  points: number;
  /** Lapses and returns ever counted, up to the day (a year's are a difference of two). */
  lapses: number;
  returns: number;
  valueAtRisk: number;
  byReason: Record<string, { customers: number; valueAtRisk: number }>;
}

export function summarize(totals: Counts, day: string): Summary {
  const byReason: Summary['byReason'] = {};
  for (const reason of reasonsIn(totals)) {
    byReason[reason] = {
      customers: totals[lapsedKey(reason)] ?? 0,
      valueAtRisk: valueAtRiskOf(totals, day, reason),
    };
  }
  return {
    customers: totals.customers ?? 0,
    lapsed: totals.lapsed ?? 0,
    points: totals.points ?? 0,
    lapses: totals.lapsedToday ?? 0,
    returns: totals.reactivatedToday ?? 0,
    valueAtRisk: valueAtRiskOf(totals, day),
    byReason,
  };
}

/** Nothing counted yet. */
export const EMPTY_SUMMARY: Summary = summarize({}, '1970-01-01');
