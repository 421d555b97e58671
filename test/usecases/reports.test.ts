import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDays, utcDay } from '../../lib/domain/dayStats.ts';
import { RECENT_DAYS, readRollUpState } from '../../lib/store/reports.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { dailyReport, retentionReport, rollUpReports } from '../../lib/usecases/reports.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The report use cases called directly on DynamoDB Local: the daily report from the days'
 * counts, the same report from rolled-up rows after the roll-up job, and the retention
 * report. Days are placed relative to now.
 */
type Pos = Parameters<typeof recordPurchase>[0];
type Idem = Parameters<typeof recordPurchase>[2];
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): Idem => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const DAY = 86_400_000;
/** Noon UTC `n` days ago: on that UTC day whatever the hour the test runs at. */
const daysAgo = (n: number) => {
  const d = new Date(Date.now() - n * DAY);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 12));
};

let pos: Pos;
const today = utcDay(new Date());
const tenAgo = addDays(today, -10);
const nineAgo = addDays(today, -9);

beforeAll(async () => {
  await startTestTable();
  const storeId = (await createPlace('store', 'Report store')).id;
  pos = { keyId: 'key_pos', role: 'pos', storeId };
  // Two customers enrolled ten days ago; purchases ten and nine days ago.
  const a = (await enrolCustomer({ externalId: 'rep-a' }, daysAgo(10))).id;
  const b = (await enrolCustomer({ externalId: 'rep-b' }, daysAgo(10))).id;
  await recordPurchase(
    pos,
    { customerId: a, total: usd(10_000), occurredAt: daysAgo(10).toISOString() },
    key(),
  );
  await recordPurchase(
    pos,
    { customerId: b, total: usd(2_500), occurredAt: daysAgo(9).toISOString() },
    key(),
  );
  await recordPurchase(
    pos,
    { customerId: b, total: usd(1_500), occurredAt: daysAgo(9).toISOString() },
    key(),
  );
});

describe('dailyReport', () => {
  it('has one row a day, oldest first, with each day its new customers, purchases and spend', async () => {
    const { items } = await dailyReport(addDays(tenAgo, -1), nineAgo);
    expect(items.map((r) => r.date)).toEqual([addDays(tenAgo, -1), tenAgo, nineAgo]);
    const [before, first, second] = items;
    expect(before).toMatchObject({ customers: 0, newCustomers: 0, purchases: 0, spend: usd(0) });
    expect(first).toMatchObject({
      customers: 2,
      newCustomers: 2,
      active: 2,
      lapsed: 0,
      purchases: 1,
      spend: usd(10_000),
    });
    expect(second).toMatchObject({
      customers: 2,
      newCustomers: 0,
      purchases: 2,
      spend: usd(4_000),
    });
    expect(first?.pointsEarned).toBeGreaterThan(0);
    expect(second?.pointsEarned).toBeGreaterThan(0);
  });

  it('answers the same rows once the roll-up job has stored the old days', async () => {
    const from = addDays(tenAgo, -1);
    const computed = await dailyReport(from, today);
    const run = await rollUpReports(new Date());
    const through = addDays(today, -(RECENT_DAYS + 2));
    expect(run).toMatchObject({ rolledThrough: through, complete: true });
    expect(run.rolledDays).toBeGreaterThanOrEqual(10 - RECENT_DAYS - 2);
    expect((await readRollUpState()).rolledThrough).toBe(through);
    expect(await dailyReport(from, today)).toEqual(computed);
    // A second run has nothing left to store.
    expect(await rollUpReports(new Date())).toMatchObject({
      rolledThrough: through,
      rolledDays: 0,
    });
    expect(await dailyReport(from, today)).toEqual(computed);
  });

  it('a dry run reports what it would store and stores nothing', async () => {
    const before = await readRollUpState();
    const dry = await rollUpReports(new Date(), { dryRun: true });
    expect(dry.backfilled).toBe(0);
    expect((await readRollUpState()).rolledThrough).toBe(before.rolledThrough);
  });
});

describe('retentionReport', () => {
  it('counts the customers at the end of the day asked for, none lapsed', async () => {
    const now = new Date();
    expect(await retentionReport(now)).toEqual({
      asOf: now.toISOString(),
      customers: 2,
      active: 2,
      lapsed: 0,
      lapsedLast12Months: 0,
      reactivatedLast12Months: 0,
      valueAtRisk: usd(0),
      byReason: {},
    });
    // Before the customers were enrolled: nobody.
    expect(await retentionReport(daysAgo(11))).toMatchObject({ customers: 0, active: 0 });
  });
});
