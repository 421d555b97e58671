import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { routeKey, routes } from '../../lib/routes.ts';
import { onDynamoCall } from '../../lib/store/client.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

let t: TestApi;
const keys: Record<string, string> = {};
let customerId: string;

beforeAll(async () => {
  t = await startTestApi();
  const storeId = (await t.call('POST', '/v1/stores', { body: { name: 'S' } })).body.id;
  const partnerId = (await t.call('POST', '/v1/partners', { body: { name: 'P' } })).body.id;
  for (const [role, extra] of [
    ['pos', { storeId }],
    ['partner', { partnerId }],
    ['app', {}],
    ['admin', {}],
  ] as const) {
    const res = await t.call('POST', '/v1/api-keys', {
      body: { role, ...extra, name: `${role} key` },
    });
    expect(res.status).toBe(201);
    expect(res.body.key).toMatch(/^lk_[A-Za-z0-9_-]{43}$/);
    keys[role] = res.body.key;
  }
  customerId = (await t.call('POST', '/v1/customers', { body: { email: 'm@x.io' } })).body.id;
  keys.customer = (
    await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: keys.app as string })
  ).body.token;
});
afterAll(() => t.api.stop());

describe('credentials', () => {
  it('answers 401 problem+json for a missing, unknown or malformed key', async () => {
    for (const key of [null, 'lk_unknown', 'x'.repeat(600)]) {
      const res = await t.call('GET', '/v1/program', { key });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.body.code).toBe('unauthorized');
    }
  });

  it('needs no credential for health', async () => {
    const res = await t.call('GET', '/v1/health', { key: null });
    expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('needs no credential for the merchant console, which reads no data', async () => {
    for (const path of ['/console', '/console/']) {
      const calls: string[] = [];
      const stop = onDynamoCall((call) => calls.push(String(call)));
      const res = await fetch(`${t.api.url}${path}`);
      stop();
      expect(res.status, path).toBe(200);
      expect(calls, path).toEqual([]);
    }
  });

  it('serves the OpenAPI document without a credential, with every route in it', async () => {
    const res = await t.call('GET', '/v1/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\.1/);
    for (const route of routes) {
      expect(
        res.body.paths[route.path]?.[route.method.toLowerCase()],
        routeKey(route),
      ).toBeDefined();
    }
  });

  it('reads a key once a minute, as API Gateway caches the authorizer', async () => {
    const { key } = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body;
    const keyReads: unknown[] = [];
    const stop = onDynamoCall((_, input) => {
      // The document client's input: the key before or after marshalling.
      const pk = JSON.stringify((input as { Key?: unknown }).Key ?? '');
      if (pk.includes('KEYHASH#')) keyReads.push(pk);
    });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await t.call('GET', '/v1/program', { key })).status).toBe(200);
      }
    } finally {
      stop();
    }
    // The key's hash is read for the first request only.
    expect(keyReads).toHaveLength(1);
  });

  it('stops a revoked key within the 60 s the authorizer caches it, and revoking twice is still 204', async () => {
    const created = await t.call('POST', '/v1/api-keys', { body: { role: 'app' } });
    expect((await t.call('GET', '/v1/program', { key: created.body.key })).status).toBe(200);
    expect((await t.call('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(204);
    // As behind API Gateway: the cached answer holds until its 60 s are up.
    expect((await t.call('GET', '/v1/program', { key: created.body.key })).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      vi.setSystemTime(Date.now() + 61_000);
      expect((await t.call('GET', '/v1/program', { key: created.body.key })).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
    expect((await t.call('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await t.call('DELETE', '/v1/api-keys/key_unknown')).status).toBe(404);
  });

  it('validates new keys: a pos key needs an existing store', async () => {
    expect((await t.call('POST', '/v1/api-keys', { body: { role: 'pos' } })).status).toBe(400);
    expect(
      (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId: 'sto_x' } })).status,
    ).toBe(404);
    expect(
      (await t.call('POST', '/v1/api-keys', { body: { role: 'app', storeId: 'sto_x' } })).status,
    ).toBe(400);
    expect((await t.call('POST', '/v1/api-keys', { body: { role: 'customer' } })).status).toBe(400);
  });
});

describe('the role matrix of the route table', () => {
  // [method, path, body, roles allowed] ; allowed calls must not be 401/403, others must be 403.
  const matrix: [string, () => string, unknown, string[]][] = [
    ['GET', () => '/v1/program', undefined, ['admin', 'pos', 'partner', 'app']],
    ['PUT', () => '/v1/program', { name: 'x' }, ['admin']],
    ['POST', () => '/v1/customers', { externalId: `m-${Math.random()}` }, ['admin', 'pos', 'app']],
    ['GET', () => '/v1/customers?email=m@x.io', undefined, ['admin', 'pos', 'app']],
    ['GET', () => `/v1/customers/${customerId}`, undefined, ['admin', 'pos', 'app']],
    ['GET', () => `/v1/customers/${customerId}/activity`, undefined, ['admin', 'pos', 'app']],
    ['POST', () => `/v1/customers/${customerId}/session-tokens`, undefined, ['admin', 'app']],
    ['GET', () => '/v1/me', undefined, ['customer']],
    ['GET', () => '/v1/me/activity', undefined, ['customer']],
    ['POST', () => '/v1/me/redemption-codes', undefined, ['customer']],
    ['POST', () => `/v1/customers/${customerId}/exports`, undefined, ['admin', 'app']],
    ['POST', () => '/v1/me/exports', undefined, ['customer']],
    // Another caller's export, or none: 404 to the roles allowed, 403 to pos and partner.
    ['GET', () => '/v1/exports/exp_x', undefined, ['admin', 'app', 'customer']],
    ['POST', () => '/v1/redemptions', {}, ['admin', 'pos', 'partner']],
    ['GET', () => '/v1/redemptions/red_x', undefined, ['admin', 'pos', 'partner']],
    ['POST', () => '/v1/redemptions/red_x/capture', undefined, ['admin', 'pos', 'partner']],
    ['POST', () => '/v1/redemptions/red_x/void', undefined, ['admin', 'pos', 'partner']],
    ['POST', () => '/v1/jobs/release-holds', {}, ['admin']],
    ['POST', () => '/v1/jobs/activate-pending', {}, ['admin']],
    ['POST', () => '/v1/jobs/expire-points', {}, ['admin']],
    ['POST', () => '/v1/jobs/review-tiers', {}, ['admin']],
    [
      'POST',
      () => `/v1/customers/${customerId}/adjustments`,
      { points: 1, reason: 'r' },
      ['admin'],
    ],
    ['GET', () => '/v1/events', undefined, ['admin']],
    // A merge of an unknown customer: 404 to those allowed, 403 to the rest.
    ['POST', () => `/v1/customers/${customerId}/merge`, { from: 'cus_unknown' }, ['admin', 'app']],
    // Erase of an unknown customer (never the shared one): 404 to those allowed.
    ['POST', () => '/v1/customers/cus_unknown/erase', undefined, ['admin', 'app']],
    ['POST', () => '/v1/jobs/lapse-scan', {}, ['admin']],
    ['POST', () => '/v1/jobs/birthday-bonus', {}, ['admin']],
    ['GET', () => '/v1/lapsed-customers', undefined, ['admin']],
    ['PUT', () => `/v1/customers/${customerId}/lapse-reason`, { reason: 'price' }, ['admin']],
    ['GET', () => '/v1/reports/retention', undefined, ['admin']],
    ['GET', () => '/v1/reports/lapse-quality', undefined, ['admin']],
    ['GET', () => '/v1/reports/daily?from=2026-01-01&to=2026-01-31', undefined, ['admin']],
    ['POST', () => '/v1/jobs/roll-up-reports', {}, ['admin']],
    [
      'GET',
      () => '/v1/partners/ptn_x/settlement?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z',
      undefined,
      ['admin', 'partner'],
    ],
    ['POST', () => '/v1/purchases', {}, ['admin', 'pos']],
    ['POST', () => '/v1/purchases/quote', {}, ['admin', 'pos']],
    ['POST', () => '/v1/campaigns', {}, ['admin']],
    ['GET', () => '/v1/campaigns', undefined, ['admin']],
    ['GET', () => '/v1/campaigns/cmp_x', undefined, ['admin']],
    ['GET', () => '/v1/campaigns/cmp_x/uplift?windowDays=90', undefined, ['admin']],
    ['PATCH', () => '/v1/campaigns/cmp_x', { name: 'n' }, ['admin']],
    ['GET', () => '/v1/purchases/pur_x', undefined, ['admin', 'pos']],
    ['POST', () => '/v1/purchases/pur_x/refunds', {}, ['admin', 'pos']],
    ['POST', () => '/v1/stores', { name: 'n' }, ['admin']],
    ['GET', () => '/v1/stores', undefined, ['admin']],
    ['POST', () => '/v1/partners', { name: 'n' }, ['admin']],
    ['GET', () => '/v1/partners', undefined, ['admin']],
    ['POST', () => '/v1/api-keys', {}, ['admin']],
    ['DELETE', () => '/v1/api-keys/key_x', undefined, ['admin']],
    [
      'POST',
      () => '/v1/imports/customers',
      { items: [{ externalId: `m-${Math.random()}` }] },
      ['admin'],
    ],
    ['POST', () => '/v1/imports/purchases', { items: [{}] }, ['admin']],
    ['POST', () => '/v1/jobs/expiry-reminders', {}, ['admin']],
    ['POST', () => '/v1/jobs/deliver-webhooks', {}, ['admin']],
    ['POST', () => '/v1/jobs/exports', {}, ['admin']],
    ['POST', () => '/v1/webhook-endpoints', {}, ['admin']],
    ['GET', () => '/v1/webhook-endpoints', undefined, ['admin']],
    ['GET', () => '/v1/webhook-endpoints/whe_x', undefined, ['admin']],
    ['DELETE', () => '/v1/webhook-endpoints/whe_x', undefined, ['admin']],
    ['POST', () => '/v1/webhook-endpoints/whe_x/rotate-secret', undefined, ['admin']],
    ['POST', () => '/v1/webhook-endpoints/whe_x/test', undefined, ['admin']],
    ['GET', () => '/v1/webhook-endpoints/whe_x/deliveries', undefined, ['admin']],
    // Last: the token's customer is erased by it (a real erase: 200 to the customer).
    ['POST', () => '/v1/me/erase', undefined, ['customer']],
  ];

  it('covers every route of the route table', () => {
    const covered = new Set(
      matrix.map(
        ([method, path]) =>
          `${method} ${path()
            .split('?')[0]
            ?.replace(/(cus|red|ptn|pur|key|cmp|whe|exp)_[0-9A-Za-z]+/g, '{id}')}`,
      ),
    );
    const secured = routes.filter((r) => r.roles !== 'public').map((r) => routeKey(r));
    expect(secured.filter((k) => !covered.has(k))).toEqual([]);
  });

  it.each(matrix)('%s %s', async (method, path, body, allowed) => {
    for (const role of ['admin', 'pos', 'partner', 'app', 'customer']) {
      const credential =
        role === 'customer'
          ? { key: null, auth: { authorization: `Bearer ${keys.customer}` } }
          : { key: keys[role] as string, auth: {} as Record<string, string> };
      const res = await t.call(method, path(), {
        key: credential.key,
        ...(body !== undefined && { body }),
        headers: { 'idempotency-key': `m-${Math.random()}`, ...credential.auth },
      });
      if (allowed.includes(role)) {
        expect([401, 403], `${role} ${method} ${path()}`).not.toContain(res.status);
      } else {
        expect(res.status, `${role} ${method} ${path()}`).toBe(403);
        expect(res.body.code).toBe('forbidden');
      }
      expect(res.status).toBeLessThan(500);
    }
  });
});

describe('unknown routes', () => {
  it('answers 404 problem+json', async () => {
    const res = await t.call('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not-found');
  });
});
