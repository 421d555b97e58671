import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Campaign, PurchaseLine } from '../../lib/domain/campaigns.ts';
import { earningFor } from '../../lib/domain/earning.ts';
import { pointsReversedFor } from '../../lib/domain/points.ts';

const program = { earnRate: { points: 1, per: 100 }, excludedCategories: ['giftcard'] };
const at = new Date('2026-03-04T12:00:00Z'); // a Wednesday (UTC day 3)
const member: { tierId: string; status: 'active' | 'lapsed'; purchases: number } = {
  tierId: 'member',
  status: 'active',
  purchases: 3,
};
const campaign = (c: Partial<Campaign> & Pick<Campaign, 'id' | 'type'>): Campaign => ({
  name: c.id,
  startsAt: '2026-01-01T00:00:00.000Z',
  endsAt: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...c,
});
const line = (sku: string, category: string, quantity: number, amount: number): PurchaseLine => ({
  sku,
  category,
  quantity,
  unitPrice: { amount },
});

describe('earning', () => {
  it('is the old rule with no lines and no campaigns', () => {
    const e = earningFor({
      total: 12_345,
      lines: undefined,
      program,
      tierMultiplier: 1.25,
      campaigns: [],
      occurredAt: at,
      customer: member,
    });
    expect(e).toEqual({
      points: 153, // floor(floor(123.45) x 1.25)
      breakdown: [{ source: 'base', points: 153 }],
      earnableSpend: 12_345,
    });
  });

  it('leaves excluded lines out of E and the matching spend, and adds campaigns on base only', () => {
    const e = earningFor({
      total: 10_099,
      lines: [line('matcha', 'tea', 3, 1_333), line('gift', 'giftcard', 1, 2_000)],
      program,
      tierMultiplier: 1.25,
      campaigns: [
        campaign({ id: 'a', type: 'multiplier', multiplier: 2, match: { categories: ['tea'] } }),
        campaign({ id: 'b', type: 'multiplier', multiplier: 1.5 }),
        campaign({ id: 'c', type: 'bonus', points: 40, match: { skus: ['gift'] } }),
      ],
      occurredAt: at,
      customer: member,
    });
    // E = 8099: base floor(80 x 1.25) = 100; a: floor(39 x 1) = 39; b: floor(80 x 0.5) = 40;
    // c: its only matching line is excluded, so M = 0 and no bonus.
    expect(e.breakdown).toEqual([
      { source: 'base', points: 100 },
      { source: 'campaign', campaignId: 'a', points: 39 },
      { source: 'campaign', campaignId: 'b', points: 40 },
    ]);
    expect(e.points).toBe(179);
    expect(e.earnableSpend).toBe(8_099);
  });

  it('runs campaigns only in their window, on their days, for their audience', () => {
    const earn = (c: Campaign, customer = member) =>
      earningFor({
        total: 1_000,
        lines: undefined,
        program,
        tierMultiplier: 1,
        campaigns: [c],
        occurredAt: at,
        customer,
      }).breakdown.length - 1;
    const bonus = { id: 'x', type: 'bonus' as const, points: 5 };
    expect(earn(campaign({ ...bonus, startsAt: at.toISOString() }))).toBe(1);
    expect(earn(campaign({ ...bonus, endsAt: at.toISOString() }))).toBe(0);
    expect(earn(campaign({ ...bonus, daysOfWeek: [3] }))).toBe(1);
    expect(earn(campaign({ ...bonus, daysOfWeek: [0, 6] }))).toBe(0);
    expect(earn(campaign({ ...bonus, audience: { tiers: ['gold'] } }))).toBe(0);
    expect(earn(campaign({ ...bonus, audience: { status: 'lapsed' } }))).toBe(0);
    expect(
      earn(campaign({ ...bonus, audience: { status: 'lapsed' } }), { ...member, status: 'lapsed' }),
    ).toBe(1);
    expect(earn(campaign({ ...bonus, firstPurchaseOnly: true }))).toBe(0);
    expect(earn(campaign({ ...bonus, firstPurchaseOnly: true }), { ...member, purchases: 0 })).toBe(
      1,
    );
    expect(earn(campaign({ ...bonus, minSpend: { amount: 1_001, currency: 'USD' } }))).toBe(0);
    expect(earn(campaign({ ...bonus, minSpend: { amount: 1_000, currency: 'USD' } }))).toBe(1);
    // One-off types never add to a purchase's earn.
    expect(earn(campaign({ id: 'e', type: 'enrolment', points: 5 }))).toBe(0);
  });
});

describe('properties (fast-check)', () => {
  const lineArb = fc.record({
    sku: fc.constantFrom('a', 'b', 'c', 'd'),
    category: fc.constantFrom('tea', 'coffee', 'giftcard', 'food'),
    quantity: fc.integer({ min: 1, max: 20 }),
    unitPrice: fc.record({ amount: fc.integer({ min: 0, max: 50_000 }) }),
  });
  const campaignArb = fc
    .record({
      type: fc.constantFrom('multiplier' as const, 'bonus' as const),
      multiplier: fc.integer({ min: 10_001, max: 100_000 }).map((m) => m / 10_000),
      points: fc.integer({ min: 1, max: 1_000_000 }),
      categories: fc.option(fc.subarray(['tea', 'coffee', 'giftcard', 'food']), { nil: undefined }),
      minSpend: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
      daysOfWeek: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1 }), {
        nil: undefined,
      }),
    })
    .map((r) =>
      campaign({
        id: 'c',
        type: r.type,
        ...(r.type === 'multiplier' ? { multiplier: r.multiplier } : { points: r.points }),
        ...(r.categories && r.categories.length > 0 && { match: { categories: r.categories } }),
        ...(r.type === 'bonus' &&
          r.minSpend !== undefined && { minSpend: { amount: r.minSpend, currency: 'USD' } }),
        ...(r.daysOfWeek && { daysOfWeek: r.daysOfWeek }),
      }),
    );
  const purchaseArb = fc
    .record({
      lines: fc.array(lineArb, { maxLength: 8 }),
      extra: fc.integer({ min: 0, max: 1_000_000 }),
      campaigns: fc
        .array(campaignArb, { maxLength: 6 })
        .map((cs) => cs.map((c, i) => ({ ...c, id: `c${i}` }))),
      tier: fc.constantFrom(1, 1.25, 1.5),
      day: fc.integer({ min: 0, max: 6 }),
    })
    .map((p) => ({
      ...p,
      total: p.lines.reduce((sum, l) => sum + l.quantity * l.unitPrice.amount, 0) + p.extra,
    }));

  it('the breakdown sums to the points earned, and refunds never reverse more than that', () => {
    fc.assert(
      fc.property(purchaseArb, fc.array(fc.nat(), { maxLength: 12 }), (p, cuts) => {
        const e = earningFor({
          total: p.total,
          lines: p.lines,
          program,
          tierMultiplier: p.tier,
          campaigns: p.campaigns,
          occurredAt: new Date(at.getTime() + (p.day - 3) * 86_400_000),
          customer: member,
        });
        expect(e.breakdown.reduce((sum, b) => sum + b.points, 0)).toBe(e.points);
        expect(e.breakdown.every((b) => Number.isInteger(b.points) && b.points >= 0)).toBe(true);
        expect(e.earnableSpend).toBeLessThanOrEqual(p.total);
        // Partial refunds at arbitrary cut points, then the rest: never more than earned,
        // and all of it once the whole total is refunded.
        const points = [...new Set(cuts.map((c) => (p.total === 0 ? 0 : c % (p.total + 1))))]
          .sort((a, b) => a - b)
          .concat(p.total);
        let refunded = 0;
        let reversed = 0;
        for (const upTo of points) {
          reversed +=
            pointsReversedFor(e.points, upTo, p.total) -
            pointsReversedFor(e.points, refunded, p.total);
          refunded = upTo;
          expect(reversed).toBeLessThanOrEqual(e.points);
        }
        expect(reversed).toBe(p.total === 0 ? 0 : e.points);
      }),
      { numRuns: 500 },
    );
  });
});
