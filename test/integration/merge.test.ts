import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCustomerAsStored, listLedger } from '../../lib/store/customers.ts';
import { ADMIN_KEY, redemptionCodeFor, startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

let t: TestApi;
let storeId: string;
let posKey: string;
let appKey: string;
let n = 0;
const usd = (amount: number) => ({ amount, currency: 'USD' });
const DAY = 86_400_000;

async function enrol(body: Record<string, unknown> = {}): Promise<string> {
  const res = await t.call('POST', '/v1/customers', {
    body: { externalId: `mrg-${++n}-${Date.now()}`, ...body },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** A purchase of `total` cents (1 point per 100), made `daysAgo` days ago (admin: backdated). */
async function buy(customerId: string, total: number, daysAgo = 0) {
  const res = await t.call('POST', '/v1/purchases', {
    key: ADMIN_KEY,
    body: {
      customerId,
      storeId,
      total: usd(total),
      occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
    },
    headers: { 'idempotency-key': `mrg-buy-${++n}` },
  });
  expect(res.status).toBe(201);
  return res.body;
}

const merge = (id: string, from: string, key = appKey, idem = `merge-${++n}`) =>
  t.call('POST', `/v1/customers/${id}/merge`, {
    key,
    body: { from },
    headers: { 'idempotency-key': idem },
  });

/** The source's own ledger (the API shows a merged customer's as its survivor's). */
async function storedLedgerSum(customerId: string): Promise<number> {
  let sum = 0;
  let cursor: string | undefined;
  do {
    const page = await listLedger(customerId, 100, cursor);
    for (const entry of page.items) sum += entry.points;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return sum;
}

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Merge street' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
  appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
});
afterAll(() => t.api.stop());

describe('POST /v1/customers/{id}/merge', () => {
  it('moves every point, keeps both ledgers equal to their balances, and answers for the source after', async () => {
    const phone = `+1555${String(Date.now()).slice(-7)}`;
    const a = await enrol({ email: `ann-${n}@example.com` });
    const b = await enrol({ phone });
    await buy(a, 10_000, 40); // 100 points, 40 days ago
    await buy(b, 5_000, 20); // 50
    const old = await buy(b, 3_000, 2); // 30
    const before = (await t.call('GET', `/v1/customers/${a}`)).body;

    const res = await merge(a, b);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: a,
      phone,
      points: { available: 180, lifetimeEarned: 180 },
      cadence: { purchases: 3 },
    });
    expect(res.body.points.available).toBe(before.points.available + 80);
    // Replayed with the same key: the same answer, nothing moved twice.
    const idem = `merge-replay-${n}`;
    const c = await enrol();
    const d = await enrol();
    await buy(d, 1_000);
    const first = await merge(c, d, appKey, idem);
    const again = await merge(c, d, appKey, idem);
    expect(again.status).toBe(200);
    expect(again.body.points).toEqual(first.body.points);

    // The ledgers: the survivor's adds up to its balance, the source's to 0.
    await expectBalanceEqualsLedger(t, a);
    expect(await storedLedgerSum(b)).toBe(0);
    const ledger = await wholeLedger(t, a);
    expect(ledger[0]).toMatchObject({ type: 'merge-in', points: 80, mergedFrom: b });
    expect(await getCustomerAsStored(b)).toMatchObject({
      status: 'merged',
      mergedInto: a,
      available: 0,
      pending: 0,
    });

    // Every call naming the source acts on the survivor.
    expect((await t.call('GET', `/v1/customers/${b}`)).body.id).toBe(a);
    const found = await t.call('GET', `/v1/customers?phone=${encodeURIComponent(phone)}`);
    expect(found.body.id).toBe(a);
    const bought = await t.call('POST', '/v1/purchases', {
      key: posKey,
      body: { customerId: b, total: usd(2_000) },
      headers: { 'idempotency-key': `mrg-after-${n}` },
    });
    expect(bought.status).toBe(201);
    expect(bought.body.customer).toMatchObject({ id: a, points: { available: 200 } });
    const refunded = await t.call('POST', `/v1/purchases/${old.id}/refunds`, {
      key: ADMIN_KEY,
      body: { amount: usd(3_000) },
      headers: { 'idempotency-key': `mrg-refund-${n}` },
    });
    expect(refunded.status).toBe(201);
    expect(refunded.body.customer).toMatchObject({ id: a, points: { available: 170 } });
    const token = await t.call('POST', `/v1/customers/${b}/session-tokens`, { key: appKey });
    const me = await t.call('GET', '/v1/me', {
      key: null,
      headers: { authorization: `Bearer ${token.body.token}` },
    });
    expect(me.body.id).toBe(a);
    await expectBalanceEqualsLedger(t, a);
    expect(await storedLedgerSum(b)).toBe(0);

    const events = await t.call('GET', '/v1/events?limit=100');
    expect(events.body.items).toContainEqual(
      expect.objectContaining({
        type: 'customer.merged',
        customerId: a,
        data: { from: b, pointsMoved: 80 },
      }),
    );
  });

  it('follows a chain of merges: A into B, then B into C, and A still finds C', async () => {
    const aEmail = `chain-a-${Date.now()}@example.com`;
    const [a, b, c] = [await enrol({ email: aEmail }), await enrol(), await enrol()];
    const aPurchase = await buy(a, 1_000);
    await buy(b, 2_000);
    await buy(c, 4_000);
    expect((await merge(b, a)).status).toBe(200);
    expect((await merge(c, b)).status).toBe(200);
    const bought = await t.call('POST', '/v1/purchases', {
      key: posKey,
      body: { customerId: a, total: usd(8_000) },
      headers: { 'idempotency-key': `chain-${n}` },
    });
    expect(bought.body.customer).toMatchObject({ id: c, points: { available: 150 } });
    // A's email and A's old purchase: C's now.
    const found = await t.call('GET', `/v1/customers?email=${encodeURIComponent(aEmail)}`);
    expect(found.body.id).toBe(c);
    const refunded = await t.call('POST', `/v1/purchases/${aPurchase.id}/refunds`, {
      key: ADMIN_KEY,
      body: { amount: usd(1_000) },
      headers: { 'idempotency-key': `chain-refund-${n}` },
    });
    expect(refunded.status).toBe(201);
    expect(refunded.body.customer).toMatchObject({ id: c, points: { available: 140 } });
    await expectBalanceEqualsLedger(t, c);
    expect([await storedLedgerSum(a), await storedLedgerSum(b)]).toEqual([0, 0]);
  });

  it('refuses a merge into itself, of a merged customer, and of one with a hold or a usable code', async () => {
    const [a, b] = [await enrol(), await enrol()];
    expect((await merge(a, a)).body.code).toBe('validation-failed');
    expect((await merge(a, 'cus_nobody')).status).toBe(404);
    expect((await merge(a, b)).status).toBe(200);
    const merged = await merge(a, b);
    expect([merged.status, merged.body.code]).toEqual([409, 'conflict']);
    // An erased customer is merged neither way.
    const gone = await enrol();
    const erased = await t.call('POST', `/v1/customers/${gone}/erase`, {
      key: appKey,
      headers: { 'idempotency-key': `gone-${n}` },
    });
    expect(erased.status).toBe(200);
    for (const [into, from] of [
      [a, gone],
      [gone, a],
    ] as const) {
      const refused = await merge(into, from);
      expect([refused.status, refused.body.code], `${into} <- ${from}`).toEqual([409, 'conflict']);
    }

    // A usable code blocks; so do points held by an authorized redemption.
    const c = await enrol();
    await buy(c, 50_000);
    const code = await redemptionCodeFor(t, c, appKey);
    const blocked = await merge(a, c);
    expect([blocked.status, blocked.body.code]).toEqual([409, 'merge-blocked']);
    const held = await t.call('POST', '/v1/redemptions', {
      key: posKey,
      body: { code, amount: usd(100) },
      headers: { 'idempotency-key': `hold-${n}` },
    });
    expect(held.status).toBe(201);
    const stillBlocked = await merge(a, c);
    expect([stillBlocked.status, stillBlocked.body.code]).toEqual([409, 'merge-blocked']);
    const voided = await t.call('POST', `/v1/redemptions/${held.body.id}/void`, {
      key: posKey,
      headers: { 'idempotency-key': `void-${n}` },
    });
    expect(voided.status).toBe(200);
    expect((await merge(a, c)).status).toBe(200);
  });

  it('loses and doubles no point when 50 purchases race on both customers during the merge', async () => {
    const [a, b] = [await enrol(), await enrol()];
    await buy(a, 10_000);
    await buy(b, 10_000);
    const racing = Array.from({ length: 50 }, (_, i) =>
      t.call('POST', '/v1/purchases', {
        key: posKey,
        body: { customerId: i % 2 === 0 ? a : b, total: usd(1_000 + i * 100) },
        headers: { 'idempotency-key': `race-${n}-${i}` },
      }),
    );
    const [merged, ...answers] = await Promise.all([
      (async () => {
        await new Promise((r) => setTimeout(r, 20));
        return merge(a, b);
      })(),
      ...racing,
    ]);
    expect(merged.status).toBe(200);
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 201));
    const earned = answers.reduce((sum, r) => sum + r.body.pointsEarned, 0);
    const survivor = (await t.call('GET', `/v1/customers/${a}`)).body;
    expect(survivor.points.available).toBe(200 + earned);
    await expectBalanceEqualsLedger(t, a);
    expect(await storedLedgerSum(b)).toBe(0);
    expect((await getCustomerAsStored(b))?.available).toBe(0);
  });
});
