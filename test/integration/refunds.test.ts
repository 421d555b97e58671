import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger } from '../support/ledger.ts';

let t: TestApi;
let storeId: string;
let posKey: string;
let n = 0;
const usd = (amount: number) => ({ amount, currency: 'USD' });

async function purchaseFor(total: number): Promise<{ customerId: string; purchase: any }> {
  const customerId = (await t.call('POST', '/v1/customers', { body: { externalId: `f-${++n}` } }))
    .body.id;
  const res = await t.call('POST', '/v1/purchases', {
    key: posKey,
    body: { customerId, total: usd(total) },
    headers: { 'idempotency-key': `buy-${n}` },
  });
  expect(res.status).toBe(201);
  return { customerId, purchase: res.body };
}

const refund = (purchaseId: string, amount: number, key = posKey, idem = `refund-${++n}`) =>
  t.call('POST', `/v1/purchases/${purchaseId}/refunds`, {
    key,
    body: { amount: usd(amount) },
    headers: { 'idempotency-key': idem },
  });

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Returns desk' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
});
afterAll(() => t.api.stop());

describe('refunds', () => {
  it('reverses floor(pointsEarned x refunded / total) and shows refunded on the purchase', async () => {
    const { customerId, purchase } = await purchaseFor(10_007); // 100 points
    const res = await refund(purchase.id, 5_003);
    expect(res.status).toBe(201);
    // floor(100 x 5003 / 10007) = 49
    expect(res.body).toMatchObject({
      purchaseId: purchase.id,
      amount: usd(5_003),
      pointsReversed: 49,
    });
    expect(res.body.id).toMatch(/^ref_/);
    expect(res.body.customer.points.available).toBe(51);
    const got = await t.call('GET', `/v1/purchases/${purchase.id}`, { key: posKey });
    expect(got.body.refunded).toEqual(usd(5_003));
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('never drifts: awkward partial refunds reverse exactly what one full refund would', async () => {
    const total = 9_973; // a prime: 99 points
    const one = await purchaseFor(total);
    const whole = await refund(one.purchase.id, total);
    const many = await purchaseFor(total);
    const parts = [1, 2, 3, 5, 7, 11, 13, 997, 4_000, 4_934];
    expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
    let reversed = 0;
    for (const part of parts)
      reversed += (await refund(many.purchase.id, part)).body.pointsReversed;
    expect(reversed).toBe(whole.body.pointsReversed);
    expect(reversed).toBe(99);
    const customer = await t.call('GET', `/v1/customers/${many.customerId}`);
    expect(customer.body.points.available).toBe(0);
    expect(customer.body.qualifyingSpend).toEqual(usd(0));
    await expectBalanceEqualsLedger(t, many.customerId);
  });

  it('refuses refunds beyond the total with 422 refund-exceeds-purchase', async () => {
    const { purchase } = await purchaseFor(1_000);
    expect((await refund(purchase.id, 600)).status).toBe(201);
    const over = await refund(purchase.id, 401);
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('refund-exceeds-purchase');
    expect((await refund(purchase.id, 400)).status).toBe(201);
    expect((await refund(purchase.id, 1)).body.code).toBe('refund-exceeds-purchase');
  });

  it('lets available go below 0 after the points were spent', async () => {
    const { customerId, purchase } = await purchaseFor(10_000); // 100 points
    const appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
    const { token } = (
      await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey })
    ).body;
    const code = async () =>
      (
        await t.call('POST', '/v1/me/redemption-codes', {
          key: null,
          headers: { authorization: `Bearer ${token}` },
        })
      ).body.code;
    const spent = await t.call('POST', '/v1/redemptions', {
      key: posKey,
      body: { code: await code(), amount: usd(100), capture: true },
      headers: { 'idempotency-key': `spend-${n}` },
    });
    expect(spent.status).toBe(201);
    const res = await refund(purchase.id, 10_000);
    expect(res.body.customer.points.available).toBe(-100);
    expect(res.body.customer.cashValue).toEqual(usd(0));
    const refused = await t.call('POST', '/v1/redemptions', {
      key: posKey,
      body: { code: await code(), amount: usd(1) },
      headers: { 'idempotency-key': `spend-more-${n}` },
    });
    expect(refused.body.code).toBe('insufficient-points');
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('replays with the same key, and stays within the total under 10 parallel refunds', async () => {
    const { customerId, purchase } = await purchaseFor(1_000);
    const first = await refund(purchase.id, 100, posKey, 'same-refund');
    const again = await refund(purchase.id, 100, posKey, 'same-refund');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const results = await Promise.all(Array.from({ length: 10 }, () => refund(purchase.id, 150)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(6);
    expect(results.filter((r) => r.body.code === 'refund-exceeds-purchase')).toHaveLength(4);
    const got = await t.call('GET', `/v1/purchases/${purchase.id}`);
    expect(got.body.refunded).toEqual(usd(1_000));
    await expectBalanceEqualsLedger(t, customerId);
  });

  it("hides another store's purchase (404) and refuses bad amounts (400, 422)", async () => {
    const { purchase } = await purchaseFor(1_000);
    const other = (await t.call('POST', '/v1/stores', { body: { name: 'Other' } })).body.id;
    const otherKey = (
      await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId: other } })
    ).body.key;
    expect((await refund(purchase.id, 10, otherKey)).status).toBe(404);
    expect((await refund('pur_nope', 10, ADMIN_KEY)).status).toBe(404);
    expect((await refund(purchase.id, 0)).status).toBe(400);
    const eur = await t.call('POST', `/v1/purchases/${purchase.id}/refunds`, {
      key: posKey,
      body: { amount: { amount: 10, currency: 'EUR' } },
      headers: { 'idempotency-key': 'eur' },
    });
    expect(eur.body.code).toBe('currency-mismatch');
  });
});
