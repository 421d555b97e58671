import { describe, expect, it } from 'vitest';
import {
  addPurchaseDay,
  CADENCE_DAYS,
  CADENCE_WINDOW_DAYS,
  type Cadence,
  expectedNextPurchaseBy,
  lapseDueAt,
  typicalGapDays,
  valueAtRisk,
} from '../../lib/domain/cadence.ts';
import { newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram } from '../../lib/domain/program.ts';

const at = (iso: string) => new Date(iso);
const DAY = 86_400_000;
const days = (...isoDays: string[]) =>
  isoDays.reduce<Cadence | undefined>((c, d) => addPurchaseDay(c, at(`${d}T12:00:00Z`)), undefined);

describe('cadence', () => {
  it('takes the median gap between distinct purchase days; null below 2 days', () => {
    expect(typicalGapDays(days('2026-01-01'))).toBeNull();
    expect(typicalGapDays(days('2026-01-01', '2026-01-01'))).toBeNull();
    expect(typicalGapDays(days('2026-01-01', '2026-01-11', '2026-01-14'))).toBe(6.5);
    expect(typicalGapDays(days('2026-01-01', '2026-01-03', '2026-01-13', '2026-01-15'))).toBe(2);
  });

  it('puts out-of-order and backdated purchases in their place', () => {
    const c = days('2026-03-01', '2026-01-01', '2026-02-01');
    expect(c?.days).toEqual(['20260101', '20260201', '20260301']);
    expect(c).toMatchObject({ dayCount: 3, firstDay: '20260101' });
    expect(typicalGapDays(c)).toBe(29.5);
  });

  it(`keeps the days of the last ${CADENCE_WINDOW_DAYS}, ${CADENCE_DAYS} before them, and counts every new day`, () => {
    let c: Cadence | undefined;
    for (let i = 0; i < 40; i++)
      c = addPurchaseDay(c, new Date(Date.UTC(2026, 0, 1) + i * 7 * DAY));
    // Weekly: 14 days within 91 days of the last (days 0..91 back), and 24 before them.
    expect(c?.days).toHaveLength(14 + CADENCE_DAYS);
    expect(c?.days.at(-1)).toBe('20261001');
    expect(c?.days[0]).toBe('20260115');
    expect(c).toMatchObject({ dayCount: 40, firstDay: '20260101' });
    expect(typicalGapDays(c)).toBe(7);
    const older = addPurchaseDay(c, at('2025-06-01T00:00:00Z'));
    expect(older).toMatchObject({ dayCount: 41, firstDay: '20250601' });
    expect(older.days).toEqual(c?.days);
  });

  it('counts the purchases of each day kept', () => {
    const c = days('2026-01-01', '2026-01-11', '2026-01-01', '2026-01-05', '2026-01-11');
    expect(c).toMatchObject({
      days: ['20260101', '20260105', '20260111'],
      purchases: [2, 1, 2],
      dayCount: 3,
    });
  });

  it('starts counting purchases per day on a cadence kept before it did, one per day kept', () => {
    // A customer stored before `purchases` was kept: their days are known, the counts not.
    const kept: Cadence = {
      days: ['20260101', '20260105', '20260111'],
      dayCount: 5,
      firstDay: '20251201',
    };
    expect(addPurchaseDay(kept, at('2026-01-20T12:00:00Z'))).toMatchObject({
      days: ['20260101', '20260105', '20260111', '20260120'],
      purchases: [1, 1, 1, 1],
      dayCount: 6,
    });
    expect(addPurchaseDay(kept, at('2026-01-05T18:00:00Z'))).toMatchObject({
      days: kept.days,
      purchases: [1, 2, 1],
      dayCount: 5,
    });
    expect(addPurchaseDay(kept, at('2025-11-01T12:00:00Z'))).toMatchObject({
      days: kept.days,
      purchases: [1, 1, 1],
      dayCount: 6,
      firstDay: '20251101',
    });
  });

  it('takes the median gap over the last 24 days only, however many are kept', () => {
    // Every 10 days for a year, then every 2 days for 60 days: 24 gaps of 2 days rule.
    let c: Cadence | undefined;
    for (let i = 0; i < 36; i++)
      c = addPurchaseDay(c, new Date(Date.UTC(2025, 0, 1) + i * 10 * DAY));
    for (let i = 1; i <= 30; i++)
      c = addPurchaseDay(c, new Date(Date.UTC(2025, 11, 27) + i * 2 * DAY));
    expect(c?.days.length).toBeGreaterThan(CADENCE_DAYS);
    expect(typicalGapDays(c)).toBe(2);
  });

  it('expects the next purchase one typical gap after the last', () => {
    const c = days('2026-01-01', '2026-01-11');
    expect(expectedNextPurchaseBy('2026-01-11T12:00:00.000Z', c)).toBe('2026-01-21T12:00:00.000Z');
  });
});

describe('the lapse rule', () => {
  const last = '2026-01-21T12:00:00.000Z';

  it('holds after max(minDays, factor x gap) of silence, for minPurchases or more', () => {
    const tenDays = days('2026-01-01', '2026-01-11', '2026-01-21');
    expect(lapseDueAt(3, last, tenDays, defaultProgram)).toBe('2026-02-10T12:00:00.000Z');
    const twoDays = days('2026-01-17', '2026-01-19', '2026-01-21');
    expect(lapseDueAt(3, last, twoDays, defaultProgram)).toBe('2026-02-04T12:00:00.000Z');
    expect(lapseDueAt(2, last, tenDays, defaultProgram)).toBeUndefined();
  });

  it('flags strictly after the due moment, once, with lapsedAt at that moment and an event', () => {
    let c = newCustomer('cus_l', {}, defaultProgram, at('2026-01-01T00:00:00Z'));
    for (const d of ['2026-01-01', '2026-01-11', '2026-01-21']) {
      const buy = new PointsChange(c, defaultProgram, at(`${d}T12:00:00Z`)).settle();
      const when = at(`${d}T12:00:00Z`);
      buy.purchase({ amount: 1000, occurredAt: when, availableAt: when, purchaseId: 'p' });
      c = buy.customer;
    }
    expect(lapseDueAt(c.purchases, c.lastPurchaseAt, c.cadence, defaultProgram)).toBe(
      '2026-02-10T12:00:00.000Z',
    );
    expect(c.lapseWatch).toBe('14#2026-01-21T12:00:00.000Z#20#3');
    const atDue = new PointsChange(c, defaultProgram, at('2026-02-10T12:00:00.000Z'));
    expect(atDue.flagLapse()).toBe(false);
    const after = new PointsChange(c, defaultProgram, at('2026-02-10T12:00:00.001Z'));
    expect(after.flagLapse()).toBe(true);
    expect(after.customer).toMatchObject({
      status: 'lapsed',
      lapsedAt: '2026-02-10T12:00:00.000Z',
    });
    expect(after.customer.lapseWatch).toBeUndefined();
    expect(after.events).toMatchObject([{ type: 'customer.lapsed' }]);
    const again = new PointsChange(after.customer, defaultProgram, at('2026-03-01T00:00:00Z'));
    expect(again.flagLapse()).toBe(false);

    const back = new PointsChange(after.customer, defaultProgram, at('2026-03-01T00:00:00Z'));
    const when = at('2026-03-01T00:00:00Z');
    back.purchase({ amount: 1000, occurredAt: when, availableAt: when, purchaseId: 'p' });
    expect(back.customer).toMatchObject({ status: 'active' });
    expect(back.customer.lapseWatch).toBe('14#2026-03-01T00:00:00.000Z#20#4');
    expect(back.customer.lapsedAt).toBeUndefined();
    expect(back.events.map((e) => e.type)).toEqual(['customer.reactivated']);
  });
});

describe('value at risk', () => {
  it("is a year's spend times the chance the customer is gone, all of it without a model", () => {
    expect(valueAtRisk(10_000, 0.25)).toBe(7_500);
    expect(valueAtRisk(10_000, null)).toBe(10_000);
    expect(valueAtRisk(999, 0.5)).toBe(500);
    expect(valueAtRisk(0, 0.1)).toBe(0);
  });
});
