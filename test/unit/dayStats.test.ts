import { describe, expect, it } from 'vitest';
import { type CustomerState, newCustomer } from '../../lib/domain/customer.ts';
import {
  type Counts,
  carryForward,
  type DayStats,
  mergeStats,
  valueAtRiskOf,
} from '../../lib/domain/dayStats.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';

/**
 * What a customer's changes add to the counts by day (dayStats.ts), on fixed instants:
 * each change counts on the day it belongs to, and the totals carried day by day equal
 * what the customer is.
 */
const at = (iso: string) => new Date(iso);
const program: Program = {
  ...defaultProgram,
  lapse: { ...defaultProgram.lapse, factor: 2, minPurchases: 2, minDays: 10 },
};
const statsOf = (...changes: PointsChange[]) =>
  changes.reduce((all, c) => mergeStats(all, c.stats), new Map() as DayStats);

function buy(c: CustomerState, iso: string, amount: number, now = at(iso)) {
  const change = new PointsChange(c, program, now).settle();
  change.purchase({ amount, occurredAt: at(iso), availableAt: at(iso), purchaseId: `p-${iso}` });
  return change;
}

/** The totals at the end of each day of `stats`, in day order. */
function totalsByDay(stats: DayStats): Map<string, Counts> {
  let totals: Counts = {};
  const out = new Map<string, Counts>();
  for (const day of [...stats.keys()].sort()) {
    totals = carryForward(totals, stats.get(day) as Counts, day);
    out.set(day, totals);
  }
  return out;
}

describe('counts by day', () => {
  it('counts a purchase and its points on the day it occurred, and the customer from then', () => {
    const c = newCustomer('cus_1', {}, program, at('2026-03-10T09:00:00Z'));
    const enrol = new PointsChange(c, program, at('2026-03-10T09:00:00Z')).enrolled();
    // Recorded on the 10th, occurred on the 8th (backdated): a customer since the 8th.
    const p = buy(enrol.customer, '2026-03-08T18:00:00Z', 12_345, at('2026-03-10T09:05:00Z'));
    const stats = statsOf(enrol, p);
    // Its points too, though credited on the 10th.
    expect(Object.fromEntries(stats)).toEqual({
      '2026-03-08': { customers: 1, purchases: 1, spend: 12_345, points: 123, pointsEarned: 123 },
    });
    expect(p.customer.memberSince).toBe('2026-03-08');
  });

  it('a lapse counts from lapsedAt with the spend at risk, a reason moves it, a return takes it out', () => {
    let c = newCustomer('cus_2', {}, program, at('2026-01-01T00:00:00Z'));
    const changes: PointsChange[] = [];
    const enrol = new PointsChange(c, program, at('2026-01-01T00:00:00Z')).enrolled();
    changes.push(enrol);
    c = enrol.customer;
    for (const day of ['2026-01-05', '2026-01-10']) {
      const p = buy(c, `${day}T12:00:00Z`, 10_000);
      changes.push(p);
      c = p.customer;
    }
    // Gap 5 days: lapsed once silent for max(10, 2 x 5) = 10 days, from 2026-01-20 noon.
    const scan = new PointsChange(c, program, at('2026-02-01T03:00:00Z'));
    expect(scan.flagLapse()).toBe(true);
    changes.push(scan);
    c = scan.customer;
    const why = new PointsChange(c, program, at('2026-02-03T10:00:00Z'));
    why.recordLapseReason('price', undefined);
    changes.push(why);
    c = why.customer;
    const back = buy(c, '2026-02-07T10:00:00Z', 5_000);
    changes.push(back);

    const stats = statsOf(...changes);
    expect(stats.get('2026-01-20')).toEqual({
      lapsedToday: 1,
      lapsed: 1,
      'lapsed:unknown': 1,
      'risk:unknown:202601': 20_000,
    });
    expect(stats.get('2026-02-03')).toEqual({
      'lapsed:unknown': -1,
      'risk:unknown:202601': -20_000,
      'lapsed:price': 1,
      'risk:price:202601': 20_000,
    });
    expect(stats.get('2026-02-07')).toMatchObject({
      reactivatedToday: 1,
      lapsed: -1,
      'lapsed:price': -1,
      'risk:price:202601': -20_000,
      purchases: 1,
      spend: 5_000,
    });
    const totals = totalsByDay(stats);
    expect(valueAtRiskOf(totals.get('2026-01-20') as Counts, '2026-01-20')).toBe(20_000);
    expect(valueAtRiskOf(totals.get('2026-02-03') as Counts, '2026-02-03', 'price')).toBe(20_000);
    const end = totals.get('2026-02-07') as Counts;
    expect(end).toMatchObject({ customers: 1, lapsedToday: 1, reactivatedToday: 1 });
    // Flows are the day's own: not carried.
    expect(end.purchases).toBeUndefined();
    expect(end.lapsed ?? 0).toBe(0);
    expect(valueAtRiskOf(end, '2026-02-07')).toBe(0);
    expect(end.points).toBe(back.customer.available + back.customer.pending);
  });

  it('history arriving after a lapse but dated before the last purchase is no return: still lapsed, its spend counted', () => {
    let c = newCustomer('cus_3', {}, program, at('2026-01-01T00:00:00Z'));
    for (const day of ['2026-01-05', '2026-01-10']) c = buy(c, `${day}T12:00:00Z`, 1_000).customer;
    const scan = new PointsChange(c, program, at('2026-02-01T00:00:00Z'));
    scan.flagLapse();
    // A purchase of 2026-01-07 imported after the lapse (dated 2026-01-20).
    const late = buy(scan.customer, '2026-01-07T12:00:00Z', 1_000, at('2026-02-02T00:00:00Z'));
    expect(late.customer).toMatchObject({ status: 'lapsed', lapsedAt: scan.customer.lapsedAt });
    expect(late.events.map((e) => e.type)).not.toContain('customer.reactivated');
    for (const [, t] of late.stats) {
      expect(t.reactivatedToday).toBeUndefined();
      expect(t.lapsed).toBeUndefined();
    }
    expect(late.stats.get('2026-01-07')).toMatchObject({ purchases: 1, spend: 1_000 });
  });

  it('history dated after the last purchase but before the lapse withdraws it: the counts net to nothing', () => {
    let c = newCustomer('cus_5', {}, program, at('2026-01-01T00:00:00Z'));
    for (const day of ['2026-01-05', '2026-01-10']) c = buy(c, `${day}T12:00:00Z`, 1_000).customer;
    const scan = new PointsChange(c, program, at('2026-02-01T00:00:00Z'));
    scan.flagLapse(); // lapsed from 2026-01-20, on what the scan knew
    // A purchase of 2026-01-15, imported after the flag: the silence ended before the rule held.
    const late = buy(scan.customer, '2026-01-15T12:00:00Z', 1_000, at('2026-02-02T00:00:00Z'));
    expect(late.customer.status).toBe('active');
    expect(late.customer.lapsedAt).toBeUndefined();
    expect(late.events).toMatchObject([
      { type: 'customer.reactivated', data: { withdrawn: true, lapsedAt: scan.customer.lapsedAt } },
    ]);
    const totals = totalsByDay(statsOf(scan, late));
    for (const [day, t] of totals) {
      expect(t.lapsedToday ?? 0, day).toBe(0);
      expect(t.reactivatedToday ?? 0, day).toBe(0);
      expect(t.lapsed ?? 0, day).toBe(0);
    }
    expect(late.stats.get('2026-01-15')).toMatchObject({ purchases: 1, spend: 1_000 });
  });

  it('a purchase dated before the lapse reason was given takes the customer out on that later day', () => {
    let c = newCustomer('cus_4', {}, program, at('2026-01-01T00:00:00Z'));
    for (const day of ['2026-01-05', '2026-01-10']) c = buy(c, `${day}T12:00:00Z`, 1_000).customer;
    const scan = new PointsChange(c, program, at('2026-02-01T00:00:00Z'));
    scan.flagLapse(); // lapsed from 2026-01-20
    const why = new PointsChange(scan.customer, program, at('2026-02-10T00:00:00Z'));
    why.recordLapseReason('price', undefined); // on 2026-02-10
    // The till's purchase of 2026-02-07, recorded on the 11th.
    const late = buy(why.customer, '2026-02-07T12:00:00Z', 1_000, at('2026-02-11T00:00:00Z'));
    const totals = totalsByDay(statsOf(scan, why, late));
    for (const [day, t] of totals) {
      for (const [name, n] of Object.entries(t)) {
        expect(n, `${name} on ${day}`).toBeGreaterThanOrEqual(0);
      }
    }
    expect(late.stats.get('2026-02-10')).toMatchObject({ reactivatedToday: 1, 'lapsed:price': -1 });
    expect(late.customer.lapsedShareDay).toBeUndefined();
  });

  it('spend at risk leaves the value at risk as its months leave the twelve', () => {
    const totals = carryForward(
      {},
      { 'risk:unknown:202501': 700, 'risk:price:202512': 300 },
      '2025-12-31',
    );
    expect(valueAtRiskOf(totals, '2025-12-31')).toBe(1_000);
    expect(valueAtRiskOf(totals, '2026-01-01')).toBe(300);
    // Carried past its last twelve months, a month is dropped from the totals.
    expect(carryForward(totals, {}, '2026-01-01')).toEqual({ 'risk:price:202512': 300 });
  });
});

describe('a long history counted at once (the backfill)', () => {
  it('folds its oldest months onto their first day until it fits, totals unchanged', async () => {
    const { monthsFolded } = await import('../../lib/usecases/backfill.ts');
    const stats: DayStats = new Map();
    // 200 days over ten months: 20 a month.
    for (let m = 1; m <= 10; m++) {
      for (let d = 1; d <= 20; d++) {
        const day = `2025-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        stats.set(day, { purchases: 1, spend: 100 * d });
      }
    }
    const folded = monthsFolded(stats, 90);
    expect(folded.size).toBeLessThanOrEqual(90);
    const sum = (s: DayStats, name: string) =>
      [...s.values()].reduce((t, c) => t + (c[name] ?? 0), 0);
    expect(sum(folded, 'purchases')).toBe(200);
    expect(sum(folded, 'spend')).toBe(sum(stats, 'spend'));
    // The oldest months went to their first day; the newest kept their days.
    expect(folded.get('2025-01-01')).toEqual({ purchases: 20, spend: 21_000 });
    expect(folded.get('2025-10-20')).toEqual({ purchases: 1, spend: 2_000 });
    expect(monthsFolded(new Map([['2025-01-02', { purchases: 1 }]]), 90).get('2025-01-02')).toEqual(
      {
        purchases: 1,
      },
    );
  });
});
