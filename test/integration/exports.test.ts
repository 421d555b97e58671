import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentName, exportSink } from '../../lib/exports/sinks.ts';
import { deleteCustomerExports } from '../../lib/store/exports.ts';
import { allPages, redemptionCodeFor, startTestApi, type TestApi } from '../support/api.ts';
import { receiver } from '../support/receiver.ts';

/**
 * Customers' data exports through the real HTTP server on DynamoDB Local: a customer with
 * every kind of record, exported by the job's route, the document fetched by its link and
 * checked field by field against the API's own reads.
 */
let t: TestApi;
let n = 0;
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
const keys: Record<string, string> = {};
let storeId: string;
let customerId: string;
let token: string;
let hook: Awaited<ReturnType<typeof receiver>>;
let endpointId: string;

const post = (path: string, body: unknown, key?: string, headers: Record<string, string> = {}) =>
  t.call('POST', path, {
    ...(key !== undefined && { key }),
    ...(body !== undefined && { body }),
    headers: { 'idempotency-key': `exp-${++n}`, ...headers },
  });
const asCustomer = (bearer: string) => ({
  key: null,
  headers: { authorization: `Bearer ${bearer}` },
});

async function ok(res: Promise<{ status: number; body: any }>, status = 200) {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

/** Runs the exports job now and answers its result. */
const runExports = () => ok(post('/v1/jobs/exports', {}));

/** Requests an export with `key` (or a customer token) and runs the job until it is ready. */
async function readyExport(
  request: () => Promise<{ status: number; body: any }>,
  read: (id: string) => Promise<{ status: number; body: any }>,
) {
  const requested = await ok(request(), 202);
  expect(requested).toEqual({ id: expect.stringMatching(/^exp_/), status: 'running' });
  expect(await ok(read(requested.id))).toEqual({ id: requested.id, status: 'running' });
  expect(await runExports()).toMatchObject({ exported: 1, failed: 0, complete: true });
  const ready = await ok(read(requested.id));
  expect(ready).toMatchObject({ id: requested.id, status: 'ready' });
  return ready as { id: string; status: 'ready'; url: string; expiresAt: string };
}

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await ok(post('/v1/stores', { name: 'Export St' }), 201)).id;
  const partnerId = (await ok(post('/v1/partners', { name: 'Books' }), 201)).id;
  for (const [role, extra] of [
    ['pos', { storeId }],
    ['partner', { partnerId }],
    ['app', {}],
  ] as const) {
    keys[role] = (await ok(post('/v1/api-keys', { role, ...extra }), 201)).key;
  }
  hook = await receiver();
  endpointId = (await ok(post('/v1/webhook-endpoints', { url: hook.url, events: ['*'] }), 201)).id;
  // A bonus campaign that ran over the purchases below: 50 points on each.
  await ok(
    post('/v1/campaigns', {
      name: 'Fifty on everything',
      type: 'bonus',
      points: 50,
      startsAt: new Date(Date.now() - 90 * DAY).toISOString(),
    }),
    201,
  );
  customerId = (
    await ok(
      post('/v1/customers', {
        email: 'ada@example.com',
        phone: '+447700900123',
        name: 'Ada Lovelace',
        externalId: 'crm-1815',
        birthDate: '1985-12-10',
      }),
      201,
    )
  ).id;
  // Three purchases with lines 10 days apart (the first takes Ada to Silver: tier.changed).
  const purchaseIds: string[] = [];
  for (const [i, daysAgo] of [60, 50, 40].entries()) {
    const purchase = await ok(
      post('/v1/purchases', {
        customerId,
        storeId,
        total: usd(i === 0 ? 60_000 : 3_000),
        receiptId: `r-${i}`,
        occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
        lines: [
          { sku: 'latte', category: 'coffee', quantity: 2, unitPrice: usd(500) },
          { sku: `item-${i}`, quantity: 1, unitPrice: usd(i === 0 ? 59_000 : 2_000) },
        ],
      }),
      201,
    );
    purchaseIds.push(purchase.id);
  }
  await ok(post(`/v1/purchases/${purchaseIds[1]}/refunds`, { amount: usd(1_000) }), 201);
  // A redemption captured at the partner, with a code; and a code not used.
  const code = await redemptionCodeFor(t, customerId, keys.app as string);
  await ok(post('/v1/redemptions', { code, amount: usd(300), capture: true }, keys.partner), 201);
  token = (await ok(post(`/v1/customers/${customerId}/session-tokens`, undefined, keys.app), 201))
    .token;
  await ok(t.call('POST', '/v1/me/redemption-codes', asCustomer(token)), 201);
  // Lapsed (three purchases 10 days apart, the last 40 days ago), with the reason recorded.
  expect(await ok(post('/v1/jobs/lapse-scan', {}))).toMatchObject({ flagged: 1 });
  await ok(
    t.call('PUT', `/v1/customers/${customerId}/lapse-reason`, {
      body: { reason: 'price', note: 'Found it cheaper elsewhere' },
    }),
  );
  // The events delivered to the endpoint.
  await ok(post('/v1/jobs/deliver-webhooks', {}));
}, 120_000);
afterAll(async () => {
  await hook?.close();
  await t?.api.stop();
});

describe('an export of a customer with every kind of record', () => {
  let doc: any;
  let ready: { id: string; url: string; expiresAt: string };

  beforeAll(async () => {
    ready = await readyExport(
      () => post(`/v1/customers/${customerId}/exports`, undefined, keys.app),
      (id) => t.call('GET', `/v1/exports/${id}`, { key: keys.app as string }),
    );
    const res = await fetch(ready.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = JSON.parse(await res.text());
  }, 60_000);

  it('links to the document for an hour', () => {
    expect(ready.url.startsWith(`${t.api.url}/local/exports/${documentName(ready.id)}?`)).toBe(
      true,
    );
    const left = Date.parse(ready.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(59 * 60_000);
    expect(left).toBeLessThanOrEqual(3_600_000);
    expect(doc).toMatchObject({ format: 'loyalty-export/1', id: ready.id });
  });

  it('holds the customer as GET /v1/customers/{id} answers, with the balances', async () => {
    const customer = await ok(t.call('GET', `/v1/customers/${customerId}`));
    const { cadence, ...rest } = customer;
    const { cadence: docCadence, ...docRest } = doc.customer;
    expect(docRest).toEqual(rest);
    expect(docRest).toMatchObject({
      email: 'ada@example.com',
      phone: '+447700900123',
      name: 'Ada Lovelace',
      externalId: 'crm-1815',
      birthDate: '1985-12-10',
      status: 'lapsed',
    });
    // The model's scores move with the clock by the second: the rest is exact.
    expect(docCadence.purchases).toBe(cadence.purchases);
    expect(docCadence.typicalGapDays).toBe(cadence.typicalGapDays);
    expect(docCadence.expectedNextPurchaseBy).toBe(cadence.expectedNextPurchaseBy);
    expect(doc.balances).toEqual({
      ...customer.points,
      tier: customer.tier,
      qualifyingSpend: customer.qualifyingSpend,
      nextTier: customer.nextTier,
      cashValue: customer.cashValue,
    });
    expect(doc.cadence.purchaseDays.days).toHaveLength(3);
    expect(doc.lapse).toEqual({
      status: 'lapsed',
      lapsedAt: customer.lapsedAt,
      lastLapse: { lapsedAt: customer.lapsedAt, returnedAt: null },
      reason: { reason: 'price', note: 'Found it cheaper elsewhere', at: expect.any(String) },
      winBack: [],
    });
  });

  it('holds every ledger entry as the activity pages list them', async () => {
    const ledger = await allPages(t, `/v1/customers/${customerId}/activity`);
    expect(ledger).toHaveLength(5);
    expect(doc.ledger).toEqual(ledger);
    expect(new Set(ledger.map((e: any) => e.type))).toEqual(new Set(['earn', 'refund', 'redeem']));
  });

  it('holds every purchase as GET /v1/purchases/{id} answers, with its lines and refunds', async () => {
    expect(doc.purchases).toHaveLength(3);
    const ledger = await allPages(t, `/v1/customers/${customerId}/activity`);
    for (const { refunds, recordedAt, ...purchase } of doc.purchases) {
      expect(Date.parse(recordedAt)).toBeGreaterThanOrEqual(Date.parse(purchase.occurredAt));
      expect(purchase).toEqual(await ok(t.call('GET', `/v1/purchases/${purchase.id}`)));
      expect(purchase.lines).toHaveLength(2);
      const refundEntries = ledger.filter(
        (e: any) => e.type === 'refund' && e.purchaseId === purchase.id,
      );
      expect(refunds.map((r: any) => r.refundId)).toEqual(
        refundEntries.map((e: any) => e.refundId),
      );
      expect(refunds.map((r: any) => r.points)).toEqual(refundEntries.map((e: any) => e.points));
    }
    expect(doc.purchases.filter((p: any) => p.refunds.length === 1)).toHaveLength(1);
  });

  it('holds the redemption as GET /v1/redemptions/{id} answers, and both codes', async () => {
    expect(doc.redemptions).toHaveLength(1);
    const [redemption] = doc.redemptions;
    const read = await ok(t.call('GET', `/v1/redemptions/${redemption.id}`));
    for (const [field, value] of Object.entries(read))
      expect(redemption[field], field).toEqual(value);
    expect(doc.redemptionCodes).toHaveLength(2);
    expect(doc.redemptionCodes.filter((c: any) => c.usedAt !== undefined)).toHaveLength(1);
    for (const c of doc.redemptionCodes) {
      expect(c).toMatchObject({ customerId, code: expect.stringMatching(/^[2-9A-Z]{8}$/) });
    }
  });

  it('holds the campaign the ledger names, with the points it awarded', async () => {
    expect(doc.campaigns).toEqual([
      expect.objectContaining({ name: 'Fifty on everything', type: 'bonus', pointsAwarded: 150 }),
    ]);
    expect(doc.merges).toEqual([]);
  });

  it('holds the events naming the customer and their webhook deliveries', async () => {
    const events = (await allPages(t, '/v1/events')).filter(
      (e: any) => e.customerId === customerId,
    );
    expect(new Set(events.map((e: any) => e.type))).toEqual(
      new Set(['tier.changed', 'customer.lapsed']),
    );
    expect(doc.events).toEqual(events);
    const deliveries = (
      await ok(t.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`))
    ).items.filter((d: any) => events.some((e: any) => e.id === d.eventId));
    expect(deliveries.length).toBe(events.length);
    expect(
      doc.webhookDeliveries.map(({ endpointId: e, body, ...d }: any) => {
        expect(e).toBe(endpointId);
        expect(JSON.parse(body).id).toBe(d.eventId);
        return d;
      }),
    ).toEqual(expect.arrayContaining(deliveries));
    expect(doc.webhookDeliveries).toHaveLength(deliveries.length);
  });
});

describe('who may read an export, and its links', () => {
  it('answers 404 to every other caller, and to an unknown customer', async () => {
    const requested = await ok(
      post(`/v1/customers/${customerId}/exports`, undefined, keys.app),
      202,
    );
    const path = `/v1/exports/${requested.id}`;
    expect((await t.call('GET', path, { key: keys.app as string })).status).toBe(200);
    expect((await t.call('GET', path)).body.code).toBe('not-found');
    expect((await t.call('GET', path, asCustomer(token))).status).toBe(404);
    expect((await t.call('GET', path, { key: keys.pos as string })).status).toBe(403);
    expect(
      (await t.call('GET', '/v1/exports/exp_nothing', { key: keys.app as string })).status,
    ).toBe(404);
    const unknown = await post('/v1/customers/cus_nobody/exports', undefined, keys.app);
    expect(unknown.status).toBe(404);
    await runExports();
  });

  it('gives a customer their own export, and it answers the same to a replayed request', async () => {
    const idem = { 'idempotency-key': 'me-export-1' };
    const request = () =>
      t.call('POST', '/v1/me/exports', {
        key: null,
        headers: { ...asCustomer(token).headers, ...idem },
      });
    const first = await ok(request(), 202);
    const again = await request();
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    await runExports();
    const ready = await ok(t.call('GET', `/v1/exports/${first.id}`, asCustomer(token)));
    expect(ready.status).toBe('ready');
    const doc = (await (await fetch(ready.url)).json()) as { customer: { id: string } };
    expect(doc.customer.id).toBe(customerId);
    // The app key that could export the customer still may not read the customer's export.
    expect(
      (await t.call('GET', `/v1/exports/${first.id}`, { key: keys.app as string })).status,
    ).toBe(404);
  });

  it('refuses a forged, altered or expired link with a problem+json 403, never a 5xx', async () => {
    const ready = await readyExport(
      () => post(`/v1/customers/${customerId}/exports`, undefined, keys.app),
      (id) => t.call('GET', `/v1/exports/${id}`, { key: keys.app as string }),
    );
    const url = new URL(ready.url);
    const name = url.pathname.split('/').at(-1) as string;
    // Minted two days ago for a day: expired whatever the hour now.
    const past = new Date(Date.now() - 2 * DAY);
    const expired = await exportSink().link(name, new Date(past.getTime() + DAY), past);
    const other = new URL(ready.url);
    other.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 60));
    const forged = new URL(ready.url);
    forged.searchParams.set('signature', 'A'.repeat(43));
    for (const link of [expired, other.href, forged.href, `${url.origin}${url.pathname}`]) {
      const res = await fetch(link);
      expect(res.status, link).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toBe('forbidden');
    }
    for (const path of [
      '/local/exports/..%2Ftoken-secret',
      '/local/exports/../token-secret',
      `/local/exports/${name}.partial${url.search}`,
      '/local/exports/',
    ]) {
      const res = await fetch(`${url.origin}${path}`);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
    }
    expect((await fetch(ready.url)).status).toBe(200);
  });

  it('deletes every export of a customer, documents and all', async () => {
    const ready = await readyExport(
      () => post(`/v1/customers/${customerId}/exports`, undefined, keys.app),
      (id) => t.call('GET', `/v1/exports/${id}`, { key: keys.app as string }),
    );
    const dir = process.env.LOYALTY_EXPORT_DIR as string;
    expect(readdirSync(dir)).toContain(documentName(ready.id));
    expect(await deleteCustomerExports(customerId)).toBeGreaterThanOrEqual(3);
    expect(readdirSync(dir).filter((f) => f.includes('exp_'))).toEqual([]);
    expect(
      (await t.call('GET', `/v1/exports/${ready.id}`, { key: keys.app as string })).status,
    ).toBe(404);
    const gone = await fetch(ready.url);
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toBe('application/problem+json');
  });
});
