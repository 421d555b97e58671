import {
  type Cadence,
  expectedNextPurchaseBy,
  type LapseReason,
  typicalGapDays,
} from './cadence.ts';
import { expiringSoon } from './lots.ts';
import { type ModelParams, modelScores } from './model.ts';
import { cashValueOf, type Money, money } from './money.ts';
import type { Program } from './program.ts';
import { heldTier, type MonthlySpend, nextTierAbove, qualifyingSpend } from './tiers.ts';

/** An identifier that finds a customer. */
export type IdentifierKind = 'email' | 'phone' | 'externalId';
export const IDENTIFIER_KINDS: readonly IdentifierKind[] = ['email', 'phone', 'externalId'];

/** An identifier kept as a lookup key of a customer beside its own (from a merge). */
export interface Alias {
  kind: IdentifierKind;
  value: string;
}

/** What the store keeps of a customer: profile, balances, tier state and cadence. */
/** A lapse episode: when the rule began to hold, and when the customer bought again. */
export type WinBackGroup = 'offer' | 'holdout';

/**
 * A customer's place in one win-back campaign's experiment (winBack.ts), kept for the
 * longest window after the flag.
 */
export interface WinBackAssignment {
  campaignId: string;
  group: WinBackGroup;
  /** The flag's time: the customer's lapsedAt. */
  flaggedAt: string;
  /** The occurredAt of their return, once they came back. */
  returnedAt?: string;
}

export interface LastLapse {
  lapsedAt: string;
  returnedAt?: string;
}

export interface CustomerState {
  id: string;
  createdAt: string;
  externalId?: string;
  email?: string;
  phone?: string;
  name?: string;
  tierId: string;
  available: number;
  pending: number;
  held: number;
  lifetimeEarned: number;
  spend: MonthlySpend;
  purchases: number;
  lastPurchaseAt?: string;
  /**
   * `merged`: merged into `mergedInto` (merge.ts), keeping nothing else; every call naming
   * it acts on that customer. `erased`: its personal data gone, on request.
   */
  status: 'active' | 'lapsed' | 'merged' | 'erased';
  mergedInto?: string;
  mergedAt?: string;
  erasedAt?: string;
  /** Identifiers of records merged into this one that are lookup keys of it too. */
  aliases?: Alias[];
  /** How many records were merged into this one (bounded: MAX_MERGES). */
  merges?: number;
  lapsedAt?: string;
  /**
   * The customer's last lapse by the rule (section 16): when it began and, once they
   * bought again, when they came back. Set by a scan's flag, and by a purchase after a
   * silence the rule counts as a lapse whether or not a scan had flagged it.
   */
  lastLapse?: LastLapse;
  /** The closed episode before a lapse still open: lastLapse again if that one is withdrawn. */
  priorLapse?: LastLapse;
  /**
   * The win-back experiments the customer was assigned to when flagged (winBack.ts), kept
   * for the longest window after the flag so their return and spend are counted.
   */
  winBack?: WinBackAssignment[];
  /** What the win-back call learned (PUT /v1/customers/{id}/lapse-reason); cleared on return. */
  lapseReason?: { reason: LapseReason; note?: string; at: string };
  /** Purchase days (see cadence.ts). */
  cadence?: Cadence;
  /**
   * The LapseWatch index key of an active customer the lapse rule can apply to
   * (lapseWatch.ts): their gap band, last purchase, gap and purchases.
   */
  lapseWatch?: string;
  /**
   * Legacy: when the rule started to hold under the thresholds of the customer's last
   * write (the LapseDue index, before LapseWatch). Dropped by the next write, or by the
   * lapse-scan job's one-off pass (lapseWatchIndex.ts).
   */
  lapseDueAt?: string;
  /** Available points by the UTC day they became available ("YYYYMMDD"); they add up to max(available, 0). */
  lots?: Record<string, number>;
  /** Lots ("YYYYMMDD") whose `points.expiring` reminder was sent (expiry-reminders job). */
  remindedLots?: string[];
  /** Pending points by the moment they become available (RFC 3339). */
  pendingLots?: Record<string, number>;
  /** When the tier held must next be reviewed (the oldest month of spend leaves the window). */
  reviewAt?: string;
  /** `YYYY-MM-DD` or `--MM-DD`: birthday campaigns credit on it. */
  birthDate?: string;
  /** The year whose birthday was last credited (or passed with no campaign running). */
  birthdayYear?: number;
  /** When the next birthday to credit starts (the birthday job's index). */
  birthdayAt?: string;
  /**
   * The customer who referred this one (a referral campaign pays both on the first
   * purchase with earnable spend).
   */
  referredBy?: string;
  /**
   * A referred customer whose purchases so far had no earnable spend (0.00, or excluded
   * lines only): their referral still pays on the first that has some (referralOpen).
   */
  referralOpen?: true;
  /** A referral paid pending with its purchase, so a full refund in the window takes it back. */
  referralPaid?: ReferralPaid;
  /**
   * The day ("YYYY-MM-DD") they became a customer, when history brought in shows them
   * buying before they were enrolled (otherwise the day of `createdAt`): the reports count
   * them from then.
   */
  memberSince?: string;
  /** The day a lapsed customer's share of the lapsed totals was last counted (dayStats.ts). */
  lapsedShareDay?: string;
  /** Counted in the reports' counts by day (customers stored before them are counted by the roll-up job). */
  counted?: true;
  /** Bumped by every change; ledger entries are keyed by it, and writes are conditional on it. */
  version: number;
}

/**
 * What a referral paid on a referred customer's first purchase with earnable spend, pending
 * like that purchase's points until `availableAt` (the key of both customers' pending lot).
 */
export interface ReferralPaid {
  purchaseId: string;
  availableAt: string;
  referrerId: string;
  /** Per referral campaign: the referrer's `points` and this customer's `refereePoints`. */
  campaigns: { campaignId: string; points: number; refereePoints: number }[];
}

/**
 * Whether a referral is still to pay on this customer's next purchase with earnable spend:
 * referred, and no purchase with earnable spend yet (a 0.00 purchase is not the first).
 */
export const referralOpen = (c: Pick<CustomerState, 'referredBy' | 'purchases' | 'referralOpen'>) =>
  c.referredBy !== undefined && (c.purchases === 0 || c.referralOpen === true);

/**
 * Bounds on what a customer keeps, so every sum stays an exact integer far below
 * Number.MAX_SAFE_INTEGER (9.007 x 10^15). Points held in any form (available, whether
 * above or below 0, pending and held together) and lifetime points stay within 10^13, so
 * moving points between those never crosses the bound and a job or read never trips on
 * it; their cash value stays within 9 x 10^15 as a point is worth at most 900 minor
 * units (lib/schemas/program.ts). The spend kept for the tier window stays within 10^15:
 * a thousand purchases of the largest amount (10^12).
 */
export const MAX_CUSTOMER_POINTS = 10_000_000_000_000;
export const MAX_CUSTOMER_SPEND = 1_000_000_000_000_000;

/** What of `c` would pass its bound, if anything (a client's change is then refused). */
export function totalOutOfBounds(c: CustomerState): string | undefined {
  if (Math.abs(c.available) + c.pending + c.held > MAX_CUSTOMER_POINTS) return 'points';
  if (c.lifetimeEarned > MAX_CUSTOMER_POINTS) return 'lifetime points';
  const spend = Object.values(c.spend).reduce((sum, month) => sum + month, 0);
  if (spend > MAX_CUSTOMER_SPEND) return 'qualifying spend';
  return undefined;
}

/** What a customer is enrolled with: their identifiers and profile. */
export type CustomerProfile = Pick<
  CustomerState,
  'externalId' | 'email' | 'phone' | 'name' | 'birthDate' | 'referredBy'
>;

export function newCustomer(
  id: string,
  profile: CustomerProfile,
  program: Program,
  now: Date,
): CustomerState {
  return {
    id,
    createdAt: now.toISOString(),
    ...profile,
    tierId: program.tiers[0]?.id ?? 'member',
    available: 0,
    pending: 0,
    held: 0,
    lifetimeEarned: 0,
    spend: {},
    purchases: 0,
    status: 'active',
    counted: true,
    version: 0,
  };
}

/**
 * The Customer resource, as the API answers it. The schema the OpenAPI document
 * publishes (openapi/responses.ts) is checked against this type, so the two cannot drift.
 */
export interface CustomerView extends CustomerProfile, Pick<CustomerState, 'id' | 'createdAt'> {
  tier: { id: string; name: string; multiplier: number };
  /** null at the top tier. */
  nextTier: { id: string; name: string; spendNeeded: Money } | null;
  qualifyingSpend: Money;
  points: {
    available: number;
    pending: number;
    held: number;
    lifetimeEarned: number;
    expiringSoon: { points: number; expiresAt: string } | null;
  };
  cashValue: Money;
  /** A merged customer is read as its survivor, an erased one as ErasedCustomerView. */
  status: 'active' | 'lapsed';
  lastPurchaseAt: string | null;
  lapsedAt: string | null;
  lastLapse: { lapsedAt: string; returnedAt: string | null } | null;
  cadence: {
    purchases: number;
    typicalGapDays: number | null;
    expectedNextPurchaseBy: string | null;
    pAlive: number | null;
    expectedPurchases90d: number | null;
    churnRisk: number | null;
  };
}

export function customerView(
  customer: CustomerState,
  program: Program,
  now: Date,
  model?: ModelParams,
): CustomerView {
  const spend = qualifyingSpend(customer.spend, now, program.qualifyingWindowMonths);
  const tier = heldTier(program, customer.tierId, spend);
  const next = nextTierAbove(program, tier);
  return {
    id: customer.id,
    createdAt: customer.createdAt,
    ...(customer.externalId !== undefined && { externalId: customer.externalId }),
    ...(customer.email !== undefined && { email: customer.email }),
    ...(customer.phone !== undefined && { phone: customer.phone }),
    ...(customer.name !== undefined && { name: customer.name }),
    ...(customer.birthDate !== undefined && { birthDate: customer.birthDate }),
    ...(customer.referredBy !== undefined && { referredBy: customer.referredBy }),
    tier: { id: tier.id, name: tier.name, multiplier: tier.multiplier },
    nextTier: next
      ? {
          id: next.id,
          name: next.name,
          spendNeeded: money(Math.max(0, next.qualifyingSpend - spend), program.currency),
        }
      : null,
    qualifyingSpend: money(spend, program.currency),
    points: {
      available: customer.available,
      pending: customer.pending,
      held: customer.held,
      lifetimeEarned: customer.lifetimeEarned,
      expiringSoon: expiringSoon(customer.lots ?? {}, program.pointsExpireAfterDays, now),
    },
    cashValue: cashValueOf(customer.available, program.cashValue, program.currency),
    status: customer.status === 'lapsed' ? 'lapsed' : 'active',
    lastPurchaseAt: customer.lastPurchaseAt ?? null,
    lapsedAt: customer.lapsedAt ?? null,
    lastLapse: customer.lastLapse
      ? {
          lapsedAt: customer.lastLapse.lapsedAt,
          returnedAt: customer.lastLapse.returnedAt ?? null,
        }
      : null,
    cadence: {
      purchases: customer.purchases,
      typicalGapDays: typicalGapDays(customer.cadence),
      expectedNextPurchaseBy: expectedNextPurchaseBy(customer.lastPurchaseAt, customer.cadence),
      ...modelScores(customer, model, now),
    },
  };
}
