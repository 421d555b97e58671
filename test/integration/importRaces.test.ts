/**
 * Imports under pressure, through the real HTTP server on DynamoDB Local: a history longer
 * than a transaction holds, imports racing each other and single purchases, the
 * Idempotency-Key's in-flight mark, the 1 MiB body limit, roles, and hostile items.
 * Every instant is relative to Date.now().
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

let t: TestApi;
let storeId: string;
let n = 0;
const DAY = 86_400_000;
const MIB = 1024 * 1024;
const usd = (amount: number) => ({ amount, currency: 'USD' });
/** An instant `days` (may be fractional) before now. */
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const nextKey = () => `race-${++n}-${Math.random().toString(36).slice(2)}`;

type Res = Awaited<ReturnType<TestApi['call']>>;

const importing = (
  kind: 'customers' | 'purchases',
  items: unknown[],
  key = nextKey(),
  apiKey?: string,
): Promise<Res> =>
  t.call('POST', `/v1/imports/${kind}`, {
    body: { items },
    headers: { 'idempotency-key': key },
    ...(apiKey !== undefined && { key: apiKey }),
  });

/** `count` new customers, by import; their ids in order. */
async function newCustomers(count: number, prefix: string): Promise<string[]> {
  const res = await importing(
    'customers',
    Array.from({ length: count }, (_, i) => ({ externalId: `${prefix}-${i}` })),
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.created).toBe(count);
  return res.body.createdCustomers
    .sort((a: any, b: any) => a.index - b.index)
    .map((c: any) => c.customerId);
}

const purchase = (customerId: string, receiptId: string, daysAgo: number, amount: number) => ({
  customerId,
  storeId,
  receiptId,
  occurredAt: ago(daysAgo),
  total: usd(amount),
});

/** A deterministic shuffle (so a failure replays). */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const getCustomer = async (id: string) => {
  const res = await t.call('GET', `/v1/customers/${id}`);
  expect(res.status).toBe(200);
  return res.body;
};

/** The customer's earn entries: each with a purchaseId, none twice. */
async function earnEntries(customerId: string): Promise<any[]> {
  const ledger = await wholeLedger(t, customerId);
  const earns = ledger.filter((e) => e.type === 'earn');
  for (const e of earns) expect(e.purchaseId).toMatch(/^pur_/);
  expect(new Set(earns.map((e) => e.purchaseId)).size).toBe(earns.length);
  return earns;
}

/** Ledger entries are versions 1..N of the customer, in order, and the customer is at N. */
async function expectVersionsContiguous(customerId: string, entries: number): Promise<void> {
  const items: Record<string, any>[] = [];
  let start: Record<string, any> | undefined;
  do {
    const page = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': `CUS#${customerId}` },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const versions = items
    .filter((i) => String(i.SK).startsWith('LEDGER#'))
    .map((i) => Number(String(i.SK).slice('LEDGER#'.length)));
  expect(versions).toEqual(Array.from({ length: entries }, (_, i) => i + 1));
  expect(items.find((i) => i.SK === 'PROFILE')?.version).toBe(entries);
}

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Race street' } })).body.id;
  expect((await t.call('PUT', '/v1/program', { body: defaultProgram })).status).toBe(200);
});
afterAll(() => t.api.stop());

describe('a history longer than one transaction holds', () => {
  it('imports 150 purchases of one customer over several transactions, as 150 single purchases would', async () => {
    const [customerId, referenceId] = (await newCustomers(2, 'long')) as [string, string];
    // Every 2 days from 299 days ago, amounts 5..55 USD: crosses into silver and gold.
    const history = Array.from({ length: 150 }, (_, i) => ({
      daysAgo: 299 - 2 * i,
      amount: 500 + ((i * 7919) % 5000),
    }));
    const items = shuffled(
      history.map((h, i) => purchase(customerId, `long-${i}`, h.daysAgo, h.amount)),
      1,
    );
    let transactions = 0;
    const stop = onDynamoCall((command) => {
      if (command === 'TransactWriteItemsCommand') transactions++;
    });
    let res: Res;
    try {
      res = await importing('purchases', items);
    } finally {
      stop();
    }
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ imported: 150, duplicates: 0, errors: [] });
    // 150 purchases are some 450 items: at least 5 transactions of at most 100.
    expect(transactions).toBeGreaterThanOrEqual(5);

    const customer = await getCustomer(customerId);
    expect(customer.cadence.purchases).toBe(150);
    await expectBalanceEqualsLedger(t, customerId);
    const ledger = await wholeLedger(t, customerId);
    expect(ledger).toHaveLength(150);
    const earns = await earnEntries(customerId);
    expect(earns).toHaveLength(150);
    const earned = earns.reduce((s, e) => s + e.points, 0);
    expect(earned).toBeGreaterThan(0);
    expect(customer.points.available).toBe(earned);
    expect(customer.points.lifetimeEarned).toBe(earned);
    await expectVersionsContiguous(customerId, 150);

    // The same purchases recorded one at a time, in occurredAt order, on another customer.
    for (const [i, h] of history.entries()) {
      const one = await t.call('POST', '/v1/purchases', {
        body: purchase(referenceId, `ref-${i}`, h.daysAgo, h.amount),
        headers: { 'idempotency-key': nextKey() },
      });
      expect(one.status, JSON.stringify(one.body)).toBe(201);
    }
    const reference = await getCustomer(referenceId);
    // Entry by entry (oldest first): the same points by the same sources, the same balance.
    const referenceEarns = await earnEntries(referenceId);
    const summary = (e: any, i: number) => ({
      i,
      occurred: history[i],
      points: e.points,
      balanceAfter: e.balanceAfter,
      breakdown: e.breakdown,
    });
    expect([...earns].reverse().map(summary)).toEqual([...referenceEarns].reverse().map(summary));
    expect(customer.points).toEqual(reference.points);
    expect(customer.tier).toEqual(reference.tier);
    expect(customer.qualifyingSpend).toEqual(reference.qualifyingSpend);
  }, 120_000);
});

describe('imports racing each other', () => {
  it('applies each of 200 purchases once when the same items arrive in three concurrent shapes', async () => {
    const customers = await newCustomers(20, 'race');
    const items = customers.flatMap((c, ci) =>
      Array.from({ length: 10 }, (_, k) =>
        purchase(c, `race-${ci}-${k}`, 50 - 4 * k, 1_000 + 100 * ci + k),
      ),
    );
    const mixed = shuffled(items, 2);
    const bodies = [
      items,
      [...items].reverse(),
      mixed.slice(0, 100),
      mixed.slice(100),
      mixed.filter((_, i) => i % 2 === 0),
      mixed.filter((_, i) => i % 2 === 1),
    ];
    const answers = await Promise.all(bodies.map((b) => importing('purchases', b)));
    for (const [i, a] of answers.entries()) {
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(a.body.errors, `answer ${i}`).toEqual([]);
      expect(a.body.imported + a.body.duplicates, `answer ${i}`).toBe(bodies[i]?.length);
    }
    expect(answers.reduce((s, a) => s + a.body.imported, 0)).toBe(200);

    // Points as one application: the same purchases, one at a time, on fresh customers.
    const references = await newCustomers(20, 'race-ref');
    for (const [ci, c] of customers.entries()) {
      const earns = await earnEntries(c);
      expect(earns).toHaveLength(10);
      const customer = await getCustomer(c);
      expect(customer.cadence.purchases).toBe(10);
      await expectBalanceEqualsLedger(t, c);
      await expectVersionsContiguous(c, 10);
      const ref = references[ci] as string;
      for (let k = 0; k < 10; k++) {
        const one = await t.call('POST', '/v1/purchases', {
          body: purchase(ref, `race-ref-${ci}-${k}`, 50 - 4 * k, 1_000 + 100 * ci + k),
          headers: { 'idempotency-key': nextKey() },
        });
        expect(one.status, JSON.stringify(one.body)).toBe(201);
      }
      expect(customer.points).toEqual((await getCustomer(ref)).points);
    }
  }, 180_000);
});

describe('single purchases racing an import', () => {
  it('records 50 imported and 10 concurrent single purchases of one customer, each once', async () => {
    const [customerId] = (await newCustomers(1, 'mixed')) as [string];
    const items = Array.from({ length: 50 }, (_, i) =>
      purchase(customerId, `mixed-imp-${i}`, 60 - i, 700 + 13 * i),
    );
    const singles = Array.from({ length: 10 }, (_, i) =>
      t.call('POST', '/v1/purchases', {
        body: purchase(customerId, `mixed-one-${i}`, 0.01 * (i + 1), 900 + i),
        headers: { 'idempotency-key': nextKey() },
      }),
    );
    const [imported, ...ones] = await Promise.all([importing('purchases', items), ...singles]);
    expect(imported?.status, JSON.stringify(imported?.body)).toBe(200);
    expect(imported?.body).toEqual({ imported: 50, duplicates: 0, errors: [] });
    for (const one of ones) expect(one.status, JSON.stringify(one.body)).toBe(201);

    const customer = await getCustomer(customerId);
    expect(customer.cadence.purchases).toBe(60);
    const earns = await earnEntries(customerId);
    expect(earns).toHaveLength(60);
    const singleIds = new Set(ones.map((o) => o.body.id));
    expect(earns.filter((e) => singleIds.has(e.purchaseId))).toHaveLength(10);
    expect(customer.points.lifetimeEarned).toBe(earns.reduce((s, e) => s + e.points, 0));
    await expectBalanceEqualsLedger(t, customerId);
    await expectVersionsContiguous(customerId, 60);
  }, 120_000);
});

describe('the Idempotency-Key of a batch', () => {
  it('replays the answer of the same key and body, and refuses the key with another body', async () => {
    const [customerId] = (await newCustomers(1, 'idem')) as [string];
    const items = Array.from({ length: 5 }, (_, i) =>
      purchase(customerId, `idem-${i}`, 10 - i, 2_000),
    );
    const key = nextKey();
    const first = await importing('purchases', items, key);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ imported: 5, duplicates: 0, errors: [] });
    expect(first.headers.get('idempotent-replayed')).not.toBe('true');
    const after = await getCustomer(customerId);

    const second = await importing('purchases', items, key);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    const replayedAfter = await getCustomer(customerId);
    expect(replayedAfter.points).toEqual(after.points);
    expect(replayedAfter.cadence.purchases).toBe(5);
    expect(await earnEntries(customerId)).toHaveLength(5);

    const other = await importing('purchases', items.slice(1), key);
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
    expect(other.body.code).toBe('idempotency-key-reused');

    // The same body under a new key is a new batch: every receipt a duplicate.
    const fresh = await importing('purchases', items);
    expect(fresh.body).toEqual({ imported: 0, duplicates: 5, errors: [] });
    expect(fresh.headers.get('idempotent-replayed')).not.toBe('true');
    expect((await getCustomer(customerId)).points).toEqual(after.points);
  });

  it('answers 409 idempotency-key-in-use to the same key while its batch runs, then replays it', async () => {
    const customers = await newCustomers(50, 'busy');
    const items = customers.flatMap((c, ci) =>
      Array.from({ length: 10 }, (_, k) => purchase(c, `busy-${ci}-${k}`, 20 - k, 1_500 + k)),
    );
    const key = nextKey();
    const first = importing('purchases', items, key);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [a, b] = await Promise.all([first, importing('purchases', items, key)]);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body).toEqual({ imported: 500, duplicates: 0, errors: [] });
    if (b.status === 409) {
      expect(b.headers.get('content-type')).toBe('application/problem+json');
      expect(b.body.code).toBe('idempotency-key-in-use');
      expect(Number(b.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } else {
      // Only if the batch was done before the second request marked the key.
      expect(b.status).toBe(200);
      expect(b.headers.get('idempotent-replayed')).toBe('true');
      expect(b.body).toEqual(a.body);
    }
    const again = await importing('purchases', items, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(a.body);
    for (const c of customers) {
      expect((await getCustomer(c)).cadence.purchases).toBe(10);
    }
    await expectBalanceEqualsLedger(t, customers[0] as string);
  }, 120_000);

  it('answers one of two simultaneous requests with the same key 409, and applies the batch once', async () => {
    const customers = await newCustomers(50, 'twin');
    const items = customers.flatMap((c, ci) =>
      Array.from({ length: 10 }, (_, k) => purchase(c, `twin-${ci}-${k}`, 20 - k, 1_500 + k)),
    );
    const key = nextKey();
    const answers = await Promise.all([
      importing('purchases', items, key),
      importing('purchases', items, key),
    ]);
    const statuses = answers.map((a) => a.status).sort();
    const fresh = answers.filter(
      (a) => a.status === 200 && a.headers.get('idempotent-replayed') !== 'true',
    );
    expect(fresh).toHaveLength(1);
    expect(fresh[0]?.body).toEqual({ imported: 500, duplicates: 0, errors: [] });
    if (statuses[1] === 409) {
      const busy = answers.find((a) => a.status === 409);
      expect(busy?.body.code).toBe('idempotency-key-in-use');
      expect(busy?.headers.get('retry-after')).toMatch(/^\d+$/);
    } else {
      expect(statuses).toEqual([200, 200]);
      const replay = answers.find((a) => a.headers.get('idempotent-replayed') === 'true');
      expect(replay?.body).toEqual(fresh[0]?.body);
    }
    for (const c of customers.slice(0, 5)) {
      expect(await earnEntries(c)).toHaveLength(10);
    }
  }, 120_000);
});

describe('body limits', () => {
  /** Purchases whose receiptIds (past 128 characters) make each invalid, `size` bytes in all. */
  function paddedBody(size: number, customerId: string): string {
    const count = 500;
    const base = (pad: number, i: number) =>
      JSON.stringify({
        customerId,
        storeId,
        receiptId: `${i}-${'r'.repeat(pad)}`,
        occurredAt: ago(1),
        total: usd(100),
      });
    const text = (pads: number[]) => `{"items":[${pads.map((p, i) => base(p, i)).join(',')}]}`;
    const at = (pad: number) => text(Array.from({ length: count }, () => pad));
    const per = Math.floor((size - at(0).length) / count);
    const pads = Array.from({ length: count }, () => per);
    pads[count - 1] = per + (size - at(per).length);
    const body = text(pads);
    expect(Buffer.byteLength(body)).toBe(size);
    return body;
  }

  const rawImport = (rawBody: string) =>
    t.call('POST', '/v1/imports/purchases', {
      rawBody,
      headers: { 'idempotency-key': nextKey() },
    });

  it('takes a ~900 KiB batch and a batch of exactly 1 MiB on the import route (items refused one by one)', async () => {
    const [customerId] = (await newCustomers(1, 'big')) as [string];
    for (const size of [900 * 1024, MIB]) {
      const res = await rawImport(paddedBody(size, customerId));
      expect(res.status, `${size} bytes: ${JSON.stringify(res.body).slice(0, 300)}`).toBe(200);
      expect(res.body.imported).toBe(0);
      expect(res.body.errors).toHaveLength(500);
      for (const [i, e] of res.body.errors.entries()) {
        expect(e).toMatchObject({ index: i, code: 'validation-failed' });
        expect(e.detail).toContain('receiptId');
      }
    }
    expect((await getCustomer(customerId)).cadence.purchases).toBe(0);
  }, 60_000);

  it('refuses 1 MiB + 1 on the import routes and 70 KiB on POST /v1/purchases with 413 problem+json', async () => {
    const [customerId] = (await newCustomers(1, 'toobig')) as [string];
    const over = await rawImport(paddedBody(MIB + 1, customerId));
    expect(over.status).toBe(413);
    expect(over.headers.get('content-type')).toBe('application/problem+json');
    expect(over.body).toMatchObject({ status: 413, code: 'payload-too-large' });

    const customersOver = await t.call('POST', '/v1/imports/customers', {
      rawBody: `{"items":[{"externalId":"x","name":"${'n'.repeat(MIB)}"}]}`,
      headers: { 'idempotency-key': nextKey() },
    });
    expect(customersOver.status).toBe(413);
    expect(customersOver.body.code).toBe('payload-too-large');

    const single = await t.call('POST', '/v1/purchases', {
      rawBody: JSON.stringify({
        ...purchase(customerId, 'p'.repeat(70 * 1024), 0, 100),
      }),
      headers: { 'idempotency-key': nextKey() },
    });
    expect(single.status).toBe(413);
    expect(single.headers.get('content-type')).toBe('application/problem+json');
    expect(single.body.code).toBe('payload-too-large');
    expect((await getCustomer(customerId)).cadence.purchases).toBe(0);
  });
});

describe('roles', () => {
  it('answers 403 to a pos key on both import routes, importing nothing', async () => {
    const pos = await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } });
    expect(pos.status).toBe(201);
    const [customerId] = (await newCustomers(1, 'pos')) as [string];
    const customers = await importing(
      'customers',
      [{ externalId: 'pos-new' }],
      nextKey(),
      pos.body.key,
    );
    expect(customers.status).toBe(403);
    expect(customers.body.code).toBe('forbidden');
    const purchases = await importing(
      'purchases',
      [purchase(customerId, 'pos-1', 1, 1_000)],
      nextKey(),
      pos.body.key,
    );
    expect(purchases.status).toBe(403);
    expect(purchases.body.code).toBe('forbidden');
    expect((await t.call('GET', '/v1/customers?externalId=pos-new')).status).toBe(404);
    expect((await getCustomer(customerId)).cadence.purchases).toBe(0);
  });
});

describe('hostile items', () => {
  /** An object nested `levels` deep; with the body and the items array, 2 + levels in all. */
  const nested = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = { a: v };
    return v;
  };
  const PROTO = '"@@PROTO@@"';
  const withProto = (items: unknown[]) =>
    JSON.stringify({ items }).replace(PROTO, '{"__proto__":{"polluted":true},"constructor":{}}');

  it('reports each hostile purchase item by index, imports the good one, and never fails as a whole', async () => {
    const [customerId] = (await newCustomers(1, 'hostile')) as [string];
    const good = purchase(customerId, 'hostile-good', 1, 1_000);
    const cases: [unknown, string][] = [
      [null, 'validation-failed'],
      [42, 'validation-failed'],
      ['a string', 'validation-failed'],
      [nested(30), 'validation-failed'],
      [[], 'validation-failed'],
      [[good], 'validation-failed'],
      [
        { ...good, receiptId: 'h-1', total: { amount: 1e300, currency: 'USD' } },
        'validation-failed',
      ],
      [
        { ...good, receiptId: 'h-2', total: { amount: -1e300, currency: 'USD' } },
        'validation-failed',
      ],
      [{ ...good, receiptId: 'x'.repeat(10_000) }, 'validation-failed'],
      [{ ...good, receiptId: 'h-3', customerId: 'c'.repeat(200) }, 'validation-failed'],
      [{ ...good, receiptId: 'h-4', customerId: 'cus_01ARZ3NDEKTSV4RRFFQ69G5FAV' }, 'not-found'],
      [{ ...good, receiptId: 'h-5', storeId: 'sto_01ARZ3NDEKTSV4RRFFQ69G5FAV' }, 'not-found'],
      [{ ...good, receiptId: 'h-6', occurredAt: 1e300 }, 'validation-failed'],
      [
        { ...good, receiptId: 'h-7', occurredAt: '+275760-09-13T00:00:00.000Z' },
        'validation-failed',
      ],
      [
        {
          ...good,
          receiptId: 'h-8',
          lines: [{ sku: 'A', quantity: 1e300, unitPrice: usd(1) }],
        },
        'validation-failed',
      ],
      [{ ...good, receiptId: 'h-9', lines: [null, 7, nested(26)] }, 'validation-failed'],
      [{}, 'validation-failed'],
      [PROTO, 'validation-failed'],
      [good, 'imported'],
    ];
    const res = await t.call('POST', '/v1/imports/purchases', {
      rawBody: withProto(cases.map(([item]) => item)),
      headers: { 'idempotency-key': nextKey() },
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.imported).toBe(1);
    expect(res.body.duplicates).toBe(0);
    expect(res.body.errors.map((e: any) => [e.index, e.code])).toEqual(
      cases.flatMap(([, code], index) => (code === 'imported' ? [] : [[index, code]])),
    );
    for (const e of res.body.errors) expect(typeof e.detail).toBe('string');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const customer = await getCustomer(customerId);
    expect(customer.cadence.purchases).toBe(1);
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('reports each hostile customer item by index and creates the good one', async () => {
    const cases: [unknown, string][] = [
      [null, 'validation-failed'],
      [1e300, 'validation-failed'],
      ['a string', 'validation-failed'],
      [nested(30), 'validation-failed'],
      [[{ externalId: 'in-array' }], 'validation-failed'],
      [{ externalId: 'h-huge', openingPoints: 1e300 }, 'validation-failed'],
      [{ externalId: 'h-neg', openingPoints: -1 }, 'validation-failed'],
      [{ externalId: 'x'.repeat(10_000) }, 'validation-failed'],
      [{ email: 1e300 }, 'validation-failed'],
      [{ phone: '+1'.padEnd(200, '5') }, 'validation-failed'],
      [{ name: 'no identifier' }, 'validation-failed'],
      [{ externalId: 'h-birth', birthDate: '0000-02-30' }, 'validation-failed'],
      [PROTO, 'validation-failed'],
      [{ externalId: 'h-good', openingPoints: 10 }, 'created'],
    ];
    const res = await t.call('POST', '/v1/imports/customers', {
      rawBody: withProto(cases.map(([item]) => item)),
      headers: { 'idempotency-key': nextKey() },
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.created).toBe(1);
    expect(res.body.createdCustomers.map((c: any) => c.index)).toEqual([cases.length - 1]);
    expect(res.body.existing).toEqual([]);
    expect(res.body.errors.map((e: any) => [e.index, e.code])).toEqual(
      cases.flatMap(([, code], index) => (code === 'created' ? [] : [[index, code]])),
    );
    const created = await getCustomer(res.body.createdCustomers[0].customerId);
    expect(created.points.available).toBe(10);
  });
});
