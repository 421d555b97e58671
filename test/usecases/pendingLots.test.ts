import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerState } from '../../lib/domain/customer.ts';
import { MAX_PENDING_LOTS } from '../../lib/domain/lots.ts';
import { availableAtFor } from '../../lib/domain/points.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram } from '../../lib/domain/program.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { customerItem, getCustomerConsistent } from '../../lib/store/customers.ts';
import { keys } from '../../lib/store/keys.ts';
import { forgetCachedProgram, putProgram } from '../../lib/store/program.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { importPurchases } from '../../lib/usecases/importPurchases.ts';
import { runJob } from '../../lib/usecases/jobs.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase, refundPurchase } from '../../lib/usecases/purchases.ts';
import { itemSize, numberSize } from '../bench/itemSize.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/**
 * A busy account (a house account, a B2B buyer) with pendingDays set, on DynamoDB Local.
 * Before pending lots were bounded, each purchase added a lot keyed by its own
 * availableAt, and past ~15,000 of them the customer item passed DynamoDB's 400 KB: from
 * then on every write to the customer failed (a 500).
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
const DAY = 86_400_000;
const PENDING_DAYS = 30;
/** The customer item's ceiling the domain's property test proves (test/unit/pendingLots.test.ts). */
const CEILING = 32 * 1024;
/** DynamoDB's item limit. */
const ITEM_LIMIT = 400 * 1024;

let storeId: string;
let n = 0;

beforeAll(async () => {
  await startTestTable();
  await putProgram({ ...defaultProgram, pendingDays: PENDING_DAYS });
  forgetCachedProgram();
  storeId = (await createPlace('store', 'House accounts')).id;
});

afterAll(() => forgetCachedProgram());

async function enrol(): Promise<CustomerState> {
  const id = (await enrolCustomer({ externalId: `house-${++n}-${randomUUID()}` })).id;
  return (await getCustomerConsistent(id)) as CustomerState;
}

/** The customer item as stored (the store's own item, read raw). */
const storedCustomer = async (id: string) =>
  (await storedItem(keys.customer(id))) as Record<string, unknown>;

/** Writes the customer item as the store writes it (its version as read). */
const store = (c: CustomerState) =>
  db().send(new PutCommand({ TableName: tableName(), Item: customerItem(c) }));

/** `count` purchases still pending at `now`, a distinct millisecond each over the last 29 days. */
const recentPurchases = (count: number, now: Date, from = 0) =>
  Array.from({ length: count }, (_, i) => {
    const occurredAt = new Date(
      now.getTime() - 29 * DAY + Math.floor(((from + i) * 29 * DAY) / 25_000),
    );
    return { occurredAt, total: usd(100 + ((from + i) % 7) * 100), receiptId: `r-${from + i}` };
  });

/** Single purchase, its refund inside the window, then the activate-pending job: all succeed. */
async function writesStillSucceed(id: string, now: Date) {
  const before = await storedCustomer(id);
  const bought = (
    await recordPurchase(admin, { customerId: id, storeId, total: usd(1000) }, key(), () => now)
  ).value;
  expect(bought).toMatchObject({ pointsStatus: 'pending' });
  expect(bought.pointsEarned).toBeGreaterThan(0);
  const availableAt = Date.parse(bought.availableAt as string);
  // Never before occurredAt + pendingDays, at most a day after it.
  expect(availableAt).toBeGreaterThanOrEqual(now.getTime() + PENDING_DAYS * DAY);
  expect(availableAt).toBeLessThanOrEqual(now.getTime() + (PENDING_DAYS + 1) * DAY);
  const refund = (await refundPurchase(admin, bought.id, { amount: usd(1000) }, key(), () => now))
    .value;
  expect(refund.pointsReversed).toBe(bought.pointsEarned);
  // From pending, where the purchase's points were.
  expect(refund.customer.points).toMatchObject({ available: 0, pending: before.pending });

  const item = await storedCustomer(id);
  expect(Object.keys(item.pendingLots as object).length).toBeLessThanOrEqual(MAX_PENDING_LOTS);
  expect(itemSize(item)).toBeLessThan(CEILING);

  // Everything becomes available once its time has come, and not before.
  const last = Object.keys(item.pendingLots as object)
    .sort()
    .at(-1) as string;
  const early = await runJob('activate-pending', new Date(Date.parse(last) - 1));
  expect(early).toMatchObject({ customers: 1, complete: true });
  expect(await getCustomerConsistent(id)).toMatchObject({
    pendingLots: { [last]: (item.pendingLots as Record<string, number>)[last] },
  });
  expect(await runJob('activate-pending', new Date(last))).toMatchObject({ customers: 1 });
  expect(await getCustomerConsistent(id)).toMatchObject({
    available: before.pending,
    pending: 0,
    pendingLots: {},
  });
}

describe('a customer with 20,000 purchases pending', () => {
  it('keeps its item small, and every write to it still succeeds', {
    timeout: 120_000,
  }, async () => {
    const now = new Date();
    let c = await enrol();
    const program = { ...defaultProgram, pendingDays: PENDING_DAYS };
    // 20,000 purchases applied as POST /v1/purchases applies them (in memory: writing each
    // takes minutes on DynamoDB Local), then the customer written as the store writes it.
    for (const [i, p] of recentPurchases(20_000, now).entries()) {
      const change = new PointsChange(c, program, now).settle();
      change.purchase({
        amount: p.total.amount,
        occurredAt: p.occurredAt,
        availableAt: availableAtFor(p.occurredAt, PENDING_DAYS),
        purchaseId: `pur_seed_${i}`,
      });
      c = change.customer;
    }
    await store(c);
    // 1,000 more through the import (the same steps, 30-odd purchases to a transaction).
    for (let b = 0; b < 2; b++) {
      const items = recentPurchases(500, now, 20_000 + b * 500).map((p) => ({
        ...p,
        occurredAt: p.occurredAt.toISOString(),
        customerId: c.id,
        storeId,
      }));
      const answer = await importPurchases(admin, items, key(), () => now);
      expect(answer.value, `batch ${b}`).toMatchObject({ imported: 500, errors: [] });
    }
    const item = await storedCustomer(c.id);
    expect(item).toMatchObject({ purchases: 21_000, available: 0, pending: item.lifetimeEarned });
    await writesStillSucceed(c.id, now);
  });

  it('a customer stored with 15,000 pending lots, at the 400 KB limit, can be written again', async () => {
    const now = new Date();
    const c = await enrol();
    // As stored before the bound: one lot per purchase, by its availableAt, up to 60 bytes
    // short of the limit (the next purchase's lot and cadence did not fit).
    const pendingLots: Record<string, number> = {};
    let lots = 0;
    const base = { ...c, purchases: 0, pending: 0, lifetimeEarned: 0, pendingLots };
    let size = itemSize(customerItem(base));
    for (;;) {
      const at = new Date(now.getTime() + DAY + lots * 137_000).toISOString();
      const points = 1 + (lots % 9);
      const lotSize = at.length + numberSize(String(points)) + 1;
      if (size + lotSize > ITEM_LIMIT - 60) break;
      pendingLots[at] = points;
      size += lotSize;
      lots += 1;
    }
    const pending = Object.values(pendingLots).reduce((a, b) => a + b, 0);
    const legacy = { ...base, purchases: lots, pending, lifetimeEarned: pending };
    expect(itemSize(customerItem(legacy))).toBeGreaterThan(ITEM_LIMIT - 100);
    expect(itemSize(customerItem(legacy))).toBeLessThanOrEqual(ITEM_LIMIT - 20);
    expect(lots).toBeGreaterThan(14_000);
    await store(legacy);
    await writesStillSucceed(c.id, now);
  });
});
