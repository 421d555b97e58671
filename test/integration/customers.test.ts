import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.api.stop());

describe('enrolment and lookup', () => {
  it('enrols with identifiers and a fresh balance at the first tier', async () => {
    const res = await t.call('POST', '/v1/customers', {
      body: { email: 'Ada@Example.com', phone: '+14155550123', externalId: 'POS-1', name: 'Ada' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      email: 'ada@example.com',
      phone: '+14155550123',
      externalId: 'POS-1',
      name: 'Ada',
      tier: { id: 'member', name: 'Member', multiplier: 1 },
      nextTier: { id: 'silver', spendNeeded: { amount: 50000, currency: 'USD' } },
      points: { available: 0, pending: 0, held: 0, lifetimeEarned: 0 },
      status: 'active',
      lastPurchaseAt: null,
      lapsedAt: null,
    });
    expect(res.body.id).toMatch(/^cus_[0-9A-Z]{26}$/);
  });

  it('finds a customer by email (any case), phone or externalId', async () => {
    const { body } = await t.call('POST', '/v1/customers', {
      body: { email: 'bo@example.com', phone: '+447700900123', externalId: 'POS-2' },
    });
    for (const query of ['email=BO%40example.com', 'phone=%2B447700900123', 'externalId=POS-2']) {
      const found = await t.call('GET', `/v1/customers?${query}`);
      expect(found.status).toBe(200);
      expect(found.body.id).toBe(body.id);
    }
    expect((await t.call('GET', '/v1/customers?email=nobody%40example.com')).status).toBe(404);
    expect((await t.call('GET', '/v1/customers')).status).toBe(400);
    expect((await t.call('GET', '/v1/customers?email=a%40b.co&externalId=x')).status).toBe(400);
  });

  it('refuses an identifier already in use with 409 and the existing customer id', async () => {
    const first = await t.call('POST', '/v1/customers', { body: { email: 'cy@example.com' } });
    const again = await t.call('POST', '/v1/customers', {
      body: { email: 'CY@example.com', externalId: 'fresh-id' },
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict', existingCustomerId: first.body.id });
    // Nothing of the refused enrolment was kept: its externalId is still free.
    expect((await t.call('GET', '/v1/customers?externalId=fresh-id')).status).toBe(404);
  });

  it('enrols exactly one of 10 parallel enrolments with the same email', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.call('POST', '/v1/customers', { body: { email: 'race@example.com' } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const winner = results.find((r) => r.status === 201)?.body.id;
    for (const loser of results.filter((r) => r.status !== 201)) {
      expect(loser.status).toBe(409);
      expect(loser.body.existingCustomerId).toBe(winner);
    }
  });

  it.each([
    [{}, ''],
    [{ name: 'No Identifier' }, ''],
    [{ email: 'not-an-email' }, 'email'],
    [{ phone: '0044 7700 900123' }, 'phone'],
    [{ externalId: '' }, 'externalId'],
    [{ externalId: 42 }, 'externalId'],
  ])('refuses %j with 400 validation-failed', async (body, path) => {
    const res = await t.call('POST', '/v1/customers', { body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('answers 404 for an unknown customer id', async () => {
    const res = await t.call('GET', '/v1/customers/cus_unknown');
    expect(res.status).toBe(404);
    expect((await t.call('GET', '/v1/customers/cus_unknown/activity')).status).toBe(404);
  });
});

describe('activity pages', () => {
  it('pages through the ledger newest first without gaps or repeats', async () => {
    const storeId = (await t.call('POST', '/v1/stores', { body: { name: 'S' } })).body.id;
    const customerId = (await t.call('POST', '/v1/customers', { body: { externalId: 'pager' } }))
      .body.id;
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) {
      const res = await t.call('POST', '/v1/purchases', {
        body: { customerId, storeId, total: { amount: i * 100, currency: 'USD' } },
        headers: { 'idempotency-key': `pager-${i}` },
      });
      ids.push(res.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { items: { purchaseId: string }[]; nextCursor: string | null } } =
        await t.call(
          'GET',
          `/v1/customers/${customerId}/activity?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        );
      seen.push(...res.body.items.map((e) => e.purchaseId));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('refuses a bad limit or a forged cursor with 400', async () => {
    const { body } = await t.call('POST', '/v1/customers', { body: { externalId: 'cursor' } });
    for (const q of [
      'limit=0',
      'limit=101',
      'limit=abc',
      'cursor=bm9wZQ',
      `cursor=${Buffer.from('{"PK":"CUS#other","SK":"x"}').toString('base64url')}`,
    ]) {
      const res = await t.call('GET', `/v1/customers/${body.id}/activity?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    }
  });
});

describe('program', () => {
  const valid = {
    ...defaultProgram,
    name: 'Test',
    tiers: [
      { id: 'member', name: 'Member', qualifyingSpend: 0, multiplier: 1 },
      { id: 'plus', name: 'Plus', qualifyingSpend: 1000, multiplier: 1.15 },
    ],
  };

  it.each([
    ['no tier at 0', { tiers: [{ id: 'a', name: 'A', qualifyingSpend: 10, multiplier: 1 }] }],
    ['duplicate tier ids', { tiers: [valid.tiers[0], { ...valid.tiers[1], id: 'member' }] }],
    ['unsorted tiers', { tiers: [valid.tiers[0], { ...valid.tiers[1], qualifyingSpend: 0 }] }],
    ['a multiplier below 1', { tiers: [{ ...valid.tiers[0], multiplier: 0.5 }] }],
    ['a zero earn rate', { earnRate: { points: 0, per: 100 } }],
    ['a zero cash value', { cashValue: { points: 100, amount: 0 } }],
    ['a float rate', { earnRate: { points: 1.5, per: 100 } }],
    ['an unknown field', { bonus: true }],
  ])('refuses a program with %s', async (_, change) => {
    const res = await t.call('PUT', '/v1/program', { body: { ...valid, ...change } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation-failed');
  });

  it('replaces the program and earns at the new rules (1.15 exactly, no float drift)', async () => {
    const put = await t.call('PUT', '/v1/program', { body: valid });
    expect(put.status).toBe(200);
    expect((await t.call('GET', '/v1/program')).body).toEqual(valid);
    const storeId = (await t.call('POST', '/v1/stores', { body: { name: 'S2' } })).body.id;
    const customerId = (await t.call('POST', '/v1/customers', { body: { externalId: 'plus' } }))
      .body.id;
    const buy = (amount: number, k: string) =>
      t.call('POST', '/v1/purchases', {
        body: { customerId, storeId, total: { amount, currency: 'USD' } },
        headers: { 'idempotency-key': k },
      });
    expect((await buy(1_000, 'p1')).body.customer.tier.id).toBe('plus');
    // floor(floor(10000/100) x 1.15) = 115; in floating point 100 x 1.15 = 114.99999999999999.
    expect((await buy(10_000, 'p2')).body.pointsEarned).toBe(115);
  });
});
