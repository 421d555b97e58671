/**
 * Reports over time (README: "Reports over time"), from the counts by day (domain/dayStats.ts):
 * rolled-up days (one item a day) up to the last day rolled up and not changed since,
 * then the days' counts from there (one Query per shard). What a report reads depends on
 * the days it covers and how far behind the roll-up is, never on how many customers the
 * programme has.
 */
import { randomUUID } from 'node:crypto';
import {
  addDays,
  type Counts,
  carryForward,
  daysBetween,
  EMPTY_SUMMARY,
  summarize,
  utcDay,
} from '../domain/dayStats.ts';
import { yearBefore } from '../domain/days.ts';
import { cashValueOf, money } from '../domain/money.ts';
import type { Program } from '../domain/program.ts';
import { getProgram } from '../store/program.ts';
import {
  backfillState,
  type DayRow,
  finishRollUp,
  RECENT_DAYS,
  type RollUpState,
  readDays,
  readRollUpState,
  readRows,
  readTotals,
  releaseRollUpLease,
  takeRollUpLease,
  writeRows,
} from '../store/reports.ts';
import { backfillReports } from './backfill.ts';

/** The last day whose stored row still holds: rolled up, and no change to it since. */
function lastGoodDay(state: RollUpState): string | undefined {
  const { rolledThrough, staleFrom } = state;
  if (rolledThrough === undefined || staleFrom === undefined) return rolledThrough;
  return [addDays(staleFrom, -1), rolledThrough].sort()[0];
}

/**
 * The days from `from` to `to`, each with what it added and the totals at its end: stored
 * rows up to the last good day, computed from the days' counts after it.
 */
async function rowsFor(from: string, to: string, state: RollUpState): Promise<DayRow[]> {
  const good = lastGoodDay(state);
  const rows: DayRow[] = [];
  if (good !== undefined && from <= good) {
    const last = to < good ? to : good;
    const stored = new Map((await readRows(from, last)).map((r) => [r.date, r]));
    // A day before the first rolled up had nothing counted.
    for (const date of daysBetween(from, last)) {
      rows.push(stored.get(date) ?? { date, day: {}, summary: EMPTY_SUMMARY });
    }
    if (to <= good) return rows;
  }
  const start = good !== undefined && from <= good ? addDays(good, 1) : from;
  const base = good === undefined ? undefined : await readTotals(good);
  return rows.concat(await carryFrom(base ?? {}, good, start, to));
}

/**
 * Rows for `start`..`to` from the totals at the end of `after` (or from nothing) and the
 * counts of every day after it: only days with counts change the totals.
 */
async function carryFrom(
  base: Counts,
  after: string | undefined,
  start: string,
  to: string,
): Promise<(DayRow & { totals: Counts })[]> {
  const days = await readDays(after === undefined ? undefined : addDays(after, 1), to);
  let totals = base;
  for (const day of [...days.keys()].filter((d) => d < start).sort()) {
    totals = carryForward(totals, days.get(day) as Counts, day);
  }
  return daysBetween(start, to).map((date) => {
    const day = days.get(date) ?? {};
    if (Object.keys(day).length > 0) totals = carryForward(totals, day, date);
    return { date, day, totals, summary: summarize(totals, date) };
  });
}

const n = (counts: Counts, name: string) => counts[name] ?? 0;

function rowView(row: DayRow, program: Program) {
  const { day, summary, date } = row;
  const { customers, lapsed, points } = summary;
  return {
    date,
    customers,
    newCustomers: n(day, 'customers'),
    active: customers - lapsed,
    lapsed,
    lapsedToday: n(day, 'lapsedToday'),
    reactivatedToday: n(day, 'reactivatedToday'),
    purchases: n(day, 'purchases'),
    spend: money(n(day, 'spend'), program.currency),
    pointsEarned: n(day, 'pointsEarned'),
    pointsRedeemed: n(day, 'pointsRedeemed'),
    pointsExpired: n(day, 'pointsExpired'),
    pointsOutstanding: points,
    liability: cashValueOf(points, program.cashValue, program.currency),
    valueAtRisk: money(summary.valueAtRisk, program.currency),
  };
}

/** `GET /v1/reports/daily`: one row per UTC day from `from` to `to`, oldest first. */
export async function dailyReport(from: string, to: string) {
  const [program, state] = await Promise.all([getProgram(), readRollUpState()]);
  const rows = await rowsFor(from, to, state);
  return { items: rows.map((row) => rowView(row, program)) };
}

/**
 * The programme's retention at the end of asOf's UTC day: customers, active and lapsed,
 * lapses and reactivations in the twelve months to it, and the trailing-12-month spend of
 * the customers lapsed (valueAtRisk), by reason.
 */
export async function retentionReport(asOf: Date) {
  const [program, state] = await Promise.all([getProgram(), readRollUpState()]);
  const day = utcDay(asOf);
  const yearAgo = utcDay(yearBefore(asOf));
  const [[before], [now]] = await Promise.all([
    rowsFor(yearAgo, yearAgo, state),
    rowsFor(day, day, state),
  ]);
  const then = (now as DayRow).summary;
  const earlier = (before as DayRow).summary;
  const { customers, lapsed } = then;
  const byReason: Record<string, { customers: number; valueAtRisk: ReturnType<typeof money> }> = {};
  for (const [reason, share] of Object.entries(then.byReason)) {
    byReason[reason] = {
      customers: share.customers,
      valueAtRisk: money(share.valueAtRisk, program.currency),
    };
  }
  return {
    asOf: asOf.toISOString(),
    customers,
    active: customers - lapsed,
    lapsed,
    lapsedLast12Months: then.lapses - earlier.lapses,
    reactivatedLast12Months: then.returns - earlier.returns,
    valueAtRisk: money(then.valueAtRisk, program.currency),
    byReason,
  };
}

/**
 * The roll-up job: stores a row for every day older than RECENT_DAYS (and two more) not
 * yet stored, and again for every day since the earliest day marked (a change to a day
 * already stored).
 */
export async function rollUpReports(
  asOf: Date,
  options: { dryRun?: boolean; deadline?: number } = {},
): Promise<{
  rolledThrough: string | null;
  rolledDays: number;
  backfilled: number;
  complete: boolean;
}> {
  if (options.dryRun) {
    const rolled = await rollUp(asOf, options);
    return { ...rolled, backfilled: 0, complete: (await backfillState()).done };
  }
  const token = randomUUID();
  if (!(await takeRollUpLease(token, Date.now(), ROLL_UP_LEASE_MS))) {
    // Another run is at it: nothing done here.
    return { rolledThrough: null, rolledDays: 0, backfilled: 0, complete: false };
  }
  try {
    // First, the customers stored before the counts existed (once; a no-op after).
    const backfill = await backfillReports(new Date(), {
      ...(options.deadline !== undefined && { deadline: options.deadline }),
    });
    if (options.deadline !== undefined && Date.now() > options.deadline) {
      return { rolledThrough: null, rolledDays: 0, backfilled: backfill.counted, complete: false };
    }
    const rolled = await rollUp(asOf, options);
    return { ...rolled, backfilled: backfill.counted, complete: backfill.complete };
  } finally {
    await releaseRollUpLease(token);
  }
}

/** Longer than the job's 300 s timeout: a run that died frees it after. */
const ROLL_UP_LEASE_MS = 6 * 60_000;

async function rollUp(
  asOf: Date,
  options: { dryRun?: boolean },
): Promise<{ rolledThrough: string | null; rolledDays: number }> {
  // Two days' margin past RECENT_DAYS: a writer whose clock is a little behind still
  // marks what it writes to a day stored.
  const upTo = new Date(Math.min(asOf.getTime(), Date.now()));
  const through = addDays(utcDay(upTo), -(RECENT_DAYS + 2));
  const state = await readRollUpState();
  const good = lastGoodDay(state);
  const stale = [...state.stale.values()].some((c) => Object.keys(c).length > 0);
  if (good !== undefined && good >= through) {
    // Marks of days after every row stored only (or spent ones): no row is stale, they
    // can go. (A mark on a stored day stays until a run as of later stores it again.)
    if (stale && good === state.rolledThrough && !options.dryRun) {
      await finishRollUp(state, state.rolledThrough);
    }
    return { rolledThrough: state.rolledThrough ?? null, rolledDays: 0 };
  }
  const base = good === undefined ? undefined : await readTotals(good);
  const days = await readDays(good === undefined ? undefined : addDays(good, 1), through);
  const first = good === undefined ? [...days.keys()].sort()[0] : addDays(good, 1);
  if (first === undefined || first > through) {
    if (!options.dryRun) await finishRollUp(state, through);
    return { rolledThrough: through, rolledDays: 0 };
  }
  let totals = base ?? {};
  const rows = daysBetween(first, through).map((date) => {
    const day = days.get(date) ?? {};
    totals = carryForward(totals, day, date);
    return { date, day, totals, summary: summarize(totals, date) };
  });
  if (!options.dryRun) {
    await writeRows(rows, new Date());
    await finishRollUp(state, through);
  }
  return { rolledThrough: through, rolledDays: rows.length };
}
