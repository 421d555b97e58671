import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { prng } from '../bench/workload.ts';
import { startSecondTestApi, startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';
import { snapshot } from '../support/snapshot.ts';

/** Section 11 through the real HTTP server on DynamoDB Local. */
let t: TestApi;
let storeId: string;
let n = 0;
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

const importing = (kind: 'customers' | 'purchases', items: unknown[], key = `imp-${++n}`) =>
  t.call('POST', `/v1/imports/${kind}`, { body: { items }, headers: { 'idempotency-key': key } });

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'High street' } })).body.id;
  expect((await t.call('PUT', '/v1/program', { body: defaultProgram })).status).toBe(200);
});
afterAll(() => t.api.stop());

describe('POST /v1/imports/customers', () => {
  it('creates members with opening balances; a rerun finds them existing and credits nothing twice', async () => {
    const items = [
      { externalId: 'ic-1', email: 'IC1@Example.com', openingPoints: 1200 },
      { externalId: 'ic-2', name: 'Two' },
      { email: 'not-an-email' },
      { externalId: 'ic-1' },
    ];
    const first = await importing('customers', items);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.created).toBe(2);
    expect(first.body.createdCustomers.map((c: any) => c.index)).toEqual([0, 1]);
    const id1 = first.body.createdCustomers[0].customerId;
    expect(first.body.existing).toEqual([{ index: 3, customerId: id1, matchedBy: 'externalId' }]);
    expect(first.body.errors).toEqual([
      { index: 2, code: 'validation-failed', detail: expect.stringContaining('email') },
    ]);
    const customer = await t.call('GET', `/v1/customers/${id1}`);
    expect(customer.body.points.available).toBe(1200);
    expect(customer.body.email).toBe('ic1@example.com');
    const ledger = await wholeLedger(t, id1);
    expect(ledger).toMatchObject([{ type: 'adjust', points: 1200, reason: 'opening balance' }]);

    const again = await importing('customers', items);
    expect(again.body.created).toBe(0);
    expect(again.body.existing.map((e: any) => e.index)).toEqual([0, 1, 3]);
    expect((await t.call('GET', `/v1/customers/${id1}`)).body.points.available).toBe(1200);
  });

  it('says which identifier found an existing customer, so another externalId is not taken for it', async () => {
    const first = await importing('customers', [{ externalId: 'mb-1', email: 'mb@example.com' }]);
    const id = first.body.createdCustomers[0].customerId;
    const second = await importing('customers', [
      { externalId: 'mb-2', email: 'mb@example.com' },
      { externalId: 'mb-1', phone: '+14155550199' },
    ]);
    expect(second.body.existing).toEqual([
      { index: 0, customerId: id, matchedBy: 'email' },
      { index: 1, customerId: id, matchedBy: 'externalId' },
    ]);
    // Neither item's other identifier was added to the customer.
    expect((await t.call('GET', '/v1/customers?externalId=mb-2')).status).toBe(404);
    expect((await t.call('GET', '/v1/customers?phone=%2B14155550199')).status).toBe(404);
  });
});

describe('POST /v1/imports/purchases', () => {
  it('applies a receipt sent twice in a batch once, the second in place of a first that fails', async () => {
    const created = await importing('customers', [{ externalId: 'dup-1' }]);
    const customerId = created.body.createdCustomers[0].customerId;
    const item = (receiptId: string, who: string) => ({
      customerId: who,
      storeId,
      receiptId,
      occurredAt: ago(3),
      total: usd(2_000),
    });
    const res = await importing('purchases', [
      item('dup-a', 'cus_typo'),
      item('dup-a', customerId),
      item('dup-b', customerId),
      item('dup-b', customerId),
      item('dup-b', customerId),
    ]);
    expect(res.body).toEqual({
      imported: 2,
      duplicates: 2,
      errors: [{ index: 0, code: 'not-found', detail: 'Customer was not found' }],
    });
    const ledger = await wholeLedger(t, customerId);
    expect(ledger.filter((e) => e.type === 'earn')).toHaveLength(2);
  });

  it('applies the good items, reports each bad one by index, and counts recorded receipts as duplicates', async () => {
    const created = await importing('customers', [{ externalId: 'ip-1' }]);
    const customerId = created.body.createdCustomers[0].customerId;
    const good = (receiptId: string, days: number, amount: number) => ({
      customerId,
      storeId,
      receiptId,
      occurredAt: ago(days),
      total: usd(amount),
    });
    const res = await importing('purchases', [
      good('r-1', 30, 5_000),
      { ...good('r-2', 20, 1_000), customerId: 'cus_nobody' },
      { ...good('r-3', 20, 1_000), total: { amount: 10, currency: 'EUR' } },
      { ...good('r-4', 20, 1_000), total: { amount: 10.5, currency: 'USD' } },
      { customerId, storeId, occurredAt: ago(10), total: usd(100) },
      good('r-5', 10, 2_500),
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ imported: 2, duplicates: 0 });
    expect(res.body.errors.map((e: any) => [e.index, e.code])).toEqual([
      [1, 'not-found'],
      [2, 'currency-mismatch'],
      [3, 'validation-failed'],
      [4, 'validation-failed'],
    ]);
    const again = await importing('purchases', [good('r-1', 30, 5_000), good('r-6', 5, 100)]);
    expect(again.body).toEqual({ imported: 1, duplicates: 1, errors: [] });
    const customer = await t.call('GET', `/v1/customers/${customerId}`);
    expect(customer.body.cadence.purchases).toBe(3);
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('keeps the answer small whatever the items hold: the first few problems of each', async () => {
    const line = {};
    const items = Array.from({ length: 500 }, (_, i) => ({
      customerId: 'cus_x',
      storeId,
      receiptId: `junk-${i}`,
      occurredAt: ago(1),
      total: usd(100),
      lines: Array.from({ length: 500 }, () => line),
    }));
    const res = await importing('purchases', items);
    expect(res.status).toBe(200);
    expect(res.body.errors).toHaveLength(500);
    expect(res.body.errors[0].detail).toMatch(/; and 1495 more$/);
    // At most ~500 bytes an item, and kept for replays (a DynamoDB item holds 400 KB, gzipped).
    expect(JSON.stringify(res.body).length).toBeLessThan(250_000);
  });

  it("pays a referral on a referred customer's first imported purchase, to both, once; its referrer in the same batch", async () => {
    const referral = await t.call('POST', '/v1/campaigns', {
      body: { name: 'Refer', type: 'referral', points: 100, refereePoints: 50, startsAt: ago(400) },
      headers: { 'idempotency-key': `imp-ref-${++n}` },
    });
    expect(referral.status).toBe(201);
    const referrer = (await t.call('POST', '/v1/customers', { body: { externalId: 'ir-a' } })).body
      .id;
    const referred = (
      await t.call('POST', '/v1/customers', { body: { externalId: 'ir-b', referredBy: referrer } })
    ).body.id;
    const buy = (customerId: string, receiptId: string, days: number) => ({
      customerId,
      storeId,
      receiptId,
      occurredAt: ago(days),
      total: usd(1_000),
    });
    // The referrer's own purchases are in the batch too, before and after the referral.
    const items = [
      buy(referrer, 'ir-1', 40),
      buy(referred, 'ir-2', 30),
      buy(referred, 'ir-3', 20),
      buy(referrer, 'ir-4', 10),
    ];
    expect((await importing('purchases', items)).body).toEqual({
      imported: 4,
      duplicates: 0,
      errors: [],
    });
    expect((await importing('purchases', items)).body).toMatchObject({ duplicates: 4 });
    const bonuses = async (id: string) =>
      (await wholeLedger(t, id)).filter((e) => e.type === 'bonus').map((e) => e.points);
    expect(await bonuses(referred)).toEqual([50]);
    expect(await bonuses(referrer)).toEqual([100]);
    await expectBalanceEqualsLedger(t, referred);
    await expectBalanceEqualsLedger(t, referrer);
    expect((await t.call('GET', `/v1/customers/${referrer}`)).body.points.available).toBe(120);
    expect((await t.call('GET', `/v1/campaigns/${referral.body.id}`)).body.stats).toEqual({
      purchases: 1,
      customers: 1,
      pointsAwarded: 150,
    });
    // Ended, so the equivalence test below runs without it.
    await t.call('PATCH', `/v1/campaigns/${referral.body.id}`, {
      body: { endsAt: new Date(Date.now() + 1_000).toISOString() },
    });
  });

  it('refuses 501 items as a whole', async () => {
    const items = Array.from({ length: 501 }, () => ({}));
    const res = await importing('purchases', items);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
  });
});

/**
 * The same history two ways: recorded one purchase at a time through POST /v1/purchases on
 * one table, and imported in batches on another. The customers (balances, lots, tier,
 * qualifying spend by month, cadence, lapse due time, versions) and their ledgers must be
 * identical, up to ids and the times of recording; so must each purchase's points and each
 * campaign's counts.
 */
describe('an imported history equals the same history recorded one by one', () => {
  const CUSTOMERS = 50;
  const random = prng(1313);
  const pickInt = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  /** A program whose tiers a few hundred dollars reach, so tiers change along the way. */
  const program = {
    ...defaultProgram,
    tiers: [
      { id: 'member', name: 'Member', qualifyingSpend: 0, multiplier: 1 },
      { id: 'silver', name: 'Silver', qualifyingSpend: 30_000, multiplier: 1.25 },
      { id: 'gold', name: 'Gold', qualifyingSpend: 90_000, multiplier: 1.5 },
    ],
  };
  /** Campaigns that ran at some of the purchases' times, and one running now. */
  const campaigns = [
    { name: 'Double', type: 'multiplier', multiplier: 2, startsAt: ago(160), endsAt: ago(100) },
    {
      name: 'Vinyl',
      type: 'multiplier',
      multiplier: 3,
      match: { categories: ['vinyl'] },
      startsAt: ago(400),
      endsAt: ago(250),
    },
    { name: 'Welcome', type: 'bonus', points: 40, firstPurchaseOnly: true, startsAt: ago(600) },
    {
      name: 'Big basket',
      type: 'bonus',
      points: 25,
      minSpend: usd(15_000),
      startsAt: ago(90),
      endsAt: ago(30),
    },
  ];
  interface Row {
    externalId: string;
    receiptId: string;
    occurredAt: string;
    total: { amount: number; currency: string };
    lines?: unknown[];
  }
  const rows: Row[] = [];
  for (let c = 0; c < CUSTOMERS; c++) {
    const count = pickInt(1, 14);
    for (let k = 0; k < count; k++) {
      const amount = pickInt(100, 25_000);
      const vinyl = random() < 0.3;
      rows.push({
        externalId: `eq-${c}`,
        receiptId: `eq-${c}-${k}`,
        // Random instants over the last 500 days (whole seconds, so none falls on another's).
        occurredAt: new Date(Date.now() - pickInt(3_600, 500 * 86_400) * 1000).toISOString(),
        total: usd(amount),
        ...(vinyl && {
          lines: [{ sku: `lp-${k}`, category: 'vinyl', quantity: 1, unitPrice: usd(amount) }],
        }),
      });
    }
  }
  const inTimeOrder = [...rows].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));

  let one: TestApi;
  let bulk: TestApi;
  beforeAll(async () => {
    bulk = await startSecondTestApi();
    one = t;
  });
  afterAll(() => bulk?.api.stop());

  async function setUp(api: TestApi): Promise<string> {
    expect((await api.call('PUT', '/v1/program', { body: program })).status).toBe(200);
    for (const [i, c] of campaigns.entries()) {
      const res = await api.call('POST', '/v1/campaigns', {
        body: c,
        headers: { 'idempotency-key': `eq-campaign-${i}` },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    return (await api.call('POST', '/v1/stores', { body: { name: 'Equivalence' } })).body.id;
  }

  it('gives identical customers, ledgers, purchases and campaign counts', async () => {
    // One by one: each customer enrolled, then its purchases in time order.
    const oneStore = await setUp(one);
    const oneIds = new Map<string, string>();
    for (let c = 0; c < CUSTOMERS; c++) {
      const res = await one.call('POST', '/v1/customers', { body: { externalId: `eq-${c}` } });
      expect(res.status).toBe(201);
      oneIds.set(`eq-${c}`, res.body.id);
    }
    const byCustomer = new Map<string, Row[]>();
    for (const r of inTimeOrder) {
      byCustomer.set(r.externalId, [...(byCustomer.get(r.externalId) ?? []), r]);
    }
    await Promise.all(
      [...byCustomer.values()].map(async (list) => {
        for (const r of list) {
          const res = await one.call('POST', '/v1/purchases', {
            body: {
              customerId: oneIds.get(r.externalId),
              storeId: oneStore,
              receiptId: r.receiptId,
              occurredAt: r.occurredAt,
              total: r.total,
              ...(r.lines && { lines: r.lines }),
            },
            headers: { 'idempotency-key': `eq-${r.receiptId}` },
          });
          expect(res.status, JSON.stringify(res.body)).toBe(201);
        }
      }),
    );

    // Imported: the customers in one batch, the purchases in batches of 100 in time order,
    // each batch shuffled (the import orders a batch itself).
    const bulkStore = await setUp(bulk);
    const externalIds = [...byCustomer.keys()];
    const members = await bulk.call('POST', '/v1/imports/customers', {
      body: { items: externalIds.map((externalId) => ({ externalId })) },
      headers: { 'idempotency-key': 'eq-members' },
    });
    expect(members.body.created).toBe(byCustomer.size);
    const bulkIds = new Map<string, string>(
      members.body.createdCustomers.map((c: any) => [externalIds[c.index], c.customerId]),
    );
    let imported = 0;
    for (let i = 0; i < inTimeOrder.length; i += 100) {
      const items = inTimeOrder.slice(i, i + 100).map((r) => ({
        customerId: bulkIds.get(r.externalId),
        storeId: bulkStore,
        receiptId: r.receiptId,
        occurredAt: r.occurredAt,
        total: r.total,
        ...(r.lines && { lines: r.lines }),
      }));
      const shuffled = items
        .map((item) => ({ item, at: random() }))
        .sort((a, b) => a.at - b.at)
        .map((x) => x.item);
      const res = await bulk.call('POST', '/v1/imports/purchases', {
        body: { items: shuffled },
        headers: { 'idempotency-key': `eq-batch-${i}` },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.errors).toEqual([]);
      imported += res.body.imported;
    }
    expect(imported).toBe(rows.length);

    const [a, b] = await Promise.all([snapshot(one.table, 'eq-'), snapshot(bulk.table, 'eq-')]);
    expect(b.customers.size).toBe(CUSTOMERS);
    for (const [externalId, customer] of a.customers) {
      expect(b.customers.get(externalId), externalId).toEqual(customer);
    }
    expect(b.ledgers).toEqual(a.ledgers);
    expect(b.purchases).toEqual(a.purchases);
    // This test's campaigns (the first table also has those of the tests above).
    const ours = (counts: Record<string, unknown>) =>
      Object.fromEntries(campaigns.map((c) => [c.name, counts[c.name]]));
    expect(ours(b.campaignCounts)).toEqual(ours(a.campaignCounts));
    // Some purchases earned by each campaign, and tiers moved: the comparison compared something.
    for (const counts of Object.values(ours(a.campaignCounts)) as { purchases: number }[])
      expect(counts.purchases).toBeGreaterThan(0);
    expect([...a.customers.values()].some((c) => c.tierId !== 'member')).toBe(true);
  });
});
