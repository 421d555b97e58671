import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, tableName } from '../../lib/store/client.ts';
import { ADMIN_KEY, startTestApi, type TestApi, tableItems } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

let t: TestApi;
let storeId: string;
let posKey: string;
let n = 0;
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = () => `purchase-${++n}`;

async function enrol(): Promise<string> {
  const res = await t.call('POST', '/v1/customers', { body: { externalId: `ext-${++n}` } });
  expect(res.status).toBe(201);
  return res.body.id;
}

function purchase(body: Record<string, unknown>, idempotencyKey = key(), apiKey = posKey) {
  return t.call('POST', '/v1/purchases', {
    key: apiKey,
    body,
    headers: { 'idempotency-key': idempotencyKey },
  });
}

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Main Street' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
});
afterAll(() => t.api.stop());

describe('accrual and tiers', () => {
  it('earns floor(amount x points / per) at the member multiplier', async () => {
    const customerId = await enrol();
    const res = await purchase({ customerId, total: usd(1999) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ customerId, storeId, total: usd(1999), pointsEarned: 19 });
    expect(res.body.pointsStatus).toBe('available');
    expect(res.body.customer.points).toEqual({
      available: 19,
      pending: 0,
      held: 0,
      lifetimeEarned: 19,
      expiringSoon: null,
    });
    expect(res.body.customer.cashValue).toEqual(usd(19));
  });

  it('stays member one cent below the silver threshold and tiers up at exactly the threshold', async () => {
    const customerId = await enrol();
    const below = await purchase({ customerId, total: usd(49_999) });
    expect(below.body.customer.tier.id).toBe('member');
    expect(below.body.customer.nextTier).toEqual({
      id: 'silver',
      name: 'Silver',
      spendNeeded: usd(1),
    });

    const atThreshold = await purchase({ customerId, total: usd(1) });
    expect(atThreshold.body.pointsEarned).toBe(0);
    expect(atThreshold.body.customer.tier).toEqual({
      id: 'silver',
      name: 'Silver',
      multiplier: 1.25,
    });
    expect(atThreshold.body.customer.qualifyingSpend).toEqual(usd(50_000));
    expect(atThreshold.body.customer.nextTier.spendNeeded).toEqual(usd(150_000));

    // The next purchase earns at the tier held before it: floor(floor(1000/100) x 1.25) = 12.
    const next = await purchase({ customerId, total: usd(1_000) });
    expect(next.body.pointsEarned).toBe(12);
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('uses the multiplier held before the purchase, not the one it unlocks', async () => {
    const customerId = await enrol();
    const big = await purchase({ customerId, total: usd(250_000) });
    expect(big.body.pointsEarned).toBe(2_500);
    expect(big.body.customer.tier.id).toBe('gold');
    expect(big.body.customer.nextTier).toBeNull();
    const after = await purchase({ customerId, total: usd(10_000) });
    expect(after.body.pointsEarned).toBe(150);
  });

  it('lets an admin backdate an import beyond maxBackdateDays, but not a pos key', async () => {
    const customerId = await enrol();
    const old = new Date(Date.now() - 400 * 86_400_000).toISOString();
    const pos = await purchase({ customerId, total: usd(500), occurredAt: old });
    expect(pos.status).toBe(400);
    expect(pos.body.errors[0].path).toBe('occurredAt');
    const admin = await purchase(
      { customerId, storeId, total: usd(500), occurredAt: old },
      key(),
      ADMIN_KEY,
    );
    expect(admin.status).toBe(201);
    expect(admin.body.occurredAt).toBe(old);
    // Spend older than the qualifying window does not count towards a tier.
    expect(admin.body.customer.qualifyingSpend).toEqual(usd(0));
  });

  it('refuses occurredAt more than 5 minutes ahead', async () => {
    const customerId = await enrol();
    const ahead = new Date(Date.now() + 6 * 60_000).toISOString();
    const res = await purchase({ customerId, total: usd(500), occurredAt: ahead });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
  });

  it('shows the purchase to its own store and hides it from another store', async () => {
    const customerId = await enrol();
    const created = await purchase({ customerId, total: usd(700), receiptId: 'R-show' });
    const own = await t.call('GET', `/v1/purchases/${created.body.id}`, { key: posKey });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: created.body.id, refunded: usd(0), receiptId: 'R-show' });

    const otherStore = (await t.call('POST', '/v1/stores', { body: { name: 'Other' } })).body.id;
    const otherKey = (
      await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId: otherStore } })
    ).body.key;
    const other = await t.call('GET', `/v1/purchases/${created.body.id}`, { key: otherKey });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('not-found');
  });
});

describe('the ledger says when a purchase happened', () => {
  it('carries the purchase’s occurredAt, store and receipt on its earn and refund entries, imported or not', async () => {
    const customerId = await enrol();
    const bought = new Date(Date.now() - 400 * 86_400_000).toISOString();
    const recorded = await purchase(
      { customerId, storeId, total: usd(5000), occurredAt: bought, receiptId: 'R-0042' },
      key(),
      ADMIN_KEY,
    );
    expect(recorded.status).toBe(201);
    const importedAt = new Date(Date.now() - 200 * 86_400_000).toISOString();
    const imported = await t.call('POST', '/v1/imports/purchases', {
      body: {
        items: [
          { customerId, storeId, receiptId: 'OLD-7', total: usd(3000), occurredAt: importedAt },
        ],
      },
      headers: { 'idempotency-key': key() },
    });
    expect(imported.body.imported, JSON.stringify(imported.body)).toBe(1);
    const refund = await t.call('POST', `/v1/purchases/${recorded.body.id}/refunds`, {
      body: { amount: usd(1000) },
      headers: { 'idempotency-key': key() },
    });
    expect(refund.status).toBe(201);

    const items = (await t.call('GET', `/v1/customers/${customerId}/activity`)).body.items;
    const [refunded, importedEarn, earned] = items;
    expect(earned).toMatchObject({
      type: 'earn',
      purchaseId: recorded.body.id,
      occurredAt: bought,
      storeId,
      receiptId: 'R-0042',
    });
    // Recorded now, bought 400 days ago.
    expect(Date.parse(earned.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(importedEarn).toMatchObject({
      type: 'earn',
      occurredAt: importedAt,
      storeId,
      receiptId: 'OLD-7',
    });
    expect(refunded).toMatchObject({
      type: 'refund',
      purchaseId: recorded.body.id,
      occurredAt: bought,
      storeId,
      receiptId: 'R-0042',
    });
  });

  it('gives entries written before they carried it the purchase’s occurredAt, store and receipt', async () => {
    const customerId = await enrol();
    const bought = new Date(Date.now() - 90 * 86_400_000).toISOString();
    const recorded = await purchase(
      { customerId, storeId, total: usd(2500), occurredAt: bought, receiptId: 'R-OLD' },
      key(),
      ADMIN_KEY,
    );
    const item = (await tableItems(t.table)).find(
      (i) => i.type === 'earn' && i.purchaseId === recorded.body.id,
    );
    // As an entry of an import run before this version was stored.
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { PK: item?.PK, SK: item?.SK },
        UpdateExpression: 'REMOVE occurredAt, storeId, receiptId',
      }),
    );
    const [entry] = (await t.call('GET', `/v1/customers/${customerId}/activity`)).body.items;
    expect(entry).toMatchObject({ occurredAt: bought, storeId, receiptId: 'R-OLD' });
  });
});

describe('idempotency', () => {
  it('replays the original status and body with Idempotent-Replayed and records nothing twice', async () => {
    const customerId = await enrol();
    const body = { customerId, total: usd(1_234), receiptId: 'R-replay' };
    const first = await purchase(body, 'same-key');
    const again = await purchase(
      { receiptId: 'R-replay', total: usd(1_234), customerId },
      'same-key',
    );
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body).toEqual(first.body);
    expect(await wholeLedger(t, customerId)).toHaveLength(1);
  });

  it('replays the stored answer even after the program has changed', async () => {
    const customerId = await enrol();
    const body = { customerId, total: usd(2_000) };
    const first = await purchase(body, 'before-program-change');
    const program = (await t.call('GET', '/v1/program')).body;
    expect(
      (await t.call('PUT', '/v1/program', { body: { ...program, currency: 'EUR' } })).status,
    ).toBe(200);
    try {
      const again = await purchase(body, 'before-program-change');
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect((await purchase(body)).body.code).toBe('currency-mismatch');
    } finally {
      await t.call('PUT', '/v1/program', { body: program });
    }
  });

  it('refuses a key reused for a different request with 422 idempotency-key-reused', async () => {
    const customerId = await enrol();
    await purchase({ customerId, total: usd(100) }, 'reused-key');
    const res = await purchase({ customerId, total: usd(101) }, 'reused-key');
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('idempotency-key-reused');
  });

  it('scopes keys to the credential: another key may use the same Idempotency-Key', async () => {
    const customerId = await enrol();
    const otherPos = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body
      .key;
    const a = await purchase({ customerId, total: usd(300) }, 'shared-key', posKey);
    const b = await purchase({ customerId, total: usd(300) }, 'shared-key', otherPos);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).not.toBe(a.body.id);
  });

  it('requires an Idempotency-Key, and stores nothing for a request that fails validation', async () => {
    const customerId = await enrol();
    const missing = await t.call('POST', '/v1/purchases', {
      key: posKey,
      body: { customerId, total: usd(5) },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('idempotency-key-required');

    const invalid = await purchase({ customerId, total: usd(-5) }, 'fix-and-retry');
    expect(invalid.status).toBe(400);
    const fixed = await purchase({ customerId, total: usd(5_000) }, 'fix-and-retry');
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('turns 20 parallel requests with one key into exactly one purchase', async () => {
    const customerId = await enrol();
    const body = { customerId, total: usd(10_000), receiptId: 'R-parallel' };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => purchase(body, 'parallel-key')),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    const customer = await t.call('GET', `/v1/customers/${customerId}`);
    expect(customer.body.points.available).toBe(100);
    expect(customer.body.cadence.purchases).toBe(1);
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('credits every one of 20 parallel different purchases on one customer exactly once', async () => {
    const customerId = await enrol();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => purchase({ customerId, total: usd(1_000 + i * 100) })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    const expected = results.reduce((sum, r) => sum + r.body.pointsEarned, 0);
    const customer = await t.call('GET', `/v1/customers/${customerId}`);
    expect(customer.body.points.available).toBe(expected);
    expect(customer.body.cadence.purchases).toBe(20);
    expect(await wholeLedger(t, customerId)).toHaveLength(20);
    await expectBalanceEqualsLedger(t, customerId);
  });
});

describe('bad purchases get problem+json 4xx', () => {
  it.each([
    ['a float amount', { total: { amount: 10.5, currency: 'USD' } }, 'total.amount'],
    ['a string amount', { total: { amount: '1000', currency: 'USD' } }, 'total.amount'],
    ['a negative amount', { total: { amount: -1, currency: 'USD' } }, 'total.amount'],
    ['a lowercase currency', { total: { amount: 1, currency: 'usd' } }, 'total.currency'],
    ['no total', {}, 'total'],
  ])('refuses %s with 400 validation-failed', async (_, fields, path) => {
    const customerId = await enrol();
    const res = await purchase({ customerId, ...fields });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, code: 'validation-failed' });
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('refuses another currency with 422 currency-mismatch', async () => {
    const customerId = await enrol();
    const res = await purchase({ customerId, total: { amount: 1000, currency: 'EUR' } });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('currency-mismatch');
  });

  it('answers 404 for an unknown customer and records nothing', async () => {
    const res = await purchase({ customerId: 'cus_nobody', total: usd(1000) });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not-found');
  });

  it('refuses the same receiptId twice in one store with 409 conflict', async () => {
    const customerId = await enrol();
    expect((await purchase({ customerId, total: usd(100), receiptId: 'R-dup' })).status).toBe(201);
    const dup = await purchase({ customerId, total: usd(100), receiptId: 'R-dup' });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('conflict');
    expect(await wholeLedger(t, customerId)).toHaveLength(1);
  });

  it('requires an admin to name an existing store', async () => {
    const customerId = await enrol();
    const none = await purchase({ customerId, total: usd(100) }, key(), ADMIN_KEY);
    expect(none.status).toBe(400);
    const unknown = await purchase(
      { customerId, storeId: 'sto_nope', total: usd(100) },
      key(),
      ADMIN_KEY,
    );
    expect(unknown.status).toBe(404);
  });

  it('forbids a pos key from recording for another store', async () => {
    const customerId = await enrol();
    const res = await purchase({ customerId, storeId: 'sto_elsewhere', total: usd(100) });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
  });

  it('refuses malformed JSON and bodies over 64 KiB', async () => {
    const bad = await t.call('POST', '/v1/purchases', {
      key: posKey,
      rawBody: '{"customerId": ',
      headers: { 'idempotency-key': key() },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation-failed');
    const huge = await t.call('POST', '/v1/purchases', {
      key: posKey,
      rawBody: JSON.stringify({ customerId: 'x', note: 'x'.repeat(70_000) }),
      headers: { 'idempotency-key': key() },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload-too-large');
  });
});
