import { DAY_MS, dayKey } from './days.ts';

/** Points of one lot by the UTC day they became available ("YYYYMMDD"). */
export type Lots = Record<string, number>;

/**
 * Points that became available on `day` expire at the end of the UTC day `days` later
 * (00:00 UTC the day after), so a customer always has at least `days` whole days.
 */
export function lotExpiresAt(day: string, days: number): Date {
  const y = Number(day.slice(0, 4));
  const m = Number(day.slice(4, 6)) - 1;
  const d = Number(day.slice(6, 8));
  return new Date(Date.UTC(y, m, d + days + 1));
}

/** The latest lot day that has expired at `asOf` (the expiry job's index bound). */
export function lastExpiredDay(asOf: Date, days: number): string {
  return dayKey(
    new Date(Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth(), asOf.getUTCDate() - days - 1)),
  );
}

/** Lots kept per customer at most; beyond it the oldest merges into the next (later) one. */
export const MAX_LOTS = 400;

/** An app warns about points expiring within this many days. */
export const EXPIRING_SOON_DAYS = 30;

/**
 * The next points to expire (the oldest lot) and when, if that is within
 * EXPIRING_SOON_DAYS; null when nothing expires that soon or the program has no expiry.
 */
export function expiringSoon(
  lots: Lots,
  pointsExpireAfterDays: number | null,
  now: Date,
): { points: number; expiresAt: string } | null {
  const oldest = Object.keys(lots).sort()[0];
  if (pointsExpireAfterDays === null || oldest === undefined) return null;
  const expiresAt = lotExpiresAt(oldest, pointsExpireAfterDays);
  const horizon = now.getTime() + EXPIRING_SOON_DAYS * DAY_MS;
  if (expiresAt.getTime() > horizon) return null;
  return { points: lots[oldest] as number, expiresAt: expiresAt.toISOString() };
}
