import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRedemptionCode } from '../../lib/store/redemptionCodes.ts';
import { captureOrVoidRedemption } from '../../lib/usecases/redemptions.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

// These tests run jobs as of days ahead: a simulation, as the job routes allow it.
process.env.LOYALTY_ALLOW_FUTURE_ASOF = '1';

let t: TestApi;
let storeId: string;
let posKey: string;
let appKey: string;
const partners: { id: string; key: string }[] = [];
let n = 0;
/** Every customer this file made, for the closing balance = ledger check. */
const everyone: string[] = [];
const usd = (amount: number) => ({ amount, currency: 'USD' });

/** A customer with `points` available (default program: 1 point per 100 cents). */
async function customerWith(points: number): Promise<{ id: string; token: string }> {
  const id = (await t.call('POST', '/v1/customers', { body: { externalId: `r-${++n}` } })).body.id;
  everyone.push(id);
  if (points > 0) {
    const res = await t.call('POST', '/v1/purchases', {
      key: posKey,
      body: { customerId: id, total: usd(points * 100) },
      headers: { 'idempotency-key': `earn-${n}` },
    });
    expect(res.body.pointsEarned).toBe(points);
  }
  const token = (await t.call('POST', `/v1/customers/${id}/session-tokens`, { key: appKey })).body
    .token;
  return { id, token };
}

async function codeFor(token: string): Promise<string> {
  const res = await t.call('POST', '/v1/me/redemption-codes', {
    key: null,
    headers: { authorization: `Bearer ${token}` },
  });
  return res.body.code;
}

const redeem = (key: string, body: Record<string, unknown>, idem = `red-${++n}`) =>
  t.call('POST', '/v1/redemptions', { key, body, headers: { 'idempotency-key': idem } });
const settle = (key: string, id: string, action: 'capture' | 'void', idem = `set-${++n}`) =>
  t.call('POST', `/v1/redemptions/${id}/${action}`, { key, headers: { 'idempotency-key': idem } });
const pointsOf = async (id: string) => (await t.call('GET', `/v1/customers/${id}`)).body.points;

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Own store' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
  appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
  for (const name of ['Partner A', 'Partner B']) {
    const id = (await t.call('POST', '/v1/partners', { body: { name } })).body.id;
    const key = (await t.call('POST', '/v1/api-keys', { body: { role: 'partner', partnerId: id } }))
      .body.key;
    partners.push({ id, key });
  }
});
afterAll(() => t.api.stop());

describe('authorize, capture, void', () => {
  it('holds points at authorization and spends them at capture', async () => {
    const c = await customerWith(500);
    const [a] = partners as [{ id: string; key: string }];
    const auth = await redeem(a.key, { code: await codeFor(c.token), amount: usd(123) });
    expect(auth.status).toBe(201);
    expect(auth.body).toMatchObject({
      status: 'authorized',
      customerId: c.id,
      amount: usd(123),
      points: 123,
      partnerId: a.id,
    });
    expect(auth.body.storeId).toBeUndefined();
    expect(Date.parse(auth.body.expiresAt)).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(await pointsOf(c.id)).toMatchObject({ available: 377, held: 123 });

    const captured = await settle(a.key, auth.body.id, 'capture');
    expect(captured.status).toBe(200);
    expect(captured.body.status).toBe('captured');
    expect(await pointsOf(c.id)).toMatchObject({ available: 377, held: 0 });
    const got = await t.call('GET', `/v1/redemptions/${auth.body.id}`, { key: a.key });
    expect(got.body.status).toBe('captured');
    const types = (await wholeLedger(t, c.id)).map((e) => [e.type, e.points]);
    expect(types).toEqual([
      ['redeem', 0],
      ['hold', -123],
      ['earn', 500],
    ]);
    await expectBalanceEqualsLedger(t, c.id);
  });

  it('gives the points back on void', async () => {
    const c = await customerWith(300);
    const auth = await redeem(posKey, { code: await codeFor(c.token), amount: usd(200) });
    expect(auth.body.storeId).toBe(storeId);
    const voided = await settle(posKey, auth.body.id, 'void');
    expect(voided.body.status).toBe('voided');
    expect(await pointsOf(c.id)).toMatchObject({ available: 300, held: 0 });
    await expectBalanceEqualsLedger(t, c.id);
  });

  it('spends at once with capture: true', async () => {
    const c = await customerWith(300);
    const res = await redeem(posKey, {
      code: await codeFor(c.token),
      amount: usd(300),
      capture: true,
    });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('captured');
    expect(await pointsOf(c.id)).toMatchObject({ available: 0, held: 0 });
    await expectBalanceEqualsLedger(t, c.id);
  });

  it('refuses invalid transitions with 409 invalid-state', async () => {
    const c = await customerWith(100);
    const a = await redeem(posKey, { code: await codeFor(c.token), amount: usd(10) });
    await settle(posKey, a.body.id, 'void');
    expect((await settle(posKey, a.body.id, 'capture')).body.code).toBe('invalid-state');
    const b = await redeem(posKey, { code: await codeFor(c.token), amount: usd(10) });
    await settle(posKey, b.body.id, 'capture');
    const res = await settle(posKey, b.body.id, 'void');
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('invalid-state');
    await expectBalanceEqualsLedger(t, c.id);
  });

  it('releases a hold not captured within holdMinutes, and then refuses to capture it', async () => {
    const c = await customerWith(100);
    const auth = await redeem(posKey, { code: await codeFor(c.token), amount: usd(40) });
    const principal = { keyId: 'k', role: 'pos' as const, storeId };
    const later = () => new Date(Date.parse(auth.body.expiresAt) + 1_000);
    const res = captureOrVoidRedemption(
      principal,
      auth.body.id,
      'capture',
      { scope: 'k', key: 'late', requestHash: 'h' },
      later,
    );
    await expect(res).rejects.toMatchObject({ code: 'invalid-state' });
    expect(await pointsOf(c.id)).toMatchObject({ available: 100, held: 0 });
    expect(
      (await t.call('GET', `/v1/redemptions/${auth.body.id}`, { key: posKey })).body.status,
    ).toBe('expired');
    expect((await wholeLedger(t, c.id))[0]).toMatchObject({ type: 'release', points: 40 });
    await expectBalanceEqualsLedger(t, c.id);
  });
});

describe('codes and balances', () => {
  it('refuses a used, unknown or expired code with 422 invalid-redemption-code', async () => {
    const c = await customerWith(100);
    const code = await codeFor(c.token);
    expect((await redeem(posKey, { code, amount: usd(1) })).status).toBe(201);
    const again = await redeem(posKey, { code, amount: usd(1) });
    expect(again.status).toBe(422);
    expect(again.body.code).toBe('invalid-redemption-code');
    expect((await redeem(posKey, { code: 'NOPE2345', amount: usd(1) })).body.code).toBe(
      'invalid-redemption-code',
    );
    const now = new Date();
    await insertRedemptionCode(
      {
        code: 'EXP23456',
        customerId: c.id,
        createdAt: now.toISOString(),
        expiresAt: Math.floor(now.getTime() / 1000) - 1,
      },
      now,
    );
    expect((await redeem(posKey, { code: 'EXP23456', amount: usd(1) })).body.code).toBe(
      'invalid-redemption-code',
    );
  });

  it('refuses more than the available points with 422 insufficient-points and keeps the code', async () => {
    const c = await customerWith(50);
    const code = await codeFor(c.token);
    const res = await redeem(posKey, { code, amount: usd(51) });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('insufficient-points');
    expect((await redeem(posKey, { code, amount: usd(50) })).status).toBe(201);
  });

  it('refuses zero, floats and another currency', async () => {
    const c = await customerWith(50);
    const code = await codeFor(c.token);
    expect((await redeem(posKey, { code, amount: usd(0) })).status).toBe(400);
    expect((await redeem(posKey, { code, amount: usd(1.5) })).status).toBe(400);
    expect((await redeem(posKey, { code, amount: { amount: 1, currency: 'EUR' } })).body.code).toBe(
      'currency-mismatch',
    );
  });

  it('gives exactly 10 of 50 concurrent authorizations against a balance that covers 10', async () => {
    const c = await customerWith(100);
    const codes = await Promise.all(Array.from({ length: 50 }, () => codeFor(c.token)));
    const results = await Promise.all(
      codes.map((code) => redeem(posKey, { code, amount: usd(10) })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(results.filter((r) => r.body.code === 'insufficient-points')).toHaveLength(40);
    expect(await pointsOf(c.id)).toMatchObject({ available: 0, held: 100 });
    await expectBalanceEqualsLedger(t, c.id);
  }, 60_000);
});

describe('idempotency and isolation', () => {
  it('replays authorize and capture with the same key, and does nothing twice', async () => {
    const c = await customerWith(100);
    const body = { code: await codeFor(c.token), amount: usd(30) };
    const first = await redeem(posKey, body, 'auth-once');
    const again = await redeem(posKey, body, 'auth-once');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const cap1 = await settle(posKey, first.body.id, 'capture', 'cap-once');
    const cap2 = await settle(posKey, first.body.id, 'capture', 'cap-once');
    expect(cap2.body).toEqual(cap1.body);
    expect(cap2.headers.get('idempotent-replayed')).toBe('true');
    expect(await pointsOf(c.id)).toMatchObject({ available: 70, held: 0 });
    await expectBalanceEqualsLedger(t, c.id);
  });

  it("hides partner A's redemption from partner B and from another store", async () => {
    const c = await customerWith(100);
    const [a, b] = partners as [{ id: string; key: string }, { id: string; key: string }];
    const auth = await redeem(a.key, { code: await codeFor(c.token), amount: usd(5) });
    expect((await t.call('GET', `/v1/redemptions/${auth.body.id}`, { key: b.key })).status).toBe(
      404,
    );
    expect((await settle(b.key, auth.body.id, 'capture')).status).toBe(404);
    expect((await t.call('GET', `/v1/redemptions/${auth.body.id}`, { key: posKey })).status).toBe(
      404,
    );
    expect((await t.call('GET', `/v1/redemptions/${auth.body.id}`)).status).toBe(200);
    expect((await settle(a.key, auth.body.id, 'capture')).status).toBe(200);
  });

  it('lets an admin redeem for a named store or partner', async () => {
    const c = await customerWith(100);
    const [a] = partners as [{ id: string; key: string }];
    const none = await t.call('POST', '/v1/redemptions', {
      body: { code: await codeFor(c.token), amount: usd(5) },
      headers: { 'idempotency-key': 'admin-none' },
    });
    expect(none.status).toBe(400);
    const ok = await t.call('POST', '/v1/redemptions', {
      body: { code: await codeFor(c.token), amount: usd(5), partnerId: a.id },
      headers: { 'idempotency-key': 'admin-partner' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.partnerId).toBe(a.id);
  });
});

describe('settlement', () => {
  it('sums exactly the captures at that partner in [from, to), for its own key only', async () => {
    // A partner of its own, so no other test's captures fall in the range.
    const aId = (await t.call('POST', '/v1/partners', { body: { name: 'Settled' } })).body.id;
    const aKey = (
      await t.call('POST', '/v1/api-keys', { body: { role: 'partner', partnerId: aId } })
    ).body.key;
    const a = { id: aId, key: aKey };
    const [, b] = partners as [unknown, { id: string; key: string }];
    const from = new Date(Date.now() - 1_000).toISOString();
    const c = await customerWith(1_000);
    const captured: number[] = [];
    for (const amount of [101, 37, 250]) {
      const auth = await redeem(a.key, { code: await codeFor(c.token), amount: usd(amount) });
      expect((await settle(a.key, auth.body.id, 'capture')).status).toBe(200);
      captured.push(amount);
    }
    const immediate = await redeem(a.key, {
      code: await codeFor(c.token),
      amount: usd(9),
      capture: true,
    });
    expect(immediate.body.status).toBe('captured');
    captured.push(9);
    const voided = await redeem(a.key, { code: await codeFor(c.token), amount: usd(55) });
    await settle(a.key, voided.body.id, 'void');
    await redeem(a.key, { code: await codeFor(c.token), amount: usd(66) }); // still authorized
    await redeem(b.key, { code: await codeFor(c.token), amount: usd(77), capture: true });
    const to = new Date(Date.now() + 1_000).toISOString();

    const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const res = await t.call('GET', `/v1/partners/${a.id}/settlement?${q}`, { key: a.key });
    expect(res.status).toBe(200);
    const sum = captured.reduce((x, y) => x + y, 0);
    expect(res.body).toEqual({
      partnerId: a.id,
      from,
      to,
      count: 4,
      amount: usd(sum),
      points: sum,
    });
    const empty = await t.call(
      'GET',
      `/v1/partners/${a.id}/settlement?from=${encodeURIComponent(to)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(empty.body).toMatchObject({ count: 0, amount: usd(0), points: 0 });

    expect(
      (await t.call('GET', `/v1/partners/${a.id}/settlement?${q}`, { key: b.key })).status,
    ).toBe(404);
    expect(
      (await t.call('GET', `/v1/partners/${b.id}/settlement?${q}`)).body.amount.amount,
    ).toBeGreaterThanOrEqual(77);
    expect(
      (
        await t.call(
          'GET',
          `/v1/partners/${a.id}/settlement?from=${encodeURIComponent(to)}&to=${encodeURIComponent(from)}`,
        )
      ).status,
    ).toBe(400);
    expect(
      (await t.call('GET', `/v1/partners/${a.id}/settlement?from=yesterday&to=today`)).status,
    ).toBe(400);
    await expectBalanceEqualsLedger(t, c.id);
  });
});

describe('the release-holds job', () => {
  it('gives back lapsed holds once, reading only what is due', async () => {
    const c = await customerWith(200);
    const lapsing = await redeem(posKey, { code: await codeFor(c.token), amount: usd(60) });
    const captured = await redeem(posKey, { code: await codeFor(c.token), amount: usd(40) });
    await settle(posKey, captured.body.id, 'capture');
    expect(await pointsOf(c.id)).toMatchObject({ available: 100, held: 60 });

    const early = await t.call('POST', '/v1/jobs/release-holds', { body: {} });
    expect(early.status).toBe(200);
    expect((await pointsOf(c.id)).held).toBe(60);

    const asOf = new Date(Date.parse(lapsing.body.expiresAt) + 1_000).toISOString();
    const run = await t.call('POST', '/v1/jobs/release-holds', { body: { asOf } });
    expect(run.status).toBe(200);
    expect(run.body.asOf).toBe(asOf);
    expect(run.body.released).toBeGreaterThanOrEqual(1);
    expect(await pointsOf(c.id)).toMatchObject({ available: 160, held: 0 });
    expect(
      (await t.call('GET', `/v1/redemptions/${lapsing.body.id}`, { key: posKey })).body.status,
    ).toBe('expired');
    expect(
      (await t.call('GET', `/v1/redemptions/${captured.body.id}`, { key: posKey })).body.status,
    ).toBe('captured');

    const again = await t.call('POST', '/v1/jobs/release-holds', { body: { asOf } });
    expect(again.body.released).toBe(0);
    expect(await pointsOf(c.id)).toMatchObject({ available: 160, held: 0 });
    await expectBalanceEqualsLedger(t, c.id);
  });

  it('refuses a malformed asOf with 400', async () => {
    const res = await t.call('POST', '/v1/jobs/release-holds', { body: { asOf: 'soon' } });
    expect(res.status).toBe(400);
  });
});

describe('guessing codes', () => {
  it('answers 429 rate-limited with Retry-After after 10 wrong codes a minute, per credential', async () => {
    // Keep the 11 attempts inside one minute.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    const guesser = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body
      .key;
    for (let i = 0; i < 10; i++) {
      const res = await redeem(guesser, {
        code: `WRONG${String(i).padStart(3, '2')}`,
        amount: usd(1),
      });
      expect(res.body.code).toBe('invalid-redemption-code');
    }
    const blocked = await redeem(guesser, { code: 'WRONG999', amount: usd(1) });
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('rate-limited');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Even a right code waits; another credential is unaffected.
    const c = await customerWith(10);
    expect((await redeem(guesser, { code: await codeFor(c.token), amount: usd(1) })).status).toBe(
      429,
    );
    expect((await redeem(posKey, { code: await codeFor(c.token), amount: usd(1) })).status).toBe(
      201,
    );
  }, 90_000);

  it('answers at most 10 wrong codes a minute as wrong however parallel, and then 429 even to a right one', async () => {
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    const guesser = (
      await t.call('POST', '/v1/api-keys', {
        body: { role: 'partner', partnerId: partners[0]?.id },
      })
    ).body.key;
    const c = await customerWith(10);
    const right = await codeFor(c.token);
    const answers = await Promise.all([
      ...Array.from({ length: 60 }, (_, i) =>
        redeem(guesser, { code: `PAR${String(i).padStart(5, '2')}`, amount: usd(1) }),
      ),
    ]);
    const codes = answers.map((a) => a.body.code);
    expect(codes.filter((code) => code === 'invalid-redemption-code')).toHaveLength(10);
    expect(codes.filter((code) => code === 'rate-limited')).toHaveLength(50);
    // The 11th answer of the minute is 429 whether or not the code is right.
    const late = await redeem(guesser, { code: right, amount: usd(1) });
    expect(late.status).toBe(429);
    expect(await pointsOf(c.id)).toMatchObject({ available: 10, held: 0 });
  }, 90_000);
});

describe('after all of the above', () => {
  it('replays a void with the same key and gives the points back once', async () => {
    const c = await customerWith(100);
    const auth = await redeem(posKey, { code: await codeFor(c.token), amount: usd(25) });
    const first = await settle(posKey, auth.body.id, 'void', 'void-once');
    const again = await settle(posKey, auth.body.id, 'void', 'void-once');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await pointsOf(c.id)).toMatchObject({ available: 100, held: 0 });
  });

  it('keeps balance = ledger, and available and held at or above 0, for every customer', async () => {
    expect(everyone.length).toBeGreaterThan(10);
    for (const id of everyone) {
      await expectBalanceEqualsLedger(t, id);
      const points = await pointsOf(id);
      expect(points.available).toBeGreaterThanOrEqual(0);
      expect(points.held).toBeGreaterThanOrEqual(0);
    }
  });
});
