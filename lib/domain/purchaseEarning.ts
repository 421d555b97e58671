/**
 * A purchase as PointsChange takes it in: whether a lapsed customer's purchase is their
 * return (isReturn: only one made after the lapse, not one dated before it that arrives
 * late), what it earns by the rules of earning.ts for the customer as they stood before it
 * (the tier held, and a lapsed customer's purchase that is not their return earning as an
 * active customer's), and when and where it was bought, as its ledger entries carry it
 * (boughtOf, also on a refund's entries).
 */
import type { Campaign, PurchaseLine } from './campaigns.ts';
import type { CustomerState } from './customer.ts';
import { type Earning, earningFor } from './earning.ts';
import type { Program, Tier } from './program.ts';

/** When and where the purchase behind a ledger entry was made (the entry's `at` is when it was written). */
export const boughtOf = (args: { occurredAt: Date; storeId?: string; receiptId?: string }) => ({
  occurredAt: args.occurredAt.toISOString(),
  ...(args.storeId !== undefined && { storeId: args.storeId }),
  ...(args.receiptId !== undefined && { receiptId: args.receiptId }),
});

/**
 * Whether a purchase at `at` (RFC 3339) by a lapsed customer is their return: after the
 * lapse began (lapsed strictly after lapsedAt) and after their last purchase.
 */
export const isReturn = (c: CustomerState, at: string) =>
  (c.lapsedAt === undefined || at > c.lapsedAt) &&
  (c.lastPurchaseAt === undefined || at > c.lastPurchaseAt);

/**
 * What a purchase earns for customer `c` as they stood before it: by the tier `before`
 * held, the campaigns running at its occurredAt and its lines; `returning` says whether it
 * is a return from a lapse (a flagged customer's, isReturn, or one from a silence the rule
 * counts as a lapse that no scan had flagged: the win-back offer applies to both), else a
 * lapsed customer earns as an active one.
 */
export function purchaseEarning(
  c: CustomerState,
  program: Program,
  before: Tier,
  returning: boolean,
  args: {
    amount: number;
    lines?: readonly PurchaseLine[];
    campaigns?: readonly Campaign[];
    occurredAt: Date;
  },
): Earning {
  return earningFor({
    total: args.amount,
    lines: args.lines,
    program,
    tierMultiplier: before.multiplier,
    campaigns: args.campaigns ?? [],
    occurredAt: args.occurredAt,
    customer: {
      tierId: before.id,
      status: returning ? 'lapsed' : c.status === 'lapsed' ? 'active' : c.status,
      purchases: c.purchases,
    },
  });
}
