import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CustomerState, newCustomer } from '../../lib/domain/customer.ts';
import { MAX_LOTS, MAX_PENDING_LOTS } from '../../lib/domain/lots.ts';
import { availableAtFor, pointsReversedFor } from '../../lib/domain/points.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { customerItem } from '../../lib/store/customers.ts';
import { itemSize } from '../bench/itemSize.ts';

/**
 * The customer item has a ceiling whatever the history: pending lots are bounded as lots
 * are (lots.ts), so a busy account (a house account, a B2B buyer) with pendingDays set
 * never grows its item towards DynamoDB's 400 KB, and no point is lost or released early
 * or late on the way.
 */
const DAY = 86_400_000;
const MINUTE = 60_000;
/** Far below DynamoDB's 400 KB: the customer item's size, whatever the history. */
const CEILING = 32 * 1024;

/** Every profile field at its longest, in 4-byte characters where free text is allowed. */
function longestProfile(program: Program, at: Date): CustomerState {
  const c = newCustomer(
    'cus_01JH00000000000000000000000',
    {
      externalId: '𝄞'.repeat(128),
      email: `${'a'.repeat(242)}@example.com`,
      phone: '+123456789012345',
      name: '𝄞'.repeat(200),
      birthDate: '1990-02-28',
      referredBy: 'cus_01JH00000000000000000000001',
    },
    program,
    at,
  );
  return {
    ...c,
    status: 'lapsed',
    lapsedAt: at.toISOString(),
    lapseReason: { reason: 'competitor', note: '𝄞'.repeat(1000), at: at.toISOString() },
  };
}

interface Bought {
  id: string;
  total: number;
  points: number;
  refunded: number;
  /** As answered: when its points become available. */
  availableAt: number;
  /** The same, as a pending lot's key. */
  key: string;
  /** Its points not yet reversed by refunds taken from pending. */
  pending: number;
}

const sumOf = (lots: Record<string, number> | undefined) =>
  Object.values(lots ?? {}).reduce((a, b) => a + b, 0);

/**
 * A history driven as the use cases drive it: each change settles first (what fell due),
 * then applies one thing. After each, the customer is checked against the ledger and a
 * model of every purchase's pending points, and its item against the ceiling.
 */
class History {
  c: CustomerState;
  now: Date;
  ledger = 0;
  ledgerPending = 0;
  bought: Bought[] = [];
  /** The model: points still pending by the availableAt answered for their purchases. */
  model = new Map<string, number>();
  maxPendingLots = 0;
  maxSize = 0;

  constructor(
    readonly program: Program,
    start: Date,
  ) {
    this.now = start;
    this.c = longestProfile(program, start);
  }

  change(apply: (change: PointsChange) => void): void {
    const change = new PointsChange(this.c, this.program, this.now).settle();
    apply(change);
    for (const { entry } of change.entries) {
      this.ledger += entry.points;
      this.ledgerPending += entry.pendingPoints ?? 0;
      expect(entry.balanceAfter).toBe(this.ledger);
    }
    this.c = change.customer;
    this.check();
  }

  buy(total: number): Bought {
    const exact = availableAtFor(this.now, this.program.pendingDays);
    const id = `pur_${this.bought.length}`;
    let bought: Bought | undefined;
    this.change((change) => {
      const earned = change.purchase({
        amount: total,
        occurredAt: this.now,
        availableAt: exact,
        purchaseId: id,
      });
      const availableAt = earned.availableAt.getTime();
      // Never before occurredAt + pendingDays, and at most a day later.
      expect(availableAt).toBeGreaterThanOrEqual(exact.getTime());
      expect(availableAt).toBeLessThanOrEqual(exact.getTime() + DAY);
      bought = {
        id,
        total,
        points: earned.points,
        refunded: 0,
        availableAt,
        key: new Date(availableAt).toISOString(),
        pending: earned.pending ? earned.points : 0,
      };
      expect(earned.pending).toBe(availableAt > this.now.getTime());
      this.bought.push(bought);
      this.modelAdd(bought.key, bought.pending);
    });
    return bought as Bought;
  }

  /** Refunds `share` (0..1] of what is left of purchase `pick`, as refundPurchase does. */
  refund(pick: number, share: number): void {
    const p = this.bought[pick % this.bought.length];
    if (!p || p.refunded === p.total) return;
    const amount = Math.max(1, Math.floor((p.total - p.refunded) * share));
    const after = p.refunded + amount;
    const points =
      pointsReversedFor(p.points, after, p.total) -
      pointsReversedFor(p.points, p.refunded, p.total);
    p.refunded = after;
    const inWindow = p.availableAt > this.now.getTime();
    if (inWindow) {
      p.pending -= points;
      this.modelAdd(p.key, -points);
    }
    let pendingBefore = 0;
    this.change((change) => {
      pendingBefore = change.customer.pending;
      change.refund({
        points,
        amount,
        occurredAt: new Date(p.availableAt - this.program.pendingDays * DAY),
        availableAt: new Date(p.availableAt),
        purchaseId: p.id,
        refundId: `ref_${p.id}_${after}`,
      });
    });
    // Inside the window: all of it from the purchase's own pending points (check() saw
    // that it came from the purchase's own lot).
    if (inWindow) expect(pendingBefore - this.c.pending).toBe(points);
  }

  modelAdd(key: string, points: number): void {
    const left = (this.model.get(key) ?? 0) + points;
    if (left === 0) this.model.delete(key);
    else this.model.set(key, left);
  }

  spend(points: number): void {
    this.change((change) => {
      if (points <= change.customer.available) change.hold(points, 'red', true);
    });
  }

  wait(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
    this.change(() => {});
  }

  check(): void {
    const c = this.c;
    expect(c.available).toBe(this.ledger);
    expect(c.pending).toBe(this.ledgerPending);
    expect(sumOf(c.pendingLots)).toBe(c.pending);
    expect(sumOf(c.lots)).toBe(Math.max(0, c.available));
    // Each pending lot holds exactly the points of the purchases answered with its time
    // (less what refunds took back from it), and nothing is pending past its time.
    const nowKey = this.now.toISOString();
    for (const at of [...this.model.keys()]) if (at <= nowKey) this.model.delete(at);
    expect(c.pendingLots ?? {}).toEqual(Object.fromEntries(this.model));
    const pendingLots = Object.keys(c.pendingLots ?? {}).length;
    expect(pendingLots).toBeLessThanOrEqual(MAX_PENDING_LOTS);
    expect(Object.keys(c.lots ?? {}).length).toBeLessThanOrEqual(MAX_LOTS);
    const size = itemSize(customerItem(c));
    expect(size).toBeLessThan(CEILING);
    this.maxPendingLots = Math.max(this.maxPendingLots, pendingLots);
    this.maxSize = Math.max(this.maxSize, size);
  }
}

describe('the customer item has a ceiling whatever the history (property)', () => {
  const op = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('burst' as const),
        count: fc.integer({ min: 1, max: 400 }),
        gapMinutes: fc.integer({ min: 0, max: 240 }),
        amount: fc.integer({ min: 1, max: 200_000 }),
      }),
    },
    fc.record({
      kind: fc.constant('refund' as const),
      pick: fc.nat(),
      share: fc.double({ min: 0.01, max: 1, noNaN: true }),
    }),
    fc.record({ kind: fc.constant('spend' as const), points: fc.integer({ min: 1, max: 5000 }) }),
    fc.record({
      kind: fc.constant('wait' as const),
      minutes: fc.integer({ min: 1, max: 60 * 24 * 400 }),
    }),
  );
  const programs = fc.record({
    pendingDays: fc.integer({ min: 1, max: 365 }),
    pointsExpireAfterDays: fc.option(fc.integer({ min: 1, max: 1000 })),
  });

  it('stays under the ceiling, with balances, ledger and every pending point in place', {
    timeout: 120_000,
  }, () => {
    fc.assert(
      fc.property(programs, fc.array(op, { maxLength: 25 }), (settings, ops) => {
        const program: Program = { ...defaultProgram, ...settings };
        const h = new History(program, new Date('2026-01-01T09:00:00Z'));
        for (const o of ops) {
          if (o.kind === 'burst') {
            for (let i = 0; i < o.count; i++) {
              h.buy(o.amount);
              h.now = new Date(h.now.getTime() + o.gapMinutes * MINUTE + 1);
            }
          } else if (o.kind === 'refund') h.refund(o.pick, o.share);
          else if (o.kind === 'spend') h.spend(o.points);
          else h.wait(o.minutes * MINUTE);
        }
        // At the end, everything comes out of pending exactly when it is due.
        h.wait(367 * DAY);
        expect(h.c.pending).toBe(0);
      }),
      { numRuns: 40, seed: 24 },
    );
  });

  it('stays under it in the worst case: a purchase every 2 hours for 800 days', {
    timeout: 120_000,
  }, () => {
    // Pending for a year, then lots on every day (no expiry).
    const program: Program = { ...defaultProgram, pendingDays: 365, pointsExpireAfterDays: null };
    const h = new History(program, new Date('2026-01-01T00:07:00Z'));
    for (let i = 0; i < 800 * 12; i++) {
      h.buy(100 + (i % 13) * 100);
      if (i % 97 === 0) h.refund(i * 7919, 0.5);
      h.now = new Date(h.now.getTime() + 120 * MINUTE);
    }
    expect(h.maxPendingLots).toBeGreaterThan(360);
    expect(h.maxPendingLots).toBeLessThanOrEqual(MAX_PENDING_LOTS);
    expect(Object.keys(h.c.lots ?? {}).length).toBe(MAX_LOTS);
    expect(h.maxSize).toBeLessThan(CEILING);
  });
});

describe('a customer stored with more pending lots than the bound', () => {
  it('refunds a folded purchase from its day lot between its availableAt and the next 00:00 UTC', () => {
    // Stored before pending lots were bounded: one lot of 10 points an hour, 401 of them,
    // the first an hour after the fold. Lot 100 (at 04:30) is folded into the next 00:00.
    const program: Program = { ...defaultProgram, pendingDays: 30 };
    const folded = new Date('2026-03-01T00:00:00Z');
    const hour = (i: number) => new Date(folded.getTime() + (i + 1) * 60 * MINUTE + 30 * MINUTE);
    const stored = newCustomer('cus_01JH00000000000000000000002', {}, program, folded);
    stored.pendingLots = Object.fromEntries(
      Array.from({ length: MAX_PENDING_LOTS + 1 }, (_, i) => [hour(i).toISOString(), 10]),
    );
    stored.pending = 10 * (MAX_PENDING_LOTS + 1);
    const atFold = new PointsChange(stored, program, folded).settle();
    const customer = atFold.customer;
    const availableAt = hour(100); // 2026-03-05T05:30Z, folded into 2026-03-06T00:00Z
    expect(customer.pendingLots?.[availableAt.toISOString()]).toBeUndefined();
    expect(customer.pendingLots?.['2026-03-06T00:00:00.000Z']).toBeGreaterThan(10);

    // Refunded in the evening after its availableAt: its points are still pending.
    const evening = new Date('2026-03-05T20:00:00Z');
    const refund = new PointsChange(customer, program, evening).settle();
    const before = { available: refund.customer.available, pending: refund.customer.pending };
    refund.refund({
      points: 10,
      amount: 1_000,
      occurredAt: new Date(availableAt.getTime() - 30 * DAY),
      availableAt,
      purchaseId: 'pur_100',
      refundId: 'ref_100',
    });
    expect(refund.customer.available).toBe(before.available);
    expect(refund.customer.pending).toBe(before.pending - 10);
  });
});
