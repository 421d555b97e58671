import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUsableCode } from '../../lib/store/redemptionCodes.ts';
import { mintCustomerToken } from '../../lib/tokens.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

let t: TestApi;
let appKey: string;
let customerId: string;
let otherId: string;

const bearer = (token: string) => ({ key: null, headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  t = await startTestApi();
  appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
  customerId = (await t.call('POST', '/v1/customers', { body: { email: 'me@example.com' } })).body
    .id;
  otherId = (await t.call('POST', '/v1/customers', { body: { email: 'other@example.com' } })).body
    .id;
  const storeId = (await t.call('POST', '/v1/stores', { body: { name: 'S' } })).body.id;
  await t.call('POST', '/v1/purchases', {
    body: { customerId, storeId, total: { amount: 2_500, currency: 'USD' } },
    headers: { 'idempotency-key': 'me-1' },
  });
});
afterAll(() => t.api.stop());

describe('customer session tokens', () => {
  it('lets an app key mint a token valid for at most an hour', async () => {
    const before = Date.now();
    const res = await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey });
    expect(res.status).toBe(201);
    expect(res.body.token).toEqual(expect.any(String));
    const expiresAt = Date.parse(res.body.expiresAt);
    expect(expiresAt).toBeGreaterThan(before);
    expect(expiresAt).toBeLessThanOrEqual(before + 3_600_000 + 1_000);
  });

  it('answers 404 for a token for an unknown customer, and 403 for a pos key', async () => {
    expect(
      (await t.call('POST', '/v1/customers/cus_nobody/session-tokens', { key: appKey })).status,
    ).toBe(404);
    const storeId = (await t.call('POST', '/v1/stores', { body: { name: 'T' } })).body.id;
    const pos = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
    const res = await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: pos });
    expect(res.status).toBe(403);
  });
});

describe('/v1/me', () => {
  it("answers with the token's own customer and ledger only", async () => {
    const { token } = (
      await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey })
    ).body;
    const me = await t.call('GET', '/v1/me', bearer(token));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: customerId, points: { available: 25 } });
    const activity = await t.call('GET', '/v1/me/activity', bearer(token));
    expect(activity.status).toBe(200);
    expect(activity.body.items).toHaveLength(1);
    expect(activity.body.items[0]).toMatchObject({ type: 'earn', points: 25, balanceAfter: 25 });

    const other = (await t.call('POST', `/v1/customers/${otherId}/session-tokens`, { key: appKey }))
      .body.token;
    expect((await t.call('GET', '/v1/me', bearer(other))).body.id).toBe(otherId);
    expect((await t.call('GET', '/v1/me/activity', bearer(other))).body.items).toEqual([]);
  });

  it('refuses no token, a tampered, expired or foreign-signed token with 401', async () => {
    const { token } = (
      await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey })
    ).body;
    const [header, payload, signature] = token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: otherId }),
    ).toString('base64url');
    const expired = (await mintCustomerToken(customerId, new Date(Date.now() - 2 * 3_600_000)))
      .token;
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(customerId)
      .setIssuer('loyalty-api')
      .setAudience('loyalty-customer')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-this-deployments-secret'));
    for (const bad of [`${header}.${forgedPayload}.${signature}`, expired, foreign, 'garbage']) {
      const res = await t.call('GET', '/v1/me', bearer(bad));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthorized');
    }
    const none = await t.call('GET', '/v1/me', { key: null });
    expect(none.status).toBe(401);
  });

  it('is for customer tokens only: API keys get 403, and tokens cannot call key routes', async () => {
    expect((await t.call('GET', '/v1/me')).status).toBe(403);
    expect((await t.call('GET', '/v1/me', { key: appKey })).status).toBe(403);
    const { token } = (
      await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey })
    ).body;
    const res = await t.call('GET', `/v1/customers/${customerId}`, bearer(token));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
  });

  it("reads only the credential the route's authorizer caches under", async () => {
    const { token } = (
      await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey })
    ).body;
    // An API key sent beside the token must not decide what is cached under the token.
    const both = await t.call('GET', '/v1/me', { ...bearer(token), key: appKey });
    expect(both.status).toBe(200);
    expect((await t.call('GET', '/v1/me', bearer(token))).status).toBe(200);
    // And a token beside a key on a key route: the key decides.
    const keyRoute = await t.call('GET', `/v1/customers/${customerId}`, {
      ...bearer(token),
      key: appKey,
    });
    expect(keyRoute.status).toBe(200);
  });
});

describe('redemption codes', () => {
  it('gives the customer 8-character single-use codes valid for 10 minutes', async () => {
    const { token } = (
      await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey })
    ).body;
    const before = Date.now();
    const first = await t.call('POST', '/v1/me/redemption-codes', bearer(token));
    const second = await t.call('POST', '/v1/me/redemption-codes', bearer(token));
    expect(first.status).toBe(201);
    expect(first.body.code).toMatch(/^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{8}$/);
    expect(second.body.code).not.toBe(first.body.code);
    const expiresAt = Date.parse(first.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
  });

  it('stores a code so a till finds it with one read, until it expires', async () => {
    const { token } = (
      await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey })
    ).body;
    const { code, expiresAt } = (await t.call('POST', '/v1/me/redemption-codes', bearer(token)))
      .body;
    expect(await findUsableCode(code, new Date())).toMatchObject({ code, customerId });
    expect(await findUsableCode(code, new Date(Date.parse(expiresAt) - 1_000))).toBeDefined();
    expect(await findUsableCode(code, new Date(Date.parse(expiresAt)))).toBeUndefined();
    expect(await findUsableCode('ZZZZZZZZ', new Date())).toBeUndefined();
  });

  it('is for customer tokens only', async () => {
    expect((await t.call('POST', '/v1/me/redemption-codes', { key: appKey })).status).toBe(403);
    expect((await t.call('POST', '/v1/me/redemption-codes', { key: null })).status).toBe(401);
  });
});
