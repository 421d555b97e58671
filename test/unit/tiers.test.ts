import { describe, expect, it } from 'vitest';
import { type CustomerState, customerView, newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram } from '../../lib/domain/program.ts';
import {
  addSpend,
  heldTier,
  qualifyingSpend,
  tierForSpend,
  windowMonths,
} from '../../lib/domain/tiers.ts';

const at = (iso: string) => new Date(iso);

describe('the qualifying window', () => {
  it('is the current UTC month and the previous months - 1, across a year boundary', () => {
    expect(windowMonths(at('2026-02-28T23:59:59Z'), 3)).toEqual(['202602', '202601', '202512']);
  });

  it('counts only spend inside the window', () => {
    const spend = { '202512': 100, '202601': 200, '202511': 999 };
    expect(qualifyingSpend(spend, at('2026-01-15T00:00:00Z'), 2)).toBe(300);
  });

  it('adds spend to the month it occurred in and drops months that left the window (kept a year)', () => {
    const spend = addSpend(
      { '202412': 5, '202510': 7 },
      at('2025-12-31T23:00:00Z'),
      10,
      at('2026-01-02T00:00:00Z'),
      3,
    );
    expect(spend).toEqual({ '202510': 7, '202512': 10 });
    // October is kept for the annual spend, but is outside a 3-month window.
    expect(qualifyingSpend(spend, at('2026-01-02T00:00:00Z'), 3)).toBe(10);
    expect(qualifyingSpend(spend, at('2026-01-02T00:00:00Z'), 4)).toBe(17);
  });

  it('ignores spend that occurred before the window (an old import)', () => {
    expect(addSpend({}, at('2020-01-01T00:00:00Z'), 10, at('2026-01-02T00:00:00Z'), 12)).toEqual(
      {},
    );
  });
});

describe('tiers', () => {
  it('holds the highest tier whose threshold is at most the spend, at exactly the threshold', () => {
    expect(tierForSpend(defaultProgram, 49_999).id).toBe('member');
    expect(tierForSpend(defaultProgram, 50_000).id).toBe('silver');
    expect(tierForSpend(defaultProgram, 200_000).id).toBe('gold');
  });

  it('keeps a granted tier above what the spend earns until a review moves it down', () => {
    expect(heldTier(defaultProgram, 'gold', 0).id).toBe('gold');
    expect(heldTier(defaultProgram, 'member', 60_000).id).toBe('silver');
    expect(heldTier(defaultProgram, 'retired-tier', 60_000).id).toBe('silver');
  });
});

describe('a purchase (PointsChange)', () => {
  const now = at('2026-11-24T12:00:00Z');
  const fresh = newCustomer('cus_1', { email: 'a@b.c' }, defaultProgram, now);
  const buy = (customer: CustomerState, amount: number, occurredAt = now) => {
    const change = new PointsChange(customer, defaultProgram, now).settle();
    const { points } = change.purchase({
      amount,
      occurredAt,
      availableAt: occurredAt,
      purchaseId: 'pur_1',
    });
    return { points, customer: change.customer, events: change.events };
  };

  it('earns at the tier held before the purchase and tiers up after it, with an event', () => {
    const { points, customer, events } = buy(fresh, 60_000);
    expect(points).toBe(600);
    expect(customer.tierId).toBe('silver');
    expect(customer).toMatchObject({
      available: 600,
      lifetimeEarned: 600,
      purchases: 1,
      version: 1,
    });
    expect(events).toMatchObject([
      { type: 'tier.changed', data: { from: { id: 'member' }, to: { id: 'silver' } } },
    ]);
    expect(buy(customer, 10_000).points).toBe(125);
  });

  it('never moves lastPurchaseAt back for a backdated purchase', () => {
    const recent = buy(fresh, 100).customer;
    const backdated = buy(recent, 100, at('2026-11-01T00:00:00Z')).customer;
    expect(backdated.lastPurchaseAt).toBe(now.toISOString());
  });

  it('shows the spend needed for the next tier', () => {
    const { customer } = buy(fresh, 12_345);
    const view = customerView(customer, defaultProgram, now);
    expect(view.nextTier).toEqual({
      id: 'silver',
      name: 'Silver',
      spendNeeded: { amount: 37_655, currency: 'USD' },
    });
    expect(view.qualifyingSpend).toEqual({ amount: 12_345, currency: 'USD' });
  });
});
