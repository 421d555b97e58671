import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { lapseDueAt } from '../../lib/domain/cadence.ts';
import type { CustomerState } from '../../lib/domain/customer.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { customerItem, getCustomerConsistent } from '../../lib/store/customers.ts';
import { runJob } from '../../lib/usecases/jobs.ts';
import { runLapseScan } from '../../lib/usecases/lapse.ts';
import {
  buildCustomer,
  DAY,
  type History,
  seedCustomers,
  setLapse,
  statesOf,
  storeItems,
} from '../support/seedCustomers.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The lapse index on DynamoDB Local: the thresholds are not in the lapse index's key,
 * so a change of them (by the merchant, or by calibration) reaches every customer at the
 * next run without a write to those not due; customers stored before the index are moved
 * into it. (Calibration itself: lapseCalibration.test.ts, on a table of its own, since the
 * backtest's sample is the whole table.) Customers are built by the domain code (newCustomer
 * and PointsChange purchases, as the purchase route builds them) and stored with the
 * store's own customerItem (support/seedCustomers.ts).
 */

/** The runs' asOf: now, so the purchase days below are whole days in the past. */
const A = Date.now();

/** Whom the rule flags at `asOf` among `customers` still active (the brute-force answer). */
async function dueUnder(
  customers: CustomerState[],
  lapse: Partial<Program['lapse']>,
  asOf: number,
) {
  const program = { ...defaultProgram, lapse: { ...defaultProgram.lapse, ...lapse } };
  const due: string[] = [];
  for (const c of customers) {
    const now = await getCustomerConsistent(c.id);
    if (now?.status !== 'active') continue;
    const at = lapseDueAt(now.purchases, now.lastPurchaseAt, now.cadence, program);
    if (at !== undefined && at < new Date(asOf).toISOString()) due.push(c.id);
  }
  return due.sort();
}

/** The customers active in `before` and lapsed in `after`. */
const flaggedIds = (before: CustomerState[], after: CustomerState[]) =>
  after
    .filter((c, i) => c.status === 'lapsed' && before[i]?.status === 'active')
    .map((c) => c.id)
    .sort();

beforeAll(async () => {
  await startTestTable();
});

describe('a change of thresholds reaches customers without rewriting them', () => {
  it('flags exactly whom each new rule says, writing only the customers it flags', async () => {
    // 240 customers: gaps of 3 to 60 days, silences of 5 to 200 days.
    const specs: History[] = [];
    for (let i = 0; i < 240; i++) {
      const gap = [3, 7, 10, 14, 21, 30, 45, 60][i % 8] as number;
      const silence = 5 + ((i * 37) % 196);
      specs.push({ days: [silence + 2 * gap, silence + gap, silence] });
    }
    await setLapse({ factor: 2, minDays: 14 });
    const customers = await seedCustomers(specs, A);

    const rules = [
      { factor: 3, minDays: 60 }, // looser: fewer flagged
      { factor: 2, minDays: 14 }, // the default
      { factor: 1.5, minDays: 30 },
      { factor: 1, minDays: 7 }, // tighter: customers not due before are due now
    ];
    let total = 0;
    for (const rule of rules) {
      await setLapse(rule);
      const expected = await dueUnder(customers, rule, A);
      const before = await statesOf(customers);
      const run = await runJob('lapse-scan', new Date(A));
      const after = await statesOf(customers);
      expect(flaggedIds(before, after), JSON.stringify(rule)).toEqual(expected);
      expect(run.customers).toBe(expected.length);
      // Nobody else was written: same versions.
      after.forEach((c, i) => {
        if (!expected.includes(c.id)) expect(c.version).toBe(before[i]?.version);
      });
      total += expected.length;
    }
    // Each rule flagged someone, and the last (tightest) caught those the others left.
    expect(total).toBeGreaterThan(100);
    expect(total).toBeLessThan(240);
  }, 120_000);

  it('a raised minPurchases drops those below it from the index, flagging none', async () => {
    await setLapse({ minPurchases: 2, factor: 2, minDays: 14 });
    const two = await seedCustomers(
      Array.from({ length: 5 }, () => ({ days: [400, 390] })),
      A,
      { ...defaultProgram, lapse: { ...defaultProgram.lapse, minPurchases: 2 } },
    );
    expect(two.every((c) => c.lapseWatch !== undefined)).toBe(true);
    await setLapse({ minPurchases: 3, factor: 2, minDays: 14 });
    expect((await runJob('lapse-scan', new Date(A))).customers).toBe(0);
    for (const c of await statesOf(two)) {
      expect(c.status).toBe('active');
      expect(c.lapseWatch).toBeUndefined();
    }
  });

  it('moves customers stored before the index (LapseDue) into it, and flags the due ones', async () => {
    await setLapse({ minPurchases: 3, factor: 2, minDays: 14 });
    const specs = [
      { days: [60, 50, 40] }, // due since day 20 ago
      { days: [25, 15, 5] }, // due in 15 days
      { days: [300, 200, 100] }, // due in 100 days
    ];
    const legacy = specs.map((s) => buildCustomer(s, A, defaultProgram));
    await storeItems(
      legacy.map((c) => {
        const { lapseWatch: _, ...item } = customerItem(c) as Record<string, unknown>;
        return {
          ...item,
          lapseDueAt: lapseDueAt(c.purchases, c.lastPurchaseAt, c.cadence, defaultProgram),
        };
      }),
    );
    const legacyIndex = () =>
      Promise.all(
        [0, 1, 2, 3].map(async (shard) => {
          const { Items } = await db().send(
            new QueryCommand({
              TableName: tableName(),
              IndexName: 'LapseDue',
              KeyConditionExpression: 'dueShard = :s',
              ExpressionAttributeValues: { ':s': String(shard) },
            }),
          );
          return Items?.length ?? 0;
        }),
      ).then((counts) => counts.reduce((a, b) => a + b, 0));
    expect(await legacyIndex()).toBe(3);

    const run = await runLapseScan(new Date(A));
    expect(run.complete).toBe(true);
    expect(await legacyIndex()).toBe(0);
    const [due, soon, later] = await statesOf(legacy);
    expect(due).toMatchObject({ status: 'lapsed' });
    expect(due?.lapseDueAt).toBeUndefined();
    for (const c of [soon, later]) {
      expect(c?.status).toBe('active');
      expect(c?.lapseDueAt).toBeUndefined();
      expect(c?.lapseWatch).toMatch(/^\d\d#/);
    }
    // Moved, they are found when due.
    expect((await runJob('lapse-scan', new Date(A + 16 * DAY))).customers).toBeGreaterThanOrEqual(
      1,
    );
    expect((await getCustomerConsistent(soon?.id as string))?.status).toBe('lapsed');
  });
});
