/** A day in milliseconds (UTC days have no daylight saving). */
export const DAY_MS = 86_400_000;

/** UTC calendar days as "YYYYMMDD": lots, purchase days. */
export function dayKey(at: Date): string {
  return at.toISOString().slice(0, 10).replaceAll('-', '');
}

/** The start (00:00 UTC, epoch ms) of a "YYYYMMDD" day. */
export function dayStart(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
}

/** How far ahead of the clock an instant may be and still count as now (clock skew). */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Whether an instant (epoch ms) is one the API can keep: from 1970, where ids and key
 * ranges built from instants start, to the end of year 9999.
 */
export const isKeepableInstant = (ms: number): boolean => ms >= 0 && ms < Date.UTC(10_000, 0, 1);

/** The same instant a calendar year earlier (UTC), never before 1970: a trailing year's start. */
export function yearBefore(at: Date): Date {
  return new Date(
    Math.max(
      0,
      Date.UTC(
        at.getUTCFullYear() - 1,
        at.getUTCMonth(),
        at.getUTCDate(),
        at.getUTCHours(),
        at.getUTCMinutes(),
        at.getUTCSeconds(),
        at.getUTCMilliseconds(),
      ),
    ),
  );
}

/**
 * Why a purchase recorded at `now` cannot have occurred at `at`, or undefined if it can:
 * not more than the clock skew ahead, and not more than `maxBackdateDays` back (no limit
 * when undefined: an admin importing history).
 */
export function occurredAtProblem(
  at: Date,
  now: Date,
  maxBackdateDays: number | undefined,
): string | undefined {
  if (at.getTime() > now.getTime() + CLOCK_SKEW_MS) return 'more than 5 minutes in the future';
  if (maxBackdateDays !== undefined && at.getTime() < now.getTime() - maxBackdateDays * DAY_MS) {
    return `more than maxBackdateDays (${maxBackdateDays}) in the past`;
  }
  return undefined;
}
