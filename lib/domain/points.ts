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
 * floor(floor(amount x earnRate.points / earnRate.per) x multiplier), the contract's rule.
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
