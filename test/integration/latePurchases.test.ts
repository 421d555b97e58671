import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allPages, startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger } from '../support/ledger.ts';

/**
 * A purchase dated before the customer's lapse (a till syncing late, a second store's
 * history imported) is no return: through the live route and the import alike, it joins
 * the history and nothing else. The default lapse rule: 3 purchases, 2 x the typical gap,
 * at least 14 days.
 */
let t: TestApi;
let storeId: string;
let winBack: string;
let n = 0;
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
let made: string[] = [];

async function enrol(): Promise<string> {
  const id = (await t.call('POST', '/v1/customers', { body: { externalId: `late-${++n}` } })).body
    .id;
  made.push(id);
  return id;
}

async function buy(customerId: string, occurredAt: Date) {
  const res = await t.call('POST', '/v1/purchases', {
    body: { customerId, storeId, total: usd(10_000), occurredAt: occurredAt.toISOString() },
    headers: { 'idempotency-key': `late-buy-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const customer = async (id: string) => (await t.call('GET', `/v1/customers/${id}`)).body;

/** The customer's lapses and returns (the spend may also move the tier). */
const eventsOf = async (id: string) =>
  (await allPages(t, '/v1/events')).filter(
    (e) => e.customerId === id && e.type.startsWith('customer.'),
  );

const scan = async (asOf = new Date()) => {
  const res = await t.call('POST', '/v1/jobs/lapse-scan', { body: { asOf: asOf.toISOString() } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
};

/**
 * A customer who bought 60, 50 and 40 days ago (gaps 10: lapsed 20 days after the last,
 * so 20 days ago), flagged by a scan now.
 */
async function lapsedCustomer(base: number): Promise<string> {
  const id = await enrol();
  for (const d of [20, 10, 0]) await buy(id, new Date(base - d * DAY));
  await scan();
  const c = await customer(id);
  expect(c).toMatchObject({ status: 'lapsed', lapsedAt: new Date(base + 20 * DAY).toISOString() });
  return id;
}

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'High street' } })).body.id;
  const res = await t.call('POST', '/v1/campaigns', {
    body: {
      name: 'Come back',
      type: 'bonus',
      points: 300,
      audience: { status: 'lapsed' },
      startsAt: new Date(Date.now() - 400 * DAY).toISOString(),
    },
    headers: { 'idempotency-key': 'late-winback' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  winBack = res.body.id;
});
afterAll(() => t.api.stop());
afterEach(async () => {
  for (const id of made) await expectBalanceEqualsLedger(t, id);
  made = [];
});

describe('a purchase dated before the lapse', () => {
  it('before the last purchase joins the history only; between it and the lapse, withdraws the lapse; neither pays the win-back', async () => {
    const base = Date.now() - 40 * DAY;
    const id = await lapsedCustomer(base);
    const lapsedAt = new Date(base + 20 * DAY).toISOString();

    // A till syncing late: before the last purchase.
    const before = await buy(id, new Date(base - 5 * DAY));
    expect(before.breakdown).toEqual([{ source: 'base', points: 100 }]);
    expect(before.customer).toMatchObject({
      status: 'lapsed',
      lapsedAt,
      lastPurchaseAt: new Date(base).toISOString(),
      cadence: { purchases: 4, typicalGapDays: 5 },
    });
    // After the last purchase but before the lapse began: the silence ended before the rule
    // held, so the flag is withdrawn (the scan did not know of this purchase). No return:
    // no win-back; the event says the lapse was withdrawn.
    const between = await buy(id, new Date(base + 5 * DAY));
    expect(between.breakdown).toEqual([{ source: 'base', points: 100 }]);
    expect(between.customer).toMatchObject({
      status: 'active',
      lapsedAt: null,
      lastLapse: null,
      lastPurchaseAt: new Date(base + 5 * DAY).toISOString(),
      cadence: { purchases: 5, typicalGapDays: 5 },
    });
    const withdrawn = (await eventsOf(id)).at(-1);
    expect(withdrawn).toMatchObject({
      type: 'customer.reactivated',
      data: { lapsedAt, withdrawn: true, purchaseAt: new Date(base + 5 * DAY).toISOString() },
    });

    // The next scan judges the silence since that purchase (gap 5: threshold 14 days), once.
    await scan();
    await scan(new Date(Date.now() + 60_000));
    const relapsedAt = new Date(base + 19 * DAY).toISOString();
    expect((await eventsOf(id)).map((e) => e.type)).toEqual([
      'customer.lapsed',
      'customer.reactivated',
      'customer.lapsed',
    ]);
    expect(await customer(id)).toMatchObject({ status: 'lapsed', lapsedAt: relapsedAt });

    // A purchase after the lapse is the return, through the win-back offer.
    const back = await buy(id, new Date());
    expect(back.customer).toMatchObject({ status: 'active', lapsedAt: null });
    expect(back.breakdown).toContainEqual({ source: 'campaign', campaignId: winBack, points: 300 });
    expect((await eventsOf(id)).map((e) => e.type)).toEqual([
      'customer.lapsed',
      'customer.reactivated',
      'customer.lapsed',
      'customer.reactivated',
    ]);
  });

  it('imported, neither reactivates nor pays the win-back', async () => {
    const base = Date.now() - 40 * DAY;
    const id = await lapsedCustomer(base);
    const res = await t.call('POST', '/v1/imports/purchases', {
      body: {
        items: [
          {
            customerId: id,
            storeId,
            receiptId: `second-store-${++n}`,
            occurredAt: new Date(base - 15 * DAY).toISOString(),
            total: usd(10_000),
          },
        ],
      },
      headers: { 'idempotency-key': `late-import-${n}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ imported: 1, errors: [] });
    const c = await customer(id);
    expect(c).toMatchObject({
      status: 'lapsed',
      lapsedAt: new Date(base + 20 * DAY).toISOString(),
      lastPurchaseAt: new Date(base).toISOString(),
      points: { available: 400 },
      cadence: { purchases: 4 },
    });
    await scan();
    expect((await eventsOf(id)).map((e) => e.type)).toEqual(['customer.lapsed']);
  });
});
