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

/**
 * Pending points are kept in lots by the moment they become available (RFC 3339). A
 * purchase's points get a lot of their own (at its occurredAt + pendingDays) while the
 * customer has fewer than PENDING_OWN_LOTS pending lots; beyond that (a house account, a
 * B2B buyer) they join the lot of the next 00:00 UTC, shared by every purchase becoming
 * available that day, and the purchase's availableAt says so. pendingDays is at most 365
 * and a purchase at most 5 minutes ahead, so those day lots are at most 367 and a customer
 * holds at most PENDING_OWN_LOTS + 367 <= MAX_PENDING_LOTS pending lots, whatever the history.
 */
export const PENDING_OWN_LOTS = 32;
export const MAX_PENDING_LOTS = 400;

/** 00:00 UTC at or after `at`. */
export function dayBoundaryFrom(at: Date): Date {
  const start = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  return new Date(start === at.getTime() ? start : start + DAY_MS);
}

/**
 * When points earned now and due at `due` (occurredAt + pendingDays) become available,
 * given the customer's pending lots (settled: none due any more): at `due` itself, in a lot
 * of its own or one already there; else (PENDING_OWN_LOTS lots or more) at the next
 * 00:00 UTC, never earlier and at most a day later.
 */
export function pendingLotFor(pendingLots: Lots, due: Date): Date {
  const own = pendingLots[due.toISOString()] !== undefined;
  if (own || Object.keys(pendingLots).length < PENDING_OWN_LOTS) return due;
  return dayBoundaryFrom(due);
}

/**
 * The pending lot that holds a purchase's points due at `availableAt`, if any still does
 * at `asOf`: its own; or, while it is still ahead, the day lot a customer stored with more
 * than MAX_PENDING_LOTS lots had it folded into (boundPendingLots), which stays pending
 * until the next 00:00 UTC however long ago `availableAt` passed.
 */
export function pendingLotOf(pendingLots: Lots, availableAt: Date, asOf: Date): string | undefined {
  const own = availableAt.toISOString();
  if (pendingLots[own] !== undefined) return own;
  const dayLot = dayBoundaryFrom(availableAt);
  if (dayLot.getTime() <= asOf.getTime()) return undefined;
  const day = dayLot.toISOString();
  return pendingLots[day] !== undefined ? day : undefined;
}

/**
 * A customer stored before pending lots were bounded may hold thousands (one per purchase):
 * past MAX_PENDING_LOTS, the lots still ahead at `asOf` beyond the PENDING_OWN_LOTS
 * soonest join their next 00:00 UTC lot (at most a day later). Lots due are left as they
 * are: they become available now.
 */
export function boundPendingLots(pendingLots: Lots, asOf: Date): Lots {
  const keys = Object.keys(pendingLots);
  if (keys.length <= MAX_PENDING_LOTS) return { ...pendingLots };
  const bound = asOf.toISOString();
  const ahead = keys.filter((at) => at > bound).sort();
  const bounded: Lots = {};
  for (const at of keys.filter((k) => k <= bound)) bounded[at] = pendingLots[at] as number;
  for (const [i, at] of ahead.entries()) {
    const key = i < PENDING_OWN_LOTS ? at : dayBoundaryFrom(new Date(at)).toISOString();
    bounded[key] = (bounded[key] ?? 0) + (pendingLots[at] as number);
  }
  return bounded;
}

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
