import { randomUUID } from 'node:crypto';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelParams } from '../../lib/domain/model.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { DUE_SHARDS, keys } from '../../lib/store/keys.ts';
import { putModel } from '../../lib/store/model.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { eraseCustomer, mergeCustomers } from '../../lib/usecases/dataRights.ts';
import { listLapsedCustomers, recordLapseReason, runLapseScan } from '../../lib/usecases/lapse.ts';
import { refreshLapsedScores } from '../../lib/usecases/lapsedScores.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase, refundPurchase } from '../../lib/usecases/purchases.ts';
import { writeLapsedCustomers } from '../bench/lapsedList.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/**
 * The lapsed list's two sorted orders (by value at risk, by churnRisk) as stored index
 * keys: their order across pages as customers change, what a page reads, and the daily
 * refresh that rescores them (usecases/lapsedScores.ts). Purchases are placed whole days
 * before a day 200 days ago (and a half), so the gaps are whole days at any hour and every
 * customer has lapsed by now.
 */
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
const lastPurchase = () => Date.now() - 200.5 * DAY;
type Sort = 'valueAtRisk' | 'churnRisk';

/** A model trusted (MODEL_TRUST): the published CDNOW fit, in weeks. */
const TRUSTED: ModelParams = {
  r: 0.243,
  alpha: 4.414,
  a: 0.793,
  b: 2.426,
  logLikelihood: -9582.4,
  customers: 2357,
  repeatCustomers: 1000,
  historyDays: 540,
  fittedAt: new Date().toISOString(),
};

let storeId: string;
let n = 0;

async function regular(daysAgo: number[], amount: number) {
  const id = (await enrolCustomer({ externalId: `uc-lo-${++n}` })).id;
  const purchases: string[] = [];
  for (const d of daysAgo) {
    const occurredAt = new Date(lastPurchase() - d * DAY).toISOString();
    const answer = await recordPurchase(
      admin,
      { customerId: id, storeId, total: usd(amount), occurredAt },
      key(),
    );
    purchases.push(answer.value.id);
  }
  return { id, purchases };
}

/** The whole list in one sorted order, `limit` a page, checking each page's size. */
async function listed(sort: Sort, limit = 2) {
  const all: any[] = [];
  let cursor: string | undefined;
  do {
    const page = await listLapsedCustomers({ limit, sort, ...(cursor && { cursor }) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/** The score a sort ranks by, as the list shows it (churnRisk none: last). */
const scoreOf = (sort: Sort, c: any): number =>
  sort === 'valueAtRisk' ? c.valueAtRisk.amount : (c.churnRisk ?? -1);

/** The ids in the order the shown figures give: highest first, ties by id. */
const byFigures = (sort: Sort, items: any[]) =>
  [...items]
    .sort((x, y) => scoreOf(sort, y) - scoreOf(sort, x) || (x.customerId < y.customerId ? -1 : 1))
    .map((c) => c.customerId);

/** Both orders listed, each checked against its figures; the customers listed. */
async function bothOrders() {
  const orders = {} as Record<Sort, any[]>;
  for (const sort of ['valueAtRisk', 'churnRisk'] as const) {
    const items = await listed(sort);
    expect(new Set(items.map((c) => c.customerId)).size).toBe(items.length);
    expect(items.map((c) => c.customerId)).toEqual(byFigures(sort, items));
    orders[sort] = items;
  }
  expect(new Set(orders.churnRisk.map((c) => c.customerId))).toEqual(
    new Set(orders.valueAtRisk.map((c) => c.customerId)),
  );
  return orders;
}

const ids = (items: any[]) => items.map((c) => c.customerId);

/** What `run` returns, and the customers whose items it updated (in order). */
async function updating<T>(run: () => Promise<T>): Promise<{ result: T; customers: string[] }> {
  const customers: string[] = [];
  const stop = onDynamoCall((command, input: any) => {
    if (command === 'UpdateItemCommand' && input?.Key?.SK === 'PROFILE') {
      customers.push(keys.customerIdOf(input.Key.PK));
    }
  });
  try {
    return { result: await run(), customers };
  } finally {
    stop();
  }
}

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'High street')).id;
  await putModel(TRUSTED);
});

describe('the lapsed list sorted by value at risk or churnRisk', () => {
  it('orders by the scores across pages, and a refund, a purchase, an erase or a merge moves the customer in the next listing', async () => {
    // Different spends and rhythms: the two orders differ from each other and from lapsedAt.
    const a = await regular([20, 10, 0], 1_000);
    const b = await regular([60, 30, 0], 5_000);
    const c = await regular([9, 6, 3, 0], 2_000);
    const d = await regular([90, 45, 0], 8_000);
    const e = await regular([30, 20, 10, 0], 3_000);
    const f = await regular([40, 20, 0], 500);
    const g = await regular([12, 8, 4, 0], 4_000);
    expect((await runLapseScan(new Date())).flagged).toBe(7);

    const before = await bothOrders();
    const all = [a, b, c, d, e, f, g].map((x) => x.id);
    expect(new Set(ids(before.valueAtRisk))).toEqual(new Set(all));
    // The scores differ: the order is theirs, not the ids'.
    expect(ids(before.valueAtRisk)).not.toEqual([...all].sort());
    expect(ids(before.churnRisk)).not.toEqual(ids(before.valueAtRisk));
    expect(ids(before.valueAtRisk)[0]).toBe(d.id); // 24,000 a year, the most

    // A refund of most of d's spend: d moves down the value order, not the churn order.
    for (const p of d.purchases) await refundPurchase(admin, p, { amount: usd(7_900) }, key());
    const refunded = await bothOrders();
    expect(refunded.valueAtRisk.find((x) => x.customerId === d.id).annualSpend).toEqual(usd(300));
    expect(ids(refunded.valueAtRisk).at(-1)).toBe(d.id);
    expect(ids(refunded.churnRisk)).toEqual(ids(before.churnRisk));

    // A lapse reason changes no score: the same places.
    await recordLapseReason(c.id, { reason: 'price' });
    const reasoned = await bothOrders();
    expect(ids(reasoned.valueAtRisk)).toEqual(ids(refunded.valueAtRisk));

    // b buys again (active), e is erased, f is merged into a new customer: all three leave.
    await recordPurchase(admin, { customerId: b.id, storeId, total: usd(1_000) }, key());
    await eraseCustomer(e.id, key());
    const survivor = (await enrolCustomer({ externalId: `uc-lo-${++n}` })).id;
    await mergeCustomers(survivor, f.id, key());
    const after = await bothOrders();
    const left = [a, c, d, g].map((x) => x.id);
    expect(new Set(ids(after.valueAtRisk))).toEqual(new Set(left));
    expect(ids(after.valueAtRisk)).toEqual(
      ids(refunded.valueAtRisk).filter((id) => left.includes(id)),
    );
    expect(ids(after.churnRisk)).toEqual(ids(before.churnRisk).filter((id) => left.includes(id)));
  });

  it('reads at most 4 x (limit + 1) index items a page, as many with 400 lapsed as with 100', async () => {
    const reads = async (sort: Sort) => {
      await listLapsedCustomers({ limit: 10, sort }); // the program and the model cached
      let queries = 0;
      let items = 0;
      let others = 0;
      const stop = onDynamoCall((command, _input, output: any) => {
        if (command === 'QueryCommand') {
          queries++;
          items += output?.ScannedCount ?? 0;
        } else others++;
      });
      try {
        const page = await listLapsedCustomers({ limit: 10, sort });
        expect(page.items).toHaveLength(10);
        expect(page.nextCursor).not.toBeNull();
        // The second page costs the same.
        await listLapsedCustomers({ limit: 10, sort, cursor: page.nextCursor as string });
      } finally {
        stop();
      }
      return { queries, items, others };
    };
    await writeLapsedCustomers(100 - (await listed('valueAtRisk', 100)).length);
    const small = { value: await reads('valueAtRisk'), churn: await reads('churnRisk') };
    await writeLapsedCustomers(300);
    expect(await listed('valueAtRisk', 100)).toHaveLength(400);
    const large = { value: await reads('valueAtRisk'), churn: await reads('churnRisk') };

    // One Query per shard a page, each of at most limit + 1 items; nothing else read.
    for (const r of [small.value, small.churn, large.value, large.churn]) {
      expect(r.queries).toBe(2 * DUE_SHARDS);
      expect(r.items).toBeLessThanOrEqual(2 * DUE_SHARDS * 11);
      expect(r.others).toBe(0);
    }
    expect(large.value.items).toBe(2 * DUE_SHARDS * 11);
    expect(large.churn.items).toBe(2 * DUE_SHARDS * 11);
  });
});

describe('refreshLapsedScores', () => {
  it('scores the customers lapsed before the sorted orders existed, and rescores all after a model change', async () => {
    const everyone = await listed('valueAtRisk', 100);
    // Five customers as stored before the sorted orders: no keys, and no refresh done yet.
    const old = everyone.slice(0, 5).map((c) => c.customerId);
    for (const id of old) {
      await db().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: keys.customer(id),
          UpdateExpression: 'REMOVE lapsedValue, GSI1PK, GSI1SK',
        }),
      );
    }
    await db().send(new DeleteCommand({ TableName: tableName(), Key: keys.lapsedScoresState() }));
    for (const sort of ['valueAtRisk', 'churnRisk'] as const) {
      const shown = ids(await listed(sort, 100));
      expect(shown).toHaveLength(everyone.length - 5);
      expect(shown.some((id) => old.includes(id))).toBe(false);
    }

    // Out of time before its first write: nothing scored, the walk left to the next run.
    expect(await refreshLapsedScores({ deadline: Date.now() - 1 })).toBe(false);
    expect((await storedItem(keys.customer(old[0] as string)))?.lapsedValue).toBeUndefined();
    expect(await storedItem(keys.lapsedScoresState())).toMatchObject({ done: false });

    // The walk writes the five only: the others' keys are already today's.
    const scored = await updating(() => refreshLapsedScores());
    expect(scored.result).toBe(true);
    expect(new Set(scored.customers)).toEqual(new Set(old));
    expect(scored.customers).toHaveLength(5);
    const orders = await bothOrders();
    expect(ids(orders.valueAtRisk)).toEqual(ids(everyone));

    // Done for this model and day: the next run writes nothing.
    expect(await updating(() => refreshLapsedScores())).toEqual({ result: true, customers: [] });

    // A model that says the opposite of CDNOW's about who is alive: after the refresh,
    // each order is that of the new figures again (bothOrders checks), and has changed.
    await putModel({ ...TRUSTED, r: 2.5, alpha: 1.2, a: 0.2, b: 6 });
    expect(await refreshLapsedScores()).toBe(true);
    const refitted = await bothOrders();
    expect(ids(refitted.churnRisk)).not.toEqual(ids(orders.churnRisk));
  }, 120_000);

  it('goes on where a run stopped, rescoring each customer once', async () => {
    const lapsed = ids(await listed('valueAtRisk', 100));
    expect(lapsed.length).toBeGreaterThan(300); // four pages of the walk or more
    await putModel({ ...TRUSTED, r: 1.1, alpha: 3, a: 0.5, b: 3 });
    let checks = 0;
    // Stopped before the second page's writes.
    const first = await updating(() => refreshLapsedScores({ shouldStop: () => ++checks > 1 }));
    expect(first.result).toBe(false);
    expect(first.customers.length).toBeGreaterThan(0);
    expect(first.customers.length).toBeLessThanOrEqual(100);
    expect(await storedItem(keys.lapsedScoresState())).toMatchObject({
      done: false,
      position: expect.any(Object),
    });
    const rest = await updating(() => refreshLapsedScores());
    expect(rest.result).toBe(true);
    expect(rest.customers.some((id) => first.customers.includes(id))).toBe(false);
    expect(new Set([...first.customers, ...rest.customers]).size).toBe(
      first.customers.length + rest.customers.length,
    );
    // Every lapsed customer's figures moved with the model: each rewritten, in order again.
    expect(first.customers.length + rest.customers.length).toBe(lapsed.length);
    await bothOrders();
  }, 120_000);

  it('starts over, not where it stopped, when the model changed in between', async () => {
    const lapsed = ids(await listed('valueAtRisk', 100));
    await putModel({ ...TRUSTED, r: 0.9, alpha: 5, a: 0.7, b: 2 });
    let checks = 0;
    const first = await updating(() => refreshLapsedScores({ shouldStop: () => ++checks > 1 }));
    expect(first.result).toBe(false);
    expect(first.customers.length).toBeGreaterThan(0);
    // A refit before the walk went on: those scored by the model before are scored again.
    await putModel({ ...TRUSTED, r: 1.3, alpha: 2.5, a: 0.6, b: 2.8 });
    const again = await updating(() => refreshLapsedScores());
    expect(again.result).toBe(true);
    expect(first.customers.every((id) => again.customers.includes(id))).toBe(true);
    expect(new Set(again.customers).size).toBe(lapsed.length);
    await bothOrders();
  }, 120_000);
});
