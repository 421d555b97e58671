/**
 * What a purchase earns: base and tier points on its earnable spend, plus what the
 * campaigns running at its `occurredAt` add. Integers throughout (earnedPoints works on
 * exact fractions), so the breakdown always sums to the points earned.
 */
import {
  type AudienceMember,
  type Campaign,
  earnsOnPurchase,
  inAudience,
  lineMatches,
  lineSpend,
  type PurchaseLine,
  runsAt,
} from './campaigns.ts';
import { earnedPoints } from './points.ts';
import type { Program } from './program.ts';

export interface BreakdownItem {
  source: 'base' | 'campaign';
  campaignId?: string;
  points: number;
}

export interface Earning {
  /** The sum of the breakdown. */
  points: number;
  /** Base (with the tier multiplier) first, then each campaign that added points, by id. */
  breakdown: BreakdownItem[];
  /** The total less the lines in excluded categories: what earns and counts towards tiers. */
  earnableSpend: number;
}

/** A line in one of the program's excluded categories earns nothing and does not count. */
const excluded = (program: Pick<Program, 'excludedCategories'>, l: PurchaseLine) =>
  l.category !== undefined && program.excludedCategories.includes(l.category);

/**
 * The earning rules (README: "Rules"). E = total - excluded line spend; base = floor(floor(E x
 * earnRate) x tier multiplier). A multiplier campaign adds floor(floor(M x earnRate) x
 * (m - 1)) on its matching earnable spend M (all of E without a `match`); a bonus adds its
 * points when M > 0, M >= minSpend, and (firstPurchaseOnly) this is the first purchase.
 * A campaign counts when it runs at `occurredAt` and the customer (as before the
 * purchase) is in its audience.
 */
export function earningFor(args: {
  total: number;
  lines: readonly PurchaseLine[] | undefined;
  program: Pick<Program, 'earnRate' | 'excludedCategories'>;
  tierMultiplier: number;
  campaigns: readonly Campaign[];
  occurredAt: Date;
  /** The customer before the purchase. */
  customer: AudienceMember & { purchases: number };
}): Earning {
  const { program, lines = [] } = args;
  const earnableLines = lines.filter((l) => !excluded(program, l));
  const excludedSpend = lines
    .filter((l) => excluded(program, l))
    .reduce((sum, l) => sum + lineSpend(l), 0);
  const earnableSpend = Math.max(0, args.total - excludedSpend);
  const base = earnedPoints(earnableSpend, program.earnRate, args.tierMultiplier);
  const breakdown: BreakdownItem[] = [{ source: 'base', points: base }];

  const applicable = args.campaigns
    .filter(earnsOnPurchase)
    .filter((c) => runsAt(c, args.occurredAt) && inAudience(c, args.customer))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const c of applicable) {
    const matching =
      c.match === undefined
        ? earnableSpend
        : earnableLines.filter((l) => lineMatches(c, l)).reduce((sum, l) => sum + lineSpend(l), 0);
    let points = 0;
    if (c.type === 'multiplier') {
      points = earnedPoints(matching, program.earnRate, (c.multiplier ?? 1) - 1);
    } else if (
      matching > 0 &&
      matching >= (c.minSpend?.amount ?? 0) &&
      (!c.firstPurchaseOnly || args.customer.purchases === 0)
    ) {
      points = c.points ?? 0;
    }
    if (points > 0) breakdown.push({ source: 'campaign', campaignId: c.id, points });
  }
  return {
    points: breakdown.reduce((sum, b) => sum + b.points, 0),
    breakdown,
    earnableSpend,
  };
}
