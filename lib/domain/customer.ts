import { cashValueOf, type Money, money } from './money.ts';
import { earnedPoints } from './points.ts';
import type { Program } from './program.ts';
import { addSpend, heldTier, type MonthlySpend, nextTierAbove, qualifyingSpend } from './tiers.ts';

/** What the store keeps of a customer: profile, balances, tier state and cadence. */
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
  status: 'active' | 'lapsed';
  lapsedAt?: string;
  /** Bumped by every change; ledger entries are keyed by it, and writes are conditional on it. */
  version: number;
}

export function newCustomer(
  id: string,
  profile: Pick<CustomerState, 'externalId' | 'email' | 'phone' | 'name'>,
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
    version: 0,
  };
}

export interface Accrual {
  customer: CustomerState;
  points: number;
}

/**
 * A purchase of `amount` at `occurredAt`, recorded at `now`: points at the multiplier of
 * the tier held before the purchase, then the spend is counted and the tier may go up.
 */
export function accruePurchase(
  customer: CustomerState,
  program: Program,
  amount: number,
  occurredAt: Date,
  now: Date,
): Accrual {
  const months = program.qualifyingWindowMonths;
  const tierBefore = heldTier(
    program,
    customer.tierId,
    qualifyingSpend(customer.spend, now, months),
  );
  const points = earnedPoints(amount, program.earnRate, tierBefore.multiplier);
  const spend = addSpend(customer.spend, occurredAt, amount, now, months);
  const tierAfter = heldTier(program, tierBefore.id, qualifyingSpend(spend, now, months));
  const at = occurredAt.toISOString();
  const lastPurchaseAt =
    customer.lastPurchaseAt && customer.lastPurchaseAt > at ? customer.lastPurchaseAt : at;
  return {
    points,
    customer: {
      ...customer,
      tierId: tierAfter.id,
      available: customer.available + points,
      lifetimeEarned: customer.lifetimeEarned + points,
      spend,
      purchases: customer.purchases + 1,
      lastPurchaseAt,
      status: 'active',
      version: customer.version + 1,
    },
  };
}

/** The contract's Customer resource. */
export interface CustomerView {
  id: string;
  createdAt: string;
  externalId?: string;
  email?: string;
  phone?: string;
  name?: string;
  tier: { id: string; name: string; multiplier: number };
  nextTier: { id: string; name: string; spendNeeded: Money } | null;
  qualifyingSpend: Money;
  points: { available: number; pending: number; held: number; lifetimeEarned: number };
  cashValue: Money;
  status: 'active' | 'lapsed';
  lastPurchaseAt: string | null;
  lapsedAt: string | null;
  cadence: { purchases: number };
}

export function customerView(customer: CustomerState, program: Program, now: Date): CustomerView {
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
    },
    cashValue: cashValueOf(customer.available, program.cashValue, program.currency),
    status: customer.status,
    lastPurchaseAt: customer.lastPurchaseAt ?? null,
    lapsedAt: customer.lapsedAt ?? null,
    cadence: { purchases: customer.purchases },
  };
}
