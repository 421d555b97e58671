import { DAY_MS, dayKey, dayStart } from './days.ts';
import type { Program } from './program.ts';

/**
 * A customer's purchase rhythm, kept on the customer item and updated in the purchase's
 * own transaction. Purchase days are distinct UTC days; only the most recent
 * CADENCE_DAYS are kept, which is all the median gap needs and keeps the item small.
 */
export interface Cadence {
  /** The most recent distinct purchase days ("YYYYMMDD"), oldest first. */
  days: string[];
  /** Distinct purchase days ever (x + 1 in BG/NBD terms). */
  dayCount: number;
  /** The first purchase day ("YYYYMMDD"). */
  firstDay: string;
}

export const CADENCE_DAYS = 24;

/**
 * Adds a purchase on the day of `at`. Out of order and backdated purchases land in their
 * place; a day already known, or older than every day kept (when the list is full), only
 * moves the count when it is a new first day.
 */
export function addPurchaseDay(cadence: Cadence | undefined, at: Date): Cadence {
  const day = dayKey(at);
  if (!cadence) return { days: [day], dayCount: 1, firstDay: day };
  if (cadence.days.includes(day)) return cadence;
  const full = cadence.days.length >= CADENCE_DAYS;
  const oldestKept = cadence.days[0] as string;
  const newFirst = day < cadence.firstDay;
  if (full && day < oldestKept) {
    // Older than the recent days kept: the gaps don't change. Counted only when it is
    // a new first day (a day between could already have been counted).
    return newFirst ? { ...cadence, dayCount: cadence.dayCount + 1, firstDay: day } : cadence;
  }
  const days = [...cadence.days, day].sort();
  if (days.length > CADENCE_DAYS) days.shift();
  return {
    days,
    dayCount: cadence.dayCount + 1,
    firstDay: newFirst ? day : cadence.firstDay,
  };
}

/** The median gap, in days, between consecutive purchase days kept; null below 2 days. */
export function typicalGapDays(cadence: Cadence | undefined): number | null {
  const days = cadence?.days ?? [];
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
