import { describe, expect, it } from 'vitest';
import type { Cadence } from '../../lib/domain/cadence.ts';
import { type CustomerState, newCustomer } from '../../lib/domain/customer.ts';
import { lotExpiresAt } from '../../lib/domain/lots.ts';
import { joinCadence, mergeChanges, mergeRefusal } from '../../lib/domain/merge.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';

const at = (iso: string) => new Date(iso);
const DAY = 86_400_000;
const program: Program = { ...defaultProgram, pointsExpireAfterDays: 60, pendingDays: 0 };
const asOf = at('2026-03-01T12:00:00Z');

/** A purchase of `points` points (1 point per 100) on `day`, available at `availableAt`. */
function buy(c: CustomerState, day: string, points: number, availableAt?: string) {
  const change = new PointsChange(c, program, asOf).settle();
  const when = at(`${day}T10:00:00Z`);
  change.purchase({
    amount: points * 100,
    occurredAt: when,
    availableAt: availableAt ? at(availableAt) : when,
    purchaseId: `pur_${day}_${points}`,
  });
  return change.customer;
}

/** Merges `source` into `survivor` as of `when`: both changes. */
function merge(survivor: CustomerState, source: CustomerState, when = asOf) {
  const out = new PointsChange(source, program, when).settle();
  const into = new PointsChange(survivor, program, when).settle();
  mergeChanges(into, out, program, when, when);
  return { out, into };
}

const ledgerSum = (changes: PointsChange[]) =>
  changes.flatMap((c) => c.entries).reduce((sum, { entry }) => sum + entry.points, 0);

describe('merging two records of one customer', () => {
  const joined = at('2026-01-01T00:00:00Z');
  const a0 = newCustomer('cus_a', { email: 'a@example.com', name: 'Ann' }, program, joined);
  const b0 = newCustomer('cus_b', { phone: '+15550100', externalId: 'T-9' }, program, joined);

  it('moves every point with its earn day and pending moment, so expiry and activation are as before', () => {
    let a = buy(a0, '2026-02-01', 100);
    a = buy(a, '2026-02-20', 30);
    let b = buy(b0, '2026-02-01', 5);
    b = buy(b, '2026-02-10', 70);
    b = buy(b, '2026-02-28', 40, '2026-03-10T00:00:00Z');
    const { out, into } = merge(a, b);
    const survivor = into.customer;
    expect(survivor).toMatchObject({
      available: 130 + 75,
      pending: 40,
      lifetimeEarned: 130 + 115,
      purchases: 5,
      lots: { '20260201': 105, '20260210': 70, '20260220': 30 },
      pendingLots: { '2026-03-10T00:00:00.000Z': 40 },
    });
    expect(out.customer).toMatchObject({
      status: 'merged',
      mergedInto: 'cus_a',
      available: 0,
      pending: 0,
      lifetimeEarned: 0,
      lots: {},
      pendingLots: {},
    });
    expect(out.customer.email).toBeUndefined();
    expect(out.customer.phone).toBeUndefined();
    expect(into.entries.map((e) => e.entry)).toMatchObject([
      { type: 'merge-in', points: 75, pendingPoints: 40, balanceAfter: 205, mergedFrom: 'cus_b' },
    ]);
    expect(out.entries.map((e) => e.entry)).toMatchObject([
      { type: 'merge-out', points: -75, pendingPoints: -40, balanceAfter: 0, mergedInto: 'cus_a' },
    ]);
    // Nothing made or lost: the two entries cancel out.
    expect(ledgerSum([out, into])).toBe(0);
    expect(into.events.map((e) => [e.type, e.data])).toContainEqual([
      'customer.merged',
      { from: 'cus_b', pointsMoved: 115 },
    ]);

    // The moved points expire on their own day; the pending ones activate on their moment.
    const expiresAt = lotExpiresAt('20260201', program.pointsExpireAfterDays as number);
    const expiry = new PointsChange(survivor, program, expiresAt).settle();
    expect(expiry.entries.map((e) => e.entry)).toContainEqual(
      expect.objectContaining({ type: 'expire', points: -105 }),
    );
    const activation = new PointsChange(survivor, program, at('2026-03-10T00:00:00Z')).settle();
    expect(activation.entries.map((e) => e.entry)).toMatchObject([
      { type: 'activate', pendingPoints: -40 },
    ]);
  });

  it('takes a negative balance too: the survivor pays it from its oldest points', () => {
    const a = buy(a0, '2026-02-01', 100);
    const refunded = new PointsChange(buy(b0, '2026-02-05', 50), program, asOf).settle();
    refunded.refund({
      points: 80,
      amount: 0,
      occurredAt: asOf,
      availableAt: asOf,
      purchaseId: 'p',
      refundId: 'r',
    });
    const b = refunded.customer;
    expect(b.available).toBe(-30);
    const { out, into } = merge(a, b);
    expect(into.customer).toMatchObject({ available: 70, lots: { '20260201': 70 } });
    expect(out.customer.available).toBe(0);
    expect(ledgerSum([out, into])).toBe(0);
  });

  it('adds the tier window spend month by month and goes up a tier at once, never down', () => {
    const silver = program.tiers[1]?.qualifyingSpend as number;
    // Each alone short of silver; together past it.
    const a = buy(a0, '2026-02-03', Math.ceil(silver / 100 / 2));
    const b = buy(b0, '2026-02-04', Math.ceil(silver / 100 / 2));
    expect([a.tierId, b.tierId]).toEqual(['member', 'member']);
    const { into } = merge(a, b);
    expect(into.customer.tierId).toBe(program.tiers[1]?.id);
    expect(into.events.find((e) => e.type === 'tier.changed')?.data).toMatchObject({
      direction: 'up',
      reason: 'merge',
    });
    // A source holding a higher tier than the spend earns: the survivor holds it too.
    const gold = { ...b0, tierId: program.tiers[2]?.id as string };
    expect(merge(a0, gold).into.customer.tierId).toBe(gold.tierId);
    // A survivor's tier never goes down.
    const goldSurvivor = { ...a0, tierId: program.tiers[2]?.id as string };
    expect(merge(goldSurvivor, b).into.customer.tierId).toBe(goldSurvivor.tierId);
  });

  it("keeps the survivor's identifiers, takes those it lacks, and keeps the others as aliases", () => {
    const a = { ...a0, phone: '+15550199' };
    const { into } = merge(a, b0);
    expect(into.customer).toMatchObject({
      email: 'a@example.com',
      phone: '+15550199',
      externalId: 'T-9',
      name: 'Ann',
      aliases: [{ kind: 'phone', value: '+15550100' }],
      merges: 1,
    });
  });

  it("carries the source's pending referral, so a full refund of its purchase still takes it back", () => {
    const paid = {
      purchaseId: 'pur_s1',
      availableAt: '2026-03-20T00:00:00.000Z',
      referrerId: 'cus_y',
      campaigns: [{ campaignId: 'cmp_r', points: 100, refereePoints: 50 }],
    };
    const survivor = { ...a0, referredBy: 'cus_x' };
    const source = { ...b0, referredBy: 'cus_y', referralPaid: paid };
    const { into } = merge(survivor, source);
    expect(into.customer).toMatchObject({ referredBy: 'cus_x', referralPaid: paid });
  });

  it('joins the purchase days as one customer', () => {
    const a = buy(buy(a0, '2026-01-10', 1), '2026-02-10', 1);
    const b = buy(buy(b0, '2026-01-25', 1), '2026-02-10', 1);
    const { into } = merge(a, b);
    expect(into.customer.cadence).toEqual({
      days: ['20260110', '20260125', '20260210'],
      purchases: [1, 1, 2],
      dayCount: 3,
      firstDay: '20260110',
    });
    expect(into.customer.lastPurchaseAt).toBe('2026-02-10T10:00:00.000Z');
  });

  it('a lapsed survivor whose other record still buys is active again', () => {
    const lapsed: CustomerState = {
      ...buy(a0, '2025-06-01', 10),
      status: 'lapsed',
      lapsedAt: '2025-12-01T00:00:00.000Z',
    };
    const b = buy(b0, '2026-02-20', 10);
    const { into } = merge(lapsed, b, at('2026-02-21T00:00:00Z'));
    expect(into.customer.status).toBe('active');
    expect(into.customer.lapsedAt).toBeUndefined();
  });

  it('refuses a merge into itself, of a merged or erased customer, and of one with points held', () => {
    expect(mergeRefusal(a0, a0)?.code).toBe('validation-failed');
    const merged = merge(a0, b0).out.customer;
    expect(mergeRefusal(a0, merged)?.code).toBe('conflict');
    expect(mergeRefusal(merged, a0)?.code).toBe('conflict');
    expect(mergeRefusal(a0, { ...b0, status: 'erased' })?.code).toBe('conflict');
    expect(mergeRefusal(a0, { ...b0, held: 10 })?.code).toBe('merge-blocked');
    expect(mergeRefusal(a0, b0)).toBeUndefined();
  });
});

describe('joinCadence', () => {
  it('counts a day both bought on once, and keeps the window of days a cadence keeps', () => {
    const a: Cadence = { days: ['20260101'], purchases: [2], dayCount: 5, firstDay: '20250101' };
    const b: Cadence = {
      days: ['20260101', '20260105'],
      purchases: [1, 1],
      dayCount: 2,
      firstDay: '20260101',
    };
    expect(joinCadence(a, b)).toEqual({
      days: ['20260101', '20260105'],
      purchases: [3, 1],
      dayCount: 6,
      firstDay: '20250101',
    });
    expect(joinCadence(undefined, b)).toBe(b);
    // Far apart: the oldest beyond the window and CADENCE_DAYS are dropped.
    const many = (start: number, n: number, step: number): Cadence => {
      const days = Array.from({ length: n }, (_, i) =>
        new Date(start + i * step * DAY).toISOString().slice(0, 10).replaceAll('-', ''),
      );
      return { days, purchases: days.map(() => 1), dayCount: n, firstDay: days[0] as string };
    };
    const old = many(Date.parse('2024-01-01'), 30, 1);
    const recent = many(Date.parse('2026-01-01'), 5, 1);
    const join = joinCadence(old, recent) as Cadence;
    expect(join.dayCount).toBe(35);
    expect(join.days.length).toBe(24 + 5);
    expect(join.firstDay).toBe('20240101');
  });
});
