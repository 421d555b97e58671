import { DAY_MS, dayKey, dayStart } from './days.ts';
import type { Program } from './program.ts';

/**
 * A customer's purchase rhythm, kept on the customer item and updated in the purchase's
 * own transaction. Purchase days are distinct UTC days. Kept: the most recent
 * CADENCE_DAYS (all the median gap needs), and besides them every day within
 * CADENCE_WINDOW_DAYS of the last one, so the nightly backtest (lapseQuality.ts) can read
 * the customer as they stood 90 days ago, however often they have bought since. A
 * customer who buys every few days keeps a few dozen more days; the rest keep 24.
 */
export interface Cadence {
  /** The distinct purchase days kept ("YYYYMMDD"), oldest first. */
  days: string[];
  /**
   * Purchases on each day of `days` (same order), so the backtest counts purchases as the
   * lapse rule does; absent on cadences kept before it was, until their next purchase
   * (which starts it at one per day kept: the days before are not known better).
   */
  purchases?: number[];
  /** Distinct purchase days ever (x + 1 in BG/NBD terms). */
  dayCount: number;
  /** The first purchase day ("YYYYMMDD"). */
  firstDay: string;
}

/** Purchase days the median gap is taken over: the most recent 24. */
export const CADENCE_DAYS = 24;

/**
 * Every purchase day this close to the last one is kept, with CADENCE_DAYS before them:
 * the backtest's 90-day horizon, and a day for a purchase dated ahead of the scan's day.
 */
export const CADENCE_WINDOW_DAYS = 91;

/**
 * Adds a purchase on the day of `at`. Out of order and backdated purchases land in their
 * place; a day older than every day kept, when older days were dropped (it may be one of
 * them), only moves the count when it is a new first day.
 */
export function addPurchaseDay(stored: Cadence | undefined, at: Date): Cadence {
  const day = dayKey(at);
  if (!stored) return { days: [day], purchases: [1], dayCount: 1, firstDay: day };
  // A cadence kept before the counts were starts them now, one purchase per day kept (what
  // the backtest counted there before): the days to come are counted exactly.
  const cadence = { ...stored, purchases: stored.purchases ?? stored.days.map(() => 1) };
  const known = cadence.days.indexOf(day);
  if (known >= 0) {
    const purchases = [...cadence.purchases];
    purchases[known] = (purchases[known] ?? 0) + 1;
    return { ...cadence, purchases };
  }
  const everyDayKept = cadence.days.length >= cadence.dayCount;
  const newFirst = day < cadence.firstDay;
  if (!everyDayKept && day < (cadence.days[0] as string)) {
    // Older than the days kept, and some were dropped: the gaps don't change. Counted only
    // when it is a new first day (a day between could already have been counted).
    return newFirst ? { ...cadence, dayCount: cadence.dayCount + 1, firstDay: day } : cadence;
  }
  const later = cadence.days.findIndex((d) => d > day);
  const place = later < 0 ? cadence.days.length : later;
  const days = [...cadence.days.slice(0, place), day, ...cadence.days.slice(place)];
  const purchases = [...cadence.purchases.slice(0, place), 1, ...cadence.purchases.slice(place)];
  const drop = droppable(days);
  return {
    days: days.slice(drop),
    purchases: purchases.slice(drop),
    dayCount: cadence.dayCount + 1,
    firstDay: newFirst ? day : cadence.firstDay,
  };
}

/** How many of the oldest `days` (sorted) need not be kept (see Cadence). */
function droppable(days: readonly string[]): number {
  const windowStart = dayStart(days.at(-1) as string) - CADENCE_WINDOW_DAYS * DAY_MS;
  let before = 0;
  while (before < days.length && dayStart(days[before] as string) < windowStart) before++;
  return Math.max(0, before - CADENCE_DAYS);
}

/** The median gap, in days, between the last CADENCE_DAYS purchase days; null below 2 days. */
export function typicalGapDays(cadence: Cadence | undefined): number | null {
  const days = (cadence?.days ?? []).slice(-CADENCE_DAYS);
  if (days.length < 2) return null;
  const gaps: number[] = [];
  for (let i = 1; i < days.length; i++) {
    gaps.push((dayStart(days[i] as string) - dayStart(days[i - 1] as string)) / DAY_MS);
  }
  gaps.sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  return gaps.length % 2 === 1
    ? (gaps[mid] as number)
    : ((gaps[mid - 1] as number) + (gaps[mid] as number)) / 2;
}

/** When the next purchase is expected: the last purchase + the typical gap. */
export function expectedNextPurchaseBy(
  lastPurchaseAt: string | undefined,
  cadence: Cadence | undefined,
): string | null {
  const gap = typicalGapDays(cadence);
  if (lastPurchaseAt === undefined || gap === null) return null;
  return new Date(Date.parse(lastPurchaseAt) + gap * DAY_MS).toISOString();
}

/**
 * The lapse rule: a customer with at least `minPurchases` purchases is lapsed at T when
 * T - lastPurchaseAt > max(minDays, factor x typicalGapDays). This is the moment that
 * starts to hold (lapsed strictly after it); undefined when the rule can't apply. With
 * all purchases on one day (no gap yet) the threshold is minDays.
 */
export function lapseDueAt(
  purchases: number,
  lastPurchaseAt: string | undefined,
  cadence: Cadence | undefined,
  program: Program,
): string | undefined {
  if (lastPurchaseAt === undefined || purchases < program.lapse.minPurchases) return undefined;
  const threshold = lapseThresholdMs(typicalGapDays(cadence) ?? 0, program.lapse);
  return new Date(Date.parse(lastPurchaseAt) + threshold).toISOString();
}

/**
 * The silence after which the rule holds, in ms: max(minDays, factor x gap) days (gap 0
 * with no gap yet), rounded up to the millisecond so it never flags earlier than the rule.
 */
export const lapseThresholdMs = (
  gap: number,
  { factor, minDays }: Pick<Program['lapse'], 'factor' | 'minDays'>,
): number => Math.ceil(Math.max(minDays, factor * gap) * DAY_MS);

/** Why a lapsed customer left, as the win-back call learned it. */
export const lapseReasons = [
  'price',
  'quality',
  'service',
  'competitor',
  'complaint',
  'moved',
  'closed',
  'other',
] as const;
export type LapseReason = (typeof lapseReasons)[number];

/**
 * What a lapsed customer's leaving is expected to cost a year: their trailing-12-month
 * spend times the chance they are gone (1 - P(alive); all of it without a model).
 */
export const valueAtRisk = (annualSpend: number, pAlive: number | null): number =>
  Math.round(annualSpend * (1 - (pAlive ?? 0)));
