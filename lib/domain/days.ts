/** UTC calendar days as "YYYYMMDD": lots, purchase days. */
export function dayKey(at: Date): string {
  return at.toISOString().slice(0, 10).replaceAll('-', '');
}

/** The start (00:00 UTC, epoch ms) of a "YYYYMMDD" day. */
export function dayStart(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
}
