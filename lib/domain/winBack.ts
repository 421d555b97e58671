/**
 * Win-back offers that prove their effect (contract section 15): each customer a scan
 * flags while a win-back campaign runs is assigned once, at the flag, to its `holdout`
 * (with the campaign's probability) or `offer` group, by a keyed hash of the campaign and
 * customer ids (the same pair always gives the same group, and nothing about the customer
 * moves it). A holdout customer's return earns as usual but not that campaign's points.
 * The counts by group (assigned, came back within 30/60/90/180 days of the flag, what they
 * spent then, the campaign's points) are tallied as changes happen, by the UTC day of the
 * flag, so the uplift report reads the days whose windows have closed.
 */
import { createHmac } from 'node:crypto';
import { type Campaign, earnsOnPurchase, MAX_OVERLAPPING_CAMPAIGNS } from './campaigns.ts';
import type { WinBackAssignment } from './customer.ts';
import { utcDay } from './dayStats.ts';
import { DAY_MS } from './days.ts';

export const UPLIFT_WINDOWS = [30, 60, 90, 180] as const;
export type UpliftWindow = (typeof UPLIFT_WINDOWS)[number];
/** The longest window: an assignment is kept on the customer this long after its flag. */
export const LONGEST_WINDOW_DAYS = 180;
export const MAX_HOLDOUT = 0.5;
/**
 * At most this many assignments are kept on a customer: those of their last two lapses
 * (a lapse can be in at most MAX_OVERLAPPING_CAMPAIGNS experiments).
 */
export const MAX_WATCHED = 2 * MAX_OVERLAPPING_CAMPAIGNS;

export type { WinBackAssignment, WinBackGroup } from './customer.ts';

/** A win-back campaign: for lapsed customers, earning on the purchase that brings them back. */
export const isWinBack = (c: Pick<Campaign, 'type' | 'audience'>): boolean =>
  c.audience?.status === 'lapsed' && earnsOnPurchase(c);

/**
 * A number in [0, 1) from the campaign and customer ids alone: HMAC-SHA256 keyed by the
 * campaign id over the customer id, its first 48 bits. Uniform, the same on every run
 * and retry, and independent across campaigns.
 */
export function assignmentUnit(campaignId: string, customerId: string): number {
  const digest = createHmac('sha256', campaignId).update(customerId).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export const groupOf = (campaign: Pick<Campaign, 'id' | 'holdout'>, customerId: string) =>
  assignmentUnit(campaign.id, customerId) < (campaign.holdout ?? 0) ? 'holdout' : 'offer';

/**
 * The win-back campaigns running at the flag's time (in [startsAt, endsAt); a customer
 * who lapses while it runs is in its experiment whatever its days of the week) whose tiers
 * the customer is in, each with the customer's group: at most MAX_OVERLAPPING_CAMPAIGNS.
 */
export function assign(
  campaigns: readonly Campaign[],
  customer: { id: string; tierId: string },
  flaggedAt: string,
): WinBackAssignment[] {
  const at = Date.parse(flaggedAt);
  return campaigns
    .filter(
      (k) =>
        isWinBack(k) &&
        Date.parse(k.startsAt) <= at &&
        (k.endsAt === null || at < Date.parse(k.endsAt)) &&
        (k.audience?.tiers === undefined || k.audience.tiers.includes(customer.tierId)),
    )
    .slice(0, MAX_OVERLAPPING_CAMPAIGNS)
    .map((k) => ({ campaignId: k.id, group: groupOf(k, customer.id), flaggedAt }));
}

/**
 * The day after the flag that `at` falls on: 1 for the first 24 hours, 90 for the
 * ninetieth (so a return on day 90 counts in the 90-day window, not the 60-day one).
 */
export const dayAfterFlag = (flaggedAt: string, at: string): number =>
  Math.max(1, Math.ceil((Date.parse(at) - Date.parse(flaggedAt)) / DAY_MS));

/** The counts of one campaign, group and flag day, as a change adds them. */
export type UpliftCounts = Partial<
  Record<
    /**
     * `came30`..`came180`: came back within that many days of the flag; `spend30`..: what
     * they spent then; `points30`..: the campaign's points on those purchases.
     */
    | `came${UpliftWindow}`
    | `spend${UpliftWindow}`
    | `points${UpliftWindow}`
    /** Flagged and assigned to the group. */
    | 'assigned',
    number
  >
>;

/** Uplift counts by `${campaignId} ${group} ${flagDay}`. */
export type UpliftTallies = Map<string, UpliftCounts>;

export const tallyKey = (a: WinBackAssignment) =>
  `${a.campaignId} ${a.group} ${utcDay(a.flaggedAt)}`;

export function tally(
  tallies: UpliftTallies,
  a: WinBackAssignment,
  name: keyof UpliftCounts,
  n: number,
): void {
  if (n === 0) return;
  const key = tallyKey(a);
  const counts = tallies.get(key) ?? {};
  counts[name] = (counts[name] ?? 0) + n;
  tallies.set(key, counts);
}

/** `into` plus every count of `more`. */
export function mergeTallies(into: UpliftTallies, more: UpliftTallies): UpliftTallies {
  for (const [key, counts] of more) {
    const sum = into.get(key) ?? {};
    for (const [name, n] of Object.entries(counts)) {
      sum[name as keyof UpliftCounts] = (sum[name as keyof UpliftCounts] ?? 0) + (n ?? 0);
    }
    into.set(key, sum);
  }
  return into;
}

/** Assignments still inside their longest window at `at`. */
export const stillWatched = (assignments: readonly WinBackAssignment[], at: Date) =>
  assignments.filter((a) => Date.parse(a.flaggedAt) + LONGEST_WINDOW_DAYS * DAY_MS > at.getTime());

/**
 * What a purchase at `occurredAt` of `amount` adds for the customer's assignments: a
 * return (the first purchase after the flag) counts in each window it falls in, and its
 * spend, and any later purchase's, in each window it falls in; `points[campaignId]` is
 * what each campaign paid on it. Returns the assignments with the return recorded.
 */
export function tallyPurchase(
  tallies: UpliftTallies,
  assignments: readonly WinBackAssignment[],
  purchase: { occurredAt: string; amount: number; points: Map<string, number> },
): WinBackAssignment[] {
  return assignments.map((a) => {
    if (purchase.occurredAt <= a.flaggedAt) return a;
    const day = dayAfterFlag(a.flaggedAt, purchase.occurredAt);
    const returning = a.returnedAt === undefined;
    for (const w of UPLIFT_WINDOWS) {
      if (day > w) continue;
      if (returning) tally(tallies, a, `came${w}`, 1);
      tally(tallies, a, `spend${w}`, purchase.amount);
      tally(tallies, a, `points${w}`, purchase.points.get(a.campaignId) ?? 0);
    }
    return returning ? { ...a, returnedAt: purchase.occurredAt } : a;
  });
}

// ---------------------------------------------------------------- the interval

/** The 97.5th percentile of the standard normal: a two-sided 95% interval. */
const Z = 1.959963984540054;

/** Wilson's score interval for x successes in n (n > 0). */
export function wilson(x: number, n: number): [number, number] {
  const p = x / n;
  const z2 = Z * Z;
  const centre = p + z2 / (2 * n);
  const spread = Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denominator = 1 + z2 / n;
  return [(centre - spread) / denominator, (centre + spread) / denominator];
}

/**
 * The 95% interval for p1 - p2 by Newcombe's hybrid score method (Newcombe 1998, method
 * 10): the two Wilson intervals combined. Chosen because it keeps close to its nominal
 * coverage for small groups and rates near 0 or 1 (a win-back return rate is often 5-30%),
 * where the simple Wald interval is too narrow and can leave [-1, 1], and it needs no
 * iteration.
 */
export function newcombe(x1: number, n1: number, x2: number, n2: number): [number, number] {
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const [l1, u1] = wilson(x1, n1);
  const [l2, u2] = wilson(x2, n2);
  const d = p1 - p2;
  return [
    d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
    d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
  ];
}
