/**
 * The rules of spending points: how long a hold lasts, and how many wrong codes a
 * credential may try. (How many points an amount takes is in points.ts.)
 */

/** Wrong codes a credential may try per minute before it is refused (30^8 codes to guess). */
export const MAX_CODE_FAILURES_PER_MINUTE = 10;

/** The minute (since the epoch) wrong codes are counted in; the count starts again each minute. */
export const codeFailureMinute = (now: Date): number => Math.floor(now.getTime() / 60_000);

/** Seconds until the next minute, when a refused credential may try again (1..60). */
export const secondsToNextMinute = (now: Date): number =>
  60 - Math.floor((now.getTime() % 60_000) / 1000);

/** When an authorization made at `now` lapses if not captured: `holdMinutes` later. */
export const holdExpiresAt = (now: Date, holdMinutes: number): Date =>
  new Date(now.getTime() + holdMinutes * 60_000);

/** Whether an authorization's hold has lapsed by `now` (its points go back). */
export const holdLapsed = (r: { status: string; expiresAt: string }, now: Date): boolean =>
  r.status === 'authorized' && Date.parse(r.expiresAt) <= now.getTime();
