/**
 * How PointsChange tells that a customer's share of the lapsed totals (dayStats.ts
 * LapsedShare: lapsed or not, the reason their win-back call learned, their spend by
 * month) has moved, and on which day the move is counted: whether two shares are the same
 * (sameShare), and the day asked for unless the share last moved later (shareDay), so a
 * purchase dated before a lapse reason was given never counts before it.
 */
import type { CustomerState } from './customer.ts';
import type { LapsedShare } from './dayStats.ts';

/** `day`, or the day the customer's lapsed share last moved if that is later. */
export const shareDay = (c: CustomerState, day: string) =>
  c.lapsedShareDay !== undefined && c.lapsedShareDay > day ? c.lapsedShareDay : day;

export function sameShare(a: LapsedShare | undefined, b: LapsedShare | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.reason !== b.reason) return false;
  const months = new Set([...Object.keys(a.spend), ...Object.keys(b.spend)]);
  return [...months].every((m) => a.spend[m] === b.spend[m]);
}
