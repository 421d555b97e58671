import { randomUUID } from 'node:crypto';
import { DeleteCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { getCustomerConsistent } from '../../lib/store/customers.ts';
import { releaseRollUpLease, takeRollUpLease } from '../../lib/store/reports.ts';
import { adjustPoints } from '../../lib/usecases/adjustments.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { recordLapseReason, runLapseScan } from '../../lib/usecases/lapse.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase, refundPurchase } from '../../lib/usecases/purchases.ts';
import { createRedemptionCode } from '../../lib/usecases/redemptionCodes.ts';
import { authorizeRedemption, captureOrVoidRedemption } from '../../lib/usecases/redemptions.ts';
import { dailyReport, retentionReport, rollUpReports } from '../../lib/usecases/reports.ts';
import { startTestTable } from '../support/table.ts';

/**
 * A table whose customers were stored before the counts by day existed gets them from the
 * roll-up job's backfill: the same rows as counting as it happened gives, from each
 * customer's ledger, purchases and outbox (usecases/backfill.ts). Instants are placed whole
 * days before "yesterday" (a day and a half ago), so the test runs the same at any hour.
 */
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
const yesterday = Date.now() - 1.5 * DAY;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
let storeId: string;
let n = 0;

async function buy(customerId: string, daysAgo: number, amount = 10_000) {
  const occurredAt = new Date(yesterday - daysAgo * DAY).toISOString();
  return (
    await recordPurchase(admin, { customerId, storeId, total: usd(amount), occurredAt }, key())
  ).value;
}

/** Every item of the table (one test file's own table). */
async function allItems(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await db().send(new ScanCommand({ TableName: tableName(), ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** The table as a version before the counts would have left it: no counts, no marks. */
async function forgetCounts(): Promise<void> {
  for (const item of await allItems()) {
    const Key = { PK: item.PK, SK: item.SK };
    const pk = item.PK as string;
    if (pk.startsWith('DAYS#') || pk === 'DAILY' || pk === 'REPORTS') {
      await db().send(new DeleteCommand({ TableName: tableName(), Key }));
    } else if (item.SK === 'PROFILE' && pk.startsWith('CUS#')) {
      await db().send(
        new UpdateCommand({
          TableName: tableName(),
          Key,
          UpdateExpression: 'REMOVE counted, memberSince',
        }),
      );
    }
  }
}

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Main street')).id;
});

describe('the backfill of customers stored before the counts', () => {
  it('gives the rows counting as it happened gave, and counts each customer once', async () => {
    const enrol = async () => (await enrolCustomer({ externalId: `uc-bf-${++n}` })).id;
    // A regular who lapses and gives a reason; one who lapses and comes back; one who
    // redeems, is refunded and adjusted; one whose history starts before they joined.
    const lapses = await enrol();
    for (const d of [60, 50, 40]) await buy(lapses, d, 20_000);
    const returns = await enrol();
    for (const d of [62, 52, 42]) await buy(returns, d, 7_000);
    const busy = await enrol();
    const first = await buy(busy, 20, 50_000);
    await buy(busy, 3, 12_345);
    await refundPurchase(admin, first.id, { amount: usd(10_000) }, key());
    await adjustPoints(busy, { points: 25, reason: 'goodwill' }, key());
    const { code } = await createRedemptionCode(busy);
    const held = await authorizeRedemption(
      { keyId: 'key_pos', role: 'pos', storeId },
      { code, amount: usd(100) },
      key(),
    );
    await captureOrVoidRedemption(admin, held.value.id, 'capture', key());
    const late = await enrol();
    await buy(late, 25, 3_000);
    await runLapseScan(new Date());
    expect((await getCustomerConsistent(lapses))?.status).toBe('lapsed');
    expect((await getCustomerConsistent(returns))?.status).toBe('lapsed');
    await recordLapseReason(lapses, { reason: 'price' });
    await buy(returns, 0, 4_000);
    expect((await getCustomerConsistent(returns))?.status).toBe('active');

    const from = dayOf(yesterday - 70 * DAY);
    const to = dayOf(Date.now() + DAY);
    const counted = (await dailyReport(from, to)).items;
    const retention = await retentionReport(new Date());
    expect(counted.at(-1)).toMatchObject({ customers: 4, lapsed: 1, purchases: 0 });
    expect(counted.reduce((s, r) => s + r.purchases, 0)).toBe(10);

    await forgetCounts();
    expect((await dailyReport(to, to)).items[0]).toMatchObject({ customers: 0 });
    expect((await getCustomerConsistent(late))?.counted).toBeUndefined();
    const run = await rollUpReports(new Date());
    expect(run).toMatchObject({ backfilled: 4, complete: true });
    expect((await getCustomerConsistent(late))?.counted).toBe(true);

    const rebuilt = (await dailyReport(from, to)).items;
    // The value at risk of a lapse that ended is not kept (its spend then is gone): the
    // days between the returning customer's last purchase and return differ there, only there.
    const gone = [dayOf(yesterday - 42 * DAY), dayOf(yesterday)] as [string, string];
    const withoutRisk = (rows: typeof counted) =>
      rows.map(({ valueAtRisk, ...rest }) => ({
        ...rest,
        ...((rest.date < gone[0] || rest.date >= gone[1]) && { valueAtRisk }),
      }));
    expect(withoutRisk(rebuilt)).toEqual(withoutRisk(counted));
    expect(rebuilt.at(-1)?.valueAtRisk).toEqual(counted.at(-1)?.valueAtRisk);
    expect(await retentionReport(new Date())).toMatchObject({
      customers: retention.customers,
      lapsed: retention.lapsed,
      lapsedLast12Months: retention.lapsedLast12Months,
      reactivatedLast12Months: retention.reactivatedLast12Months,
      valueAtRisk: retention.valueAtRisk,
      byReason: retention.byReason,
    });

    // Done once: a second run counts nobody again, and new changes count as they happen.
    expect(await rollUpReports(new Date())).toMatchObject({ backfilled: 0, complete: true });
    await buy(late, 0, 1_000);
    const after = (await dailyReport(to, to)).items[0];
    expect(after?.customers).toBe(4);
    const total = (await dailyReport(from, to)).items.reduce((s, r) => s + r.purchases, 0);
    expect(total).toBe(11);
  });

  it('runs one roll-up at a time: a run that finds another at work does nothing', async () => {
    const other = randomUUID();
    expect(await takeRollUpLease(other, Date.now(), 60_000)).toBe(true);
    expect(await rollUpReports(new Date())).toEqual({
      rolledThrough: null,
      rolledDays: 0,
      backfilled: 0,
      complete: false,
    });
    // A lease that ran out (its run died) does not hold the next run back.
    await releaseRollUpLease(other);
    expect(await takeRollUpLease(other, Date.now() - 120_000, 60_000)).toBe(true);
    expect(await rollUpReports(new Date())).toMatchObject({ complete: true });
    // And a run frees its own lease.
    expect(await takeRollUpLease(randomUUID(), Date.now(), 60_000)).toBe(true);
  });
});
