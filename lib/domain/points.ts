import { DAY_MS } from './days.ts';

/**
 * Accrual. All arithmetic is on integers (BigInt for the products), so no float
 * rounding can ever add or lose a point.
 */

/** Multipliers are decimals with at most this many places; they are applied as fractions. */
export const MULTIPLIER_SCALE = 10_000;

export function hasAtMostFourDecimals(x: number): boolean {
  const scaled = x * MULTIPLIER_SCALE;
  return Math.abs(scaled - Math.round(scaled)) < 1e-6;
}

/**
 * floor(floor(amount x earnRate.points / earnRate.per) x multiplier), the earn rule.
 * 1.15 x 100 is 114.99999999999999 in floating point; here it is exactly 115.
 */
export function earnedPoints(
  amount: number,
  earnRate: { points: number; per: number },
  multiplier: number,
): number {
  const base = (BigInt(amount) * BigInt(earnRate.points)) / BigInt(earnRate.per);
  const numerator = BigInt(Math.round(multiplier * MULTIPLIER_SCALE));
  return Number((base * numerator) / BigInt(MULTIPLIER_SCALE));
}

/**
 * Points reversed so far for `refunded` of a purchase's `total`: floor(earned x refunded /
 * total). Each refund reverses the difference of this before and after it, so any
 * sequence of partial refunds reverses exactly what one refund of the same sum would.
 */
export function pointsReversedFor(earned: number, refunded: number, total: number): number {
  if (total === 0) return 0;
  return Number((BigInt(earned) * BigInt(refunded)) / BigInt(total));
}

/** Points to redeem for `amount`: ceil(amount x cashValue.points / cashValue.amount), so the customer never pays less. */
export function pointsToRedeem(
  amount: number,
  cashValue: { points: number; amount: number },
): number {
  const numerator = BigInt(amount) * BigInt(cashValue.points);
  const denominator = BigInt(cashValue.amount);
  return Number((numerator + denominator - 1n) / denominator);
}

/** When a purchase's points become available: `pendingDays` after it happened. */
export const availableAtFor = (occurredAt: Date, pendingDays: number): Date =>
  new Date(occurredAt.getTime() + pendingDays * DAY_MS);
