import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CustomerState, customerView, newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { nextReviewAt } from '../../lib/domain/tiers.ts';

const at = (iso: string) => new Date(iso);
const DAY = 86_400_000;
const expiring: Program = { ...defaultProgram, pointsExpireAfterDays: 30 };

/** Earns `points` (1 point per 100) on `day`, as of `asOf`. */
function earn(c: CustomerState, program: Program, day: string, points: number, asOf: Date) {
  const change = new PointsChange(c, program, asOf).settle();
  const when = at(`${day}T10:00:00Z`);
  change.purchase({ amount: points * 100, occurredAt: when, availableAt: when, purchaseId: 'p' });
  return change;
}

const sumOf = (lots: Record<string, number> | undefined) =>
  Object.values(lots ?? {}).reduce((a, b) => a + b, 0);

describe('lots and expiry', () => {
  const asOf = at('2026-03-01T12:00:00Z');
  const fresh = newCustomer('cus_1', {}, expiring, at('2026-01-01T00:00:00Z'));

  it('spending takes the oldest points first, and only what is left of them expires', () => {
    let c = earn(fresh, expiring, '2026-02-01', 100, asOf).customer;
    c = earn(c, expiring, '2026-02-10', 50, asOf).customer;
    const spend = new PointsChange(c, expiring, asOf).settle();
    expect(spend.hold(120, 'red_1', true)).toEqual({ '20260201': 100, '20260210': 20 });
    c = spend.customer;
    expect(c.lots).toEqual({ '20260210': 30 });
    const expiry = new PointsChange(c, expiring, at('2026-03-13T00:00:00Z')).settle();
    expect(expiry.entries.map((e) => e.entry)).toMatchObject([
      { type: 'expire', points: -30, balanceAfter: 0 },
    ]);
    expect(expiry.customer).toMatchObject({ available: 0, lots: {} });
  });

  it('expires nothing a moment before the end of the day', () => {
    const c = earn(fresh, expiring, '2026-02-01', 100, asOf).customer;
    const early = new PointsChange(c, expiring, at('2026-03-03T23:59:59.999Z')).settle();
    expect(early.changed).toBe(false);
    const due = new PointsChange(c, expiring, at('2026-03-04T00:00:00Z')).settle();
    expect(due.customer.available).toBe(0);
  });

  it('keeps lots equal to the positive balance through a refund below 0 and earning back', () => {
    let c = earn(fresh, expiring, '2026-02-01', 100, asOf).customer;
    const refund = new PointsChange(c, expiring, asOf).settle();
    refund.refund({
      points: 150,
      amount: 0,
      occurredAt: asOf,
      availableAt: asOf,
      purchaseId: 'p',
      refundId: 'r',
    });
    c = refund.customer;
    expect(c.available).toBe(-50);
    expect(c.lots).toEqual({});
    c = earn(c, expiring, '2026-02-20', 80, asOf).customer;
    expect(c.available).toBe(30);
    expect(c.lots).toEqual({ '20260220': 30 });
  });

  it('gives a customer stored before lots existed one lot dated today', () => {
    const legacy = { ...fresh, available: 70, lots: undefined };
    const change = new PointsChange(legacy, expiring, asOf);
    expect(change.customer.lots).toEqual({ '20260301': 70 });
  });

  it('puts released points back on the days they came from', () => {
    let c = earn(fresh, expiring, '2026-02-01', 100, asOf).customer;
    const hold = new PointsChange(c, expiring, asOf).settle();
    const lots = hold.hold(40, 'red_1', false);
    c = hold.customer;
    expect(c).toMatchObject({ available: 60, held: 40 });
    const release = new PointsChange(c, expiring, asOf).settle();
    release.release(40, 'red_1', lots);
    expect(release.customer).toMatchObject({ available: 100, held: 0, lots: { '20260201': 100 } });
  });

  it('shows the next points to expire when within 30 days', () => {
    const c = earn(fresh, expiring, '2026-02-01', 100, asOf).customer;
    expect(customerView(c, expiring, asOf).points.expiringSoon).toEqual({
      points: 100,
      expiresAt: '2026-03-04T00:00:00.000Z',
    });
    expect(customerView(c, expiring, at('2026-01-01T00:00:00Z')).points.expiringSoon).toBeNull();
    expect(customerView(c, defaultProgram, asOf).points.expiringSoon).toBeNull();
  });
});

describe('expiry reminders', () => {
  it('remind each lot once, 14 days ahead, even when it is spent and given back', () => {
    const bought = at('2026-02-11T00:00:00Z');
    const fresh = newCustomer('cus_2', {}, expiring, at('2026-01-01T00:00:00Z'));
    let c = earn(fresh, expiring, '2026-02-01', 100, bought).customer;
    c = earn(c, expiring, '2026-02-10', 50, bought).customer;
    // 2026-02-01's lot expires at 2026-03-04T00:00Z: 14 days ahead is 2026-02-18.
    const early = new PointsChange(c, expiring, at('2026-02-17T23:00:00Z'));
    expect(early.remindExpiring(14)).toBe(0);
    const due = new PointsChange(c, expiring, at('2026-02-18T00:00:00Z'));
    expect(due.remindExpiring(14)).toBe(1);
    expect(due.events).toMatchObject([
      { type: 'points.expiring', data: { points: 100, expiresAt: '2026-03-04T00:00:00.000Z' } },
    ]);
    c = due.customer;
    expect(c.remindedLots).toEqual(['20260201']);
    expect(new PointsChange(c, expiring, at('2026-02-19T00:00:00Z')).remindExpiring(14)).toBe(0);
    // Spent, then given back (a void): the same lot, not reminded again.
    const spend = new PointsChange(c, expiring, at('2026-02-20T00:00:00Z'));
    const taken = spend.hold(100, 'red_9', false);
    c = spend.customer;
    expect(c.lots).not.toHaveProperty('20260201');
    const back = new PointsChange(c, expiring, at('2026-02-21T00:00:00Z'));
    back.release(100, 'red_9', taken);
    c = back.customer;
    expect(c.lots).toHaveProperty('20260201', 100);
    expect(new PointsChange(c, expiring, at('2026-02-22T00:00:00Z')).remindExpiring(14)).toBe(0);
    // The next lot in its turn; after expiry the lot is forgotten.
    const next = new PointsChange(c, expiring, at('2026-02-27T00:00:00Z'));
    expect(next.remindExpiring(14)).toBe(1);
    const later = new PointsChange(next.customer, expiring, at('2026-03-05T00:00:00Z'));
    later.remindExpiring(14);
    expect(later.customer.remindedLots).toEqual(['20260210']);
    // No expiry, no reminder.
    expect(
      new PointsChange(fresh, defaultProgram, at('2026-02-18T00:00:00Z')).remindExpiring(14),
    ).toBe(0);
  });
});

describe('pending points', () => {
  const program: Program = { ...defaultProgram, pendingDays: 14 };
  const now = at('2026-03-01T12:00:00Z');
  const fresh = newCustomer('cus_1', {}, program, now);

  it('are pending until availableAt, then activate into a lot of that day', () => {
    const change = new PointsChange(fresh, program, now).settle();
    const availableAt = new Date(now.getTime() + 14 * DAY);
    change.purchase({ amount: 10_000, occurredAt: now, availableAt, purchaseId: 'p' });
    const c = change.customer;
    expect(c).toMatchObject({ available: 0, pending: 100, lifetimeEarned: 100 });
    expect(change.entries[0]?.entry).toMatchObject({
      type: 'pending',
      points: 0,
      pendingPoints: 100,
    });
    expect(new PointsChange(c, program, new Date(availableAt.getTime() - 1)).settle().changed).toBe(
      false,
    );
    const later = new PointsChange(c, program, availableAt).settle();
    expect(later.customer).toMatchObject({ available: 100, pending: 0, lots: { '20260315': 100 } });
    expect(later.entries[0]?.entry).toMatchObject({
      type: 'activate',
      points: 100,
      pendingPoints: -100,
    });
  });

  it('a refund inside the window takes them from pending', () => {
    const change = new PointsChange(fresh, program, now).settle();
    const availableAt = new Date(now.getTime() + 14 * DAY);
    change.purchase({ amount: 10_000, occurredAt: now, availableAt, purchaseId: 'p' });
    const refund = new PointsChange(change.customer, program, now).settle();
    refund.refund({
      points: 40,
      amount: 4_000,
      occurredAt: now,
      availableAt,
      purchaseId: 'p',
      refundId: 'r',
    });
    expect(refund.customer).toMatchObject({ available: 0, pending: 60 });
    expect(refund.entries[0]?.entry).toMatchObject({
      type: 'refund',
      points: 0,
      pendingPoints: -40,
    });
  });
});

describe('tier review', () => {
  const program = defaultProgram;
  const bought = at('2026-01-15T12:00:00Z');
  const fresh = newCustomer('cus_1', {}, program, bought);
  const silver = earn(fresh, program, '2026-01-15', 600, bought).customer;

  it('is due when the oldest month of spend leaves the window', () => {
    expect(silver.tierId).toBe('silver');
    expect(silver.reviewAt).toBe('2027-01-01T00:00:00.000Z');
    expect(nextReviewAt(fresh.tierId, fresh.spend, program, bought)).toBeUndefined();
  });

  it('moves the tier down at the review, with an event, and not before', () => {
    const before = new PointsChange(silver, program, at('2026-12-31T23:59:59Z')).settle();
    expect(before.changed).toBe(false);
    const review = new PointsChange(silver, program, at('2027-01-01T00:00:00Z')).settle();
    expect(review.customer).toMatchObject({ tierId: 'member', spend: {} });
    expect(review.customer.reviewAt).toBeUndefined();
    expect(review.events).toMatchObject([
      {
        type: 'tier.changed',
        data: { from: { id: 'silver' }, to: { id: 'member' }, direction: 'down' },
      },
    ]);
    expect(review.entries).toEqual([]);
    expect(review.customer.version).toBe(silver.version + 1);
  });

  it('keeps the tier while later spend still qualifies, and reviews again later', () => {
    const more = earn(silver, program, '2026-06-10', 600, at('2026-06-10T12:00:00Z')).customer;
    const review = new PointsChange(more, program, at('2027-01-01T00:00:00Z')).settle();
    expect(review.customer.tierId).toBe('silver');
    expect(review.events).toEqual([]);
    expect(review.customer.reviewAt).toBe('2027-06-01T00:00:00.000Z');
  });
});

describe('any sequence of changes (property)', () => {
  const program: Program = { ...defaultProgram, pendingDays: 3, pointsExpireAfterDays: 10 };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('buy' as const), amount: fc.integer({ min: 1, max: 50_000 }) }),
    fc.record({ kind: fc.constant('spend' as const), points: fc.integer({ min: 1, max: 300 }) }),
    fc.record({ kind: fc.constant('refund' as const), points: fc.integer({ min: 1, max: 300 }) }),
    fc.record({
      kind: fc.constant('adjust' as const),
      points: fc.integer({ min: -300, max: 300 }),
    }),
    fc.record({ kind: fc.constant('hold' as const), points: fc.integer({ min: 1, max: 300 }) }),
    fc.record({ kind: fc.constant('wait' as const), hours: fc.integer({ min: 1, max: 24 * 9 }) }),
  );

  it('keeps available = the ledger, lots = max(available, 0) and pending = its lots', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.boolean(), (ops, pendingOn) => {
        const p = pendingOn ? program : { ...program, pendingDays: 0 };
        let now = at('2026-01-01T09:00:00Z');
        let c = newCustomer('cus_p', {}, p, now);
        let ledger = 0;
        const holds: { points: number; lots: Record<string, number> }[] = [];
        for (const o of ops) {
          if (o.kind === 'wait') now = new Date(now.getTime() + o.hours * 3_600_000);
          const change = new PointsChange(c, p, now).settle();
          const available = change.customer.available;
          if (o.kind === 'buy') {
            const availableAt = new Date(now.getTime() + p.pendingDays * DAY);
            change.purchase({ amount: o.amount, occurredAt: now, availableAt, purchaseId: 'p' });
          } else if (o.kind === 'spend' && o.points <= available) {
            change.hold(o.points, 'r', true);
          } else if (o.kind === 'hold' && o.points <= available) {
            holds.push({ points: o.points, lots: change.hold(o.points, 'r', false) });
          } else if (o.kind === 'refund') {
            const when = new Date(now.getTime() + p.pendingDays * DAY);
            change.refund({
              points: o.points,
              amount: 0,
              occurredAt: now,
              availableAt: when,
              purchaseId: 'p',
              refundId: 'f',
            });
          } else if (o.kind === 'adjust' && o.points !== 0 && available + o.points >= 0) {
            change.adjust(o.points, 'test');
          } else if (holds.length > 0) {
            const h = holds.shift() as { points: number; lots: Record<string, number> };
            change.release(h.points, 'r', h.lots);
          }
          for (const { entry } of change.entries) {
            ledger += entry.points;
            expect(entry.balanceAfter).toBe(ledger);
          }
          c = change.customer;
          expect(c.available).toBe(ledger);
          expect(sumOf(c.lots)).toBe(Math.max(0, c.available));
          expect(sumOf(c.pendingLots)).toBe(c.pending);
          expect(c.held).toBe(holds.reduce((a, h) => a + h.points, 0));
          expect(Object.values(c.lots ?? {}).every((n) => n > 0)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
