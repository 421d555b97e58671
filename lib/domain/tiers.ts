import type { Program, Tier } from './program.ts';

/**
 * Net spend is kept per UTC calendar month ("YYYYMM" -> minor units). The qualifying
 * window is the current month and the previous `months - 1`, so a customer's tier
 * needs at most `months` small numbers on the customer item.
 */
export type MonthlySpend = Record<string, number>;

export function monthKey(at: Date): string {
  return `${at.getUTCFullYear()}${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The month keys of the window ending in the month of `asOf`, newest first. */
export function windowMonths(asOf: Date, months: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < months; i++) {
    keys.push(monthKey(new Date(Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth() - i, 1))));
  }
  return keys;
}

export function qualifyingSpend(spend: MonthlySpend, asOf: Date, months: number): number {
  return windowMonths(asOf, months).reduce((sum, key) => sum + (spend[key] ?? 0), 0);
}

/**
 * Adds `amount` (negative for a refund) to the month of `occurredAt` and drops months
 * that have left the window at `asOf`. Spend outside the window (an old backdated
 * import) does not count towards a tier, so it is not kept.
 */
export function addSpend(
  spend: MonthlySpend,
  occurredAt: Date,
  amount: number,
  asOf: Date,
  months: number,
): MonthlySpend {
  const kept = Math.max(months, ANNUAL_MONTHS);
  const next = pruneSpend(spend, asOf, kept);
  const key = monthKey(occurredAt);
  if (windowMonths(asOf, kept).includes(key)) next[key] = (next[key] ?? 0) + amount;
  return next;
}

/** Spend is kept for at least a year, for the annual spend of the lapse reports. */
export const ANNUAL_MONTHS = 12;

/** Net spend in the current UTC month and the 11 before it. */
export const annualSpend = (spend: MonthlySpend, asOf: Date) =>
  qualifyingSpend(spend, asOf, ANNUAL_MONTHS);

/** The months of `spend` still in the window at `asOf`. */
export function pruneSpend(spend: MonthlySpend, asOf: Date, months: number): MonthlySpend {
  const window = new Set(windowMonths(asOf, months));
  const next: MonthlySpend = {};
  for (const [key, value] of Object.entries(spend)) if (window.has(key)) next[key] = value;
  return next;
}

/** Tiers are validated sorted by qualifyingSpend with the first at 0. */
export function tierForSpend(program: Program, spend: number): Tier {
  let tier = program.tiers[0] as Tier;
  for (const candidate of program.tiers) if (candidate.qualifyingSpend <= spend) tier = candidate;
  return tier;
}

/**
 * The tier a customer holds: the one they were granted, unless their spend now earns
 * a higher one (tiers go up at once; they go down only when the daily review says so).
 * A granted tier the program no longer has falls back to what the spend earns.
 */
export function heldTier(program: Program, grantedTierId: string | undefined, spend: number): Tier {
  const earned = tierForSpend(program, spend);
  const granted = program.tiers.find((t) => t.id === grantedTierId);
  return granted && granted.qualifyingSpend > earned.qualifyingSpend ? granted : earned;
}

export function nextTierAbove(program: Program, tier: Tier): Tier | undefined {
  return program.tiers.find((t) => t.qualifyingSpend > tier.qualifyingSpend);
}

/**
 * The first moment the tier a customer holds may fall: when the oldest month of spend in
 * the window leaves it. Customers on the lowest tier have nothing to review.
 */
export function nextReviewAt(
  tierId: string,
  spend: MonthlySpend,
  program: Program,
  asOf: Date,
): string | undefined {
  if (tierId === program.tiers[0]?.id) return undefined;
  const months = program.qualifyingWindowMonths;
  const inWindow = windowMonths(asOf, months).filter((m) => (spend[m] ?? 0) !== 0);
  const oldest = inWindow.at(-1);
  if (oldest === undefined) return asOf.toISOString();
  const year = Number(oldest.slice(0, 4));
  const month = Number(oldest.slice(4, 6)) - 1;
  return new Date(Date.UTC(year, month + months, 1)).toISOString();
}
