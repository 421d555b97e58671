import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

/**
 * A referral pays on the referred customer's first purchase with earnable spend > 0, is
 * pending like that purchase's points (pendingDays 14 here), and a full refund of that
 * purchase inside the window takes back both customers' referral points. Through the real
 * HTTP server on DynamoDB Local.
 */
let t: TestApi;
let storeId: string;
let referral: string;
let n = 0;
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
let made: string[] = [];

async function enrol(referredBy?: string): Promise<string> {
  const res = await t.call('POST', '/v1/customers', {
    body: { externalId: `rfl-${++n}`, ...(referredBy && { referredBy }) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  made.push(res.body.id);
  return res.body.id;
}

async function buy(customerId: string, body: Record<string, unknown>): Promise<any> {
  const res = await t.call('POST', '/v1/purchases', {
    body: { customerId, storeId, ...body },
    headers: { 'idempotency-key': `rfl-buy-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function refund(purchaseId: string, amount: number): Promise<any> {
  const res = await t.call('POST', `/v1/purchases/${purchaseId}/refunds`, {
    body: { amount: usd(amount) },
    headers: { 'idempotency-key': `rfl-refund-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const points = async (id: string) => (await t.call('GET', `/v1/customers/${id}`)).body.points;
const referralEntries = async (id: string) =>
  (await wholeLedger(t, id)).filter((e) => e.campaignId === referral);

/** A referrer and the customer they referred, neither with a purchase yet. */
async function pair(): Promise<{ referrer: string; referred: string }> {
  const referrer = await enrol();
  return { referrer, referred: await enrol(referrer) };
}

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'High street' } })).body.id;
  const program = { ...defaultProgram, pendingDays: 14, excludedCategories: ['giftcard'] };
  expect((await t.call('PUT', '/v1/program', { body: program })).status).toBe(200);
  const res = await t.call('POST', '/v1/campaigns', {
    body: {
      name: 'Bring a friend',
      type: 'referral',
      points: 100,
      refereePoints: 50,
      startsAt: new Date(Date.now() - 30 * DAY).toISOString(),
    },
    headers: { 'idempotency-key': 'rfl-campaign' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  referral = res.body.id;
});
afterAll(() => t.api.stop());
afterEach(async () => {
  for (const id of made) await expectBalanceEqualsLedger(t, id);
  made = [];
});

describe('a referral', () => {
  it('is not paid by a first purchase with no earnable spend, but by the first with some', async () => {
    const { referrer, referred } = await pair();
    // 0.00, and a gift card only (an excluded category): no earnable spend.
    await buy(referred, { total: usd(0) });
    await buy(referred, {
      total: usd(5_000),
      lines: [{ sku: 'gift-50', category: 'giftcard', quantity: 1, unitPrice: usd(5_000) }],
    });
    expect(await referralEntries(referred)).toEqual([]);
    expect(await referralEntries(referrer)).toEqual([]);
    const quote = await t.call('POST', '/v1/purchases/quote', {
      body: { customerId: referred, storeId, total: usd(1_000) },
    });
    expect(quote.body.customer.points).toMatchObject({ available: 0, pending: 60 });

    await buy(referred, { total: usd(1_000) });
    expect((await referralEntries(referred)).map((e) => e.pendingPoints)).toEqual([50]);
    expect((await referralEntries(referrer)).map((e) => e.pendingPoints)).toEqual([100]);
    // Once: a later purchase pays nothing more.
    await buy(referred, { total: usd(1_000) });
    expect(await referralEntries(referred)).toHaveLength(1);
    expect(await referralEntries(referrer)).toHaveLength(1);
  });

  it('is pending like its purchase, and a full refund inside the window takes back both', async () => {
    const { referrer, referred } = await pair();
    const first = await buy(referred, { total: usd(1_000) });
    expect(first).toMatchObject({ pointsEarned: 10, pointsStatus: 'pending' });
    expect(first.customer.points).toMatchObject({ available: 0, pending: 60, lifetimeEarned: 60 });
    expect(await points(referrer)).toMatchObject({ available: 0, pending: 100 });
    const [paid] = await referralEntries(referrer);
    expect(paid).toMatchObject({ type: 'bonus', points: 0, pendingPoints: 100 });

    // A partial refund takes back the purchase's points in proportion, not the referral.
    await refund(first.id, 400);
    expect(await points(referred)).toMatchObject({ pending: 56 });
    expect(await points(referrer)).toMatchObject({ pending: 100 });
    // The rest: refunded in full, inside the pending window.
    const last = await refund(first.id, 600);
    expect(last.customer.points).toMatchObject({ available: 0, pending: 0, lifetimeEarned: 0 });
    expect(await points(referrer)).toMatchObject({
      available: 0,
      pending: 0,
      lifetimeEarned: 0,
    });
    const back = (await referralEntries(referrer)).find((e) => e.type === 'refund');
    expect(back).toMatchObject({ points: 0, pendingPoints: -100, purchaseId: first.id });
    // When the purchase was made, as written with the entry; where and which receipt only
    // on the referred customer's own (the referrer did not buy it).
    expect(back.occurredAt).toBe(first.occurredAt);
    expect(back).not.toHaveProperty('storeId');
    expect(back).not.toHaveProperty('receiptId');
    const own = (await referralEntries(referred)).find((e) => e.type === 'refund');
    expect(own).toMatchObject({ pendingPoints: -50, occurredAt: first.occurredAt, storeId });
  });

  it('imported, pays on the first purchase with earnable spend, pending like it', async () => {
    const { referrer, referred } = await pair();
    const item = (daysAgo: number, amount: number) => ({
      customerId: referred,
      storeId,
      receiptId: `rfl-imp-${++n}`,
      occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
      total: usd(amount),
    });
    const res = await t.call('POST', '/v1/imports/purchases', {
      body: { items: [item(3, 0), item(2, 1_000), item(1, 1_000)] },
      headers: { 'idempotency-key': `rfl-import-${n}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ imported: 3, errors: [] });
    expect((await referralEntries(referred)).map((e) => e.pendingPoints)).toEqual([50]);
    expect((await referralEntries(referrer)).map((e) => e.pendingPoints)).toEqual([100]);
    expect(await points(referred)).toMatchObject({ available: 0, pending: 70 });
  });
});
