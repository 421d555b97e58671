import { BatchWriteCommand, DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { metrics } from '../../lib/http/handler.ts';
import { scheduledJob } from '../../lib/http/scheduled.ts';
import { newId } from '../../lib/ids.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import { runWebhooks } from '../../lib/usecases/webhookDelivery.ts';
import { signatureHeader, verifySignature } from '../../lib/webhooks/signature.ts';
import { allPages, startTestApi, type TestApi, tableItems } from '../support/api.ts';
import { startReadmeReceiver } from '../support/readmeReceiver.ts';
import { type Received, receiver } from '../support/receiver.ts';

/**
 * Webhooks through the real HTTP server on DynamoDB Local, with real HTTP
 * receivers on loopback. The delivery job runs by its route, or by its use case with a
 * later clock (asOf) where the retry schedule is under test: the schedule is the job's
 * clock, never the wall clock's hour.
 */
let t: TestApi;
let n = 0;
const DAY = 86_400_000;
const MINUTE = 60_000;

async function subscribe(url: string, events: string[] = ['*']) {
  const res = await t.call('POST', '/v1/webhook-endpoints', { body: { url, events } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret: string; url: string; events: string[] };
}

async function deliver(asOf?: number) {
  const res = await t.call('POST', '/v1/jobs/deliver-webhooks', {
    body: asOf === undefined ? {} : { asOf: new Date(asOf).toISOString() },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The whole outbox, oldest first. */
const allEvents = () => allPages(t, '/v1/events');

/** The delivery job as of `ms`, its clock there too (the retry schedule under test). */
const runAt = (ms: number, options: Parameters<typeof runWebhooks>[1] = {}) =>
  runWebhooks(new Date(ms), { ...options, clock: () => new Date(ms) });

async function deliveries(endpointId: string): Promise<any[]> {
  const res = await t.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.items;
}

/** A customer who lapses: three purchases 5 days apart, the last 20 days ago. */
async function lapser(): Promise<string> {
  const customer = await t.call('POST', '/v1/customers', { body: { externalId: `wh-${++n}` } });
  expect(customer.status).toBe(201);
  for (const daysAgo of [30, 25, 20]) {
    const res = await t.call('POST', '/v1/purchases', {
      body: {
        customerId: customer.body.id,
        storeId,
        total: { amount: 2_000, currency: 'USD' },
        occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
      },
      headers: { 'idempotency-key': `wh-buy-${++n}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  return customer.body.id;
}

async function lapseScan(): Promise<void> {
  const res = await t.call('POST', '/v1/jobs/lapse-scan', { body: {} });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

let storeId: string;

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Hooks' } })).body.id;
}, 60_000);
afterAll(() => t.api.stop());
// Each test starts with no endpoint, whatever the one before left (a failure half-way).
afterEach(async () => {
  const { body } = await t.call('GET', '/v1/webhook-endpoints?limit=100');
  for (const e of body.items) await t.call('DELETE', `/v1/webhook-endpoints/${e.id}`);
});

// First in the file: the job's first run is on a table with no endpoint, as in a deployment.
describe('a programme that subscribes after the delivery job first ran', () => {
  it('delivers the events that happen after it subscribes', async () => {
    const r = await receiver();
    try {
      // Started: the scheduled job runs with nobody subscribed (it saves its cursor).
      expect(await deliver()).toMatchObject({ fannedOut: 0, delivered: 0 });
      expect(await deliver()).toMatchObject({ fannedOut: 0 });
      const endpoint = await subscribe(r.url, ['customer.lapsed']);
      const customerId = await lapser();
      await lapseScan();
      expect(await deliver()).toMatchObject({ fannedOut: 1, delivered: 1, failed: 0 });
      expect(r.got.map((g) => JSON.parse(g.body))).toMatchObject([
        { type: 'customer.lapsed', customerId },
      ]);
      expect(await deliveries(endpoint.id)).toMatchObject([
        { eventType: 'customer.lapsed', status: 'delivered' },
      ]);
    } finally {
      await r.close();
    }
  });
});

describe('webhook endpoints', () => {
  it('show the secret once, keep it encrypted, and list, read and delete', async () => {
    const r = await receiver();
    try {
      const created = await subscribe(r.url, ['customer.lapsed', 'tier.changed']);
      expect(created).toMatchObject({
        id: expect.stringMatching(/^whe_/),
        url: r.url,
        events: ['customer.lapsed', 'tier.changed'],
        status: 'enabled',
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{40,}$/),
      });
      const read = await t.call('GET', `/v1/webhook-endpoints/${created.id}`);
      expect(read.status).toBe(200);
      expect(read.body).not.toHaveProperty('secret');
      const list = await t.call('GET', '/v1/webhook-endpoints');
      expect(list.body.items.map((e: any) => e.id)).toContain(created.id);
      expect(JSON.stringify(list.body)).not.toContain('whsec_');
      // At rest: no item of the table holds the secret, or any part of it.
      const items = JSON.stringify(await tableItems(t.table));
      expect(items).not.toContain(created.secret);
      expect(items).not.toContain(created.secret.slice('whsec_'.length, 20));

      expect((await t.call('DELETE', `/v1/webhook-endpoints/${created.id}`)).status).toBe(204);
      expect((await t.call('GET', `/v1/webhook-endpoints/${created.id}`)).status).toBe(404);
      expect((await t.call('DELETE', `/v1/webhook-endpoints/${created.id}`)).status).toBe(404);
      for (const path of ['', '/deliveries']) {
        const res = await t.call('GET', `/v1/webhook-endpoints/whe_nope${path}`);
        expect(res.status, path).toBe(404);
        expect(res.body.code).toBe('not-found');
      }
    } finally {
      await r.close();
    }
  });

  it('are at most 50, and a finished delivery leaves the log after 30 days', async () => {
    const r = await receiver();
    try {
      const existing = (await t.call('GET', '/v1/webhook-endpoints?limit=100')).body.items.length;
      const made: string[] = [];
      for (let i = existing; i < 50; i++) made.push((await subscribe(r.url, ['tier.changed'])).id);
      const over = await t.call('POST', '/v1/webhook-endpoints', {
        body: { url: r.url, events: ['*'] },
      });
      expect(over.status).toBe(409);
      expect(over.body.code).toBe('conflict');
      for (const id of made.slice(1)) await t.call('DELETE', `/v1/webhook-endpoints/${id}`);

      const id = made[0] as string;
      expect((await t.call('POST', `/v1/webhook-endpoints/${id}/test`)).body.delivered).toBe(true);
      const [ping] = await deliveries(id);
      const item = (await tableItems(t.table)).find(
        (i) => i.PK === `WHD#${id}` && i.eventId === ping.eventId,
      );
      const in30Days = Date.now() / 1000 + 30 * 86_400;
      expect(Math.abs(item?.expiresAt - in30Days)).toBeLessThan(120);
      // Past its time, it is not listed (DynamoDB deletes it late, DynamoDB Local never).
      await db().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: { PK: item?.PK, SK: item?.SK },
          UpdateExpression: 'SET expiresAt = :past',
          ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
        }),
      );
      expect(await deliveries(id)).toEqual([]);
      await t.call('DELETE', `/v1/webhook-endpoints/${id}`);
    } finally {
      await r.close();
    }
  });

  it('refuse private, metadata and non-https URLs, and bad bodies, with 400', async () => {
    const refused = [
      'http://10.0.0.1/hooks',
      'https://10.0.0.1/hooks',
      'https://192.168.1.10/hooks',
      'http://169.254.169.254/latest/meta-data/',
      'https://[::ffff:169.254.169.254]/',
      'https://[fd00:ec2::254]/',
      'https://100.64.0.1/',
      'http://example.com/hooks',
      'ftp://127.0.0.1/hooks',
      'https://user:pass@127.0.0.1/hooks',
      'not a url',
      `https://example.com/${'a'.repeat(2100)}`,
    ];
    for (const url of refused) {
      const res = await t.call('POST', '/v1/webhook-endpoints', { body: { url, events: ['*'] } });
      expect(res.status, url).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code, url).toBe('validation-failed');
    }
    for (const body of [
      { url: 'http://127.0.0.1:9/x', events: [] },
      { url: 'http://127.0.0.1:9/x', events: ['points.earned'] },
      { url: 'http://127.0.0.1:9/x' },
      { events: ['*'] },
      { url: 'http://127.0.0.1:9/x', events: ['*'], description: 'x'.repeat(501) },
    ]) {
      const res = await t.call('POST', '/v1/webhook-endpoints', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    }
    const pos = await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } });
    const asPos = await t.call('GET', '/v1/webhook-endpoints', { key: pos.body.key });
    expect(asPos.status).toBe(403);
  });
});

describe('deliveries', () => {
  it('bring a lapse, signed, to the endpoints that take it, and not to the others', async () => {
    const lapses = await receiver();
    const tiersOnly = await receiver();
    try {
      const a = await subscribe(lapses.url, ['customer.lapsed']);
      const b = await subscribe(tiersOnly.url, ['tier.changed']);
      const customerId = await lapser();
      await lapseScan();
      const run = await deliver();
      expect(run.delivered).toBeGreaterThanOrEqual(1);
      const lapse = lapses.got.find((g) => JSON.parse(g.body).customerId === customerId);
      expect(lapse).toBeDefined();
      const got = lapse as Received;
      const event = JSON.parse(got.body);
      expect(event).toMatchObject({ type: 'customer.lapsed', customerId });
      expect(Object.keys(event).sort()).toEqual(['at', 'customerId', 'data', 'id', 'type']);
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['loyalty-event-id']).toBe(event.id);
      const signature = got.headers['loyalty-signature'] as string;
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      const now = Math.floor(Date.now() / 1000);
      expect(verifySignature(signature, got.body, a.secret, now)).toBe(true);
      expect(verifySignature(signature, got.body, b.secret, now)).toBe(false);
      expect(verifySignature(signature, `${got.body} `, a.secret, now)).toBe(false);
      // The README's receiver accepts it as delivered, and refuses it forged or replayed.
      const readme = await startReadmeReceiver(a.secret);
      try {
        const post = (headers: Record<string, string>, body: string) =>
          fetch(readme.url, { method: 'POST', headers, body }).then((res) => res.status);
        const headers = {
          'content-type': 'application/json',
          'loyalty-signature': signature,
          'loyalty-event-id': event.id,
        };
        expect(await post(headers, got.body)).toBe(200);
        // Its line reaches this process's pipe a little after its answer.
        for (let i = 0; i < 100 && !readme.output().includes(customerId); i++) {
          await new Promise((done) => setTimeout(done, 20));
        }
        expect(readme.output()).toContain(`customer.lapsed ${customerId}`);
        expect(await post(headers, got.body.replace('"customer.lapsed"', '"tier.changed"'))).toBe(
          400,
        );
        // Signed 15 minutes ago: a replay, outside its 5-minute window.
        const old = Math.floor(Date.now() / 1000) - 900;
        const stale = signatureHeader([a.secret], got.body, old);
        expect(await post({ ...headers, 'loyalty-signature': stale }, got.body)).toBe(400);
        const fresh = signatureHeader(
          [b.secret, a.secret],
          got.body,
          Math.floor(Date.now() / 1000),
        );
        expect(await post({ ...headers, 'loyalty-signature': fresh }, got.body)).toBe(200);
        for (const bad of ['', 't=x,v1=zz', `t=${old},v1=${'0'.repeat(64)}`]) {
          expect(await post({ ...headers, 'loyalty-signature': bad }, got.body)).toBe(400);
        }
      } finally {
        await readme.stop();
      }
      // The other endpoint takes tier changes only.
      expect(tiersOnly.got.filter((g) => JSON.parse(g.body).type !== 'tier.changed')).toEqual([]);

      const log = await deliveries(a.id);
      expect(log[0]).toMatchObject({
        id: expect.stringMatching(/^dlv_/),
        eventId: event.id,
        eventType: 'customer.lapsed',
        status: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
      });
      expect(log[0]).not.toHaveProperty('nextAttemptAt');
      // Running the job again sends nothing twice.
      const before = lapses.got.length;
      expect((await deliver()).fannedOut).toBe(0);
      expect(lapses.got.length).toBe(before);
      await t.call('DELETE', `/v1/webhook-endpoints/${a.id}`);
      await t.call('DELETE', `/v1/webhook-endpoints/${b.id}`);
    } finally {
      await lapses.close();
      await tiersOnly.close();
    }
  });

  it('retries a receiver that answers 500 three times: 4 attempts, 1, 2 and 4 minutes apart', async () => {
    const r = await receiver((_, i) => (i <= 3 ? 500 : 200));
    try {
      const endpoint = await subscribe(r.url, ['customer.lapsed']);
      const start = Date.now();
      await lapser();
      await lapseScan();
      const first = await runAt(start);
      expect(first).toMatchObject({ fannedOut: 1, delivered: 0, retried: 1 });
      let [d] = await deliveries(endpoint.id);
      expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500 });
      expect(Date.parse(d.nextAttemptAt) - Date.parse(d.lastAttemptAt)).toBe(MINUTE);
      // Not due before its time.
      expect(await runAt(start + 59_000)).toMatchObject({ retried: 0 });
      expect(r.got).toHaveLength(1);
      for (const [after, gap] of [
        [MINUTE, 2 * MINUTE],
        [3 * MINUTE, 4 * MINUTE],
      ] as const) {
        await runAt(start + after);
        [d] = await deliveries(endpoint.id);
        expect(d.status).toBe('pending');
        expect(Date.parse(d.nextAttemptAt) - Date.parse(d.lastAttemptAt)).toBe(gap);
      }
      expect(await runAt(start + 7 * MINUTE)).toMatchObject({ delivered: 1 });
      [d] = await deliveries(endpoint.id);
      expect(d).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 200 });
      expect(r.got).toHaveLength(4);
      // The same event, the same bytes, each time.
      expect(new Set(r.got.map((g) => g.body)).size).toBe(1);
      expect(new Set(r.got.map((g) => g.headers['loyalty-event-id'])).size).toBe(1);
      await t.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    } finally {
      await r.close();
    }
  });

  it('gives up after 24 hours of retries (then failed), backing off to at most an hour', async () => {
    const r = await receiver(() => 503);
    try {
      const endpoint = await subscribe(r.url, ['customer.lapsed']);
      const start = Date.now();
      await lapser();
      await lapseScan();
      let clock = start;
      const gaps: number[] = [];
      for (let i = 0; i < 40; i++) {
        await runAt(clock);
        const [d] = await deliveries(endpoint.id);
        if (d.status !== 'pending') break;
        gaps.push(Date.parse(d.nextAttemptAt) - Date.parse(d.lastAttemptAt));
        clock = Date.parse(d.nextAttemptAt);
      }
      const [d] = await deliveries(endpoint.id);
      expect(d).toMatchObject({ status: 'failed', lastStatusCode: 503 });
      expect(gaps.slice(0, 7).map((g) => g / MINUTE)).toEqual([1, 2, 4, 8, 16, 32, 60]);
      expect(Math.max(...gaps)).toBe(60 * MINUTE);
      // At least 24 hours from the first attempt to the last, and not much more.
      expect(clock - start).toBeGreaterThanOrEqual(DAY);
      expect(clock - start).toBeLessThan(DAY + 60 * MINUTE);
      expect(d.attempts).toBe(r.got.length);
      expect(d.attempts).toBe(30);
      await t.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('cancels, not fails, the deliveries left of a deleted endpoint: no failure metric, no alarm', async () => {
    const r = await receiver(() => 503);
    try {
      const endpoint = await subscribe(r.url, ['customer.lapsed']);
      const start = Date.now();
      await lapser();
      await lapseScan();
      expect(await runAt(start)).toMatchObject({ fannedOut: 1, retried: 1 });
      expect((await t.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(204);
      // The scheduled run (whose numbers become the job's metrics) when the retry is due.
      const addMetric = vi.spyOn(metrics, 'addMetric');
      const run = await scheduledJob('deliver-webhooks', () => runAt(start + 2 * MINUTE))();
      expect(run).toMatchObject({ failed: 0, cancelled: 1, retried: 0 });
      const emitted = Object.fromEntries(
        addMetric.mock.calls.map(([name, , value]) => [name, value]),
      );
      addMetric.mockRestore();
      expect(emitted).toMatchObject({ Job_failed: 0, Job_cancelled: 1 });
      expect(r.got).toHaveLength(1);
      const [d] = (await tableItems(t.table)).filter((i) => i.PK === `WHD#${endpoint.id}`);
      // Its one attempt (the 503) as it was: nothing was sent to a deleted endpoint.
      expect(d).toMatchObject({ status: 'cancelled', attempts: 1, lastStatusCode: 503 });
      expect(d?.deliverAt).toBeUndefined();
      // Nothing is due any more: a later run leaves it as it is.
      expect(await runAt(start + DAY)).toMatchObject({ failed: 0, cancelled: 0 });
    } finally {
      await r.close();
    }
  });

  it('cuts a receiver that does not answer at 10 s, and it holds up no other endpoint', async () => {
    const r = await receiver(() => 'hang');
    const healthy = await receiver();
    try {
      const endpoint = await subscribe(r.url, ['customer.lapsed']);
      const other = await subscribe(healthy.url, ['customer.lapsed']);
      for (let i = 0; i < 6; i++) await lapser();
      await lapseScan();
      const started = Date.now();
      const run = await deliver();
      const took = Date.now() - started;
      // The healthy endpoint gets its 6 at once; the other's 6 go at once too (its lane takes
      // up to 32) and are all cut at 10 s, after which the run leaves that lane.
      expect(healthy.got).toHaveLength(6);
      for (const g of healthy.got) expect(g.at - started).toBeLessThan(5_000);
      expect(run).toMatchObject({ delivered: 6, retried: 6 });
      expect(took).toBeGreaterThanOrEqual(9_900);
      expect(took).toBeLessThan(15_000);
      const log = await deliveries(endpoint.id);
      expect(log).toHaveLength(6);
      for (const d of log) {
        expect(d).toMatchObject({ status: 'pending', attempts: 1, lastError: 'timeout' });
        expect(d).not.toHaveProperty('lastStatusCode');
      }
      await t.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
      await t.call('DELETE', `/v1/webhook-endpoints/${other.id}`);
    } finally {
      await r.close();
      await healthy.close();
    }
  }, 40_000);

  it('keeps a day of retries when run as of the past, and records an unsignable delivery as an attempt', async () => {
    const r = await receiver(() => 500);
    try {
      const endpoint = await subscribe(r.url, ['customer.lapsed']);
      await lapser();
      await lapseScan();
      // As of two days ago: sent, and failing, but its day of retries starts now.
      const past = await deliver(Date.now() - 2 * DAY);
      expect(past).toMatchObject({ fannedOut: 1, delivered: 0, retried: 1, failed: 0 });
      let [d] = await deliveries(endpoint.id);
      expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500 });
      expect(Date.now() - Date.parse(d.createdAt)).toBeLessThan(60_000);
      expect(Date.parse(d.nextAttemptAt) - Date.parse(d.lastAttemptAt)).toBe(MINUTE);
      expect(Math.abs(Date.parse(d.lastAttemptAt) - Date.now())).toBeLessThan(60_000);

      // A secret that no longer opens (a key gone wrong): the attempt fails, on schedule.
      await db().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: keys.webhookEndpoint(endpoint.id),
          UpdateExpression: 'SET secrets[0].sealed = :bad',
          ExpressionAttributeValues: { ':bad': 'aes:AAAA.AAAA.AAAA' },
        }),
      );
      const next = Date.parse(d.nextAttemptAt);
      expect(await runAt(next)).toMatchObject({ retried: 1, complete: true });
      [d] = await deliveries(endpoint.id);
      expect(d).toMatchObject({ attempts: 2, lastError: 'the delivery could not be signed' });
      expect(r.got).toHaveLength(1);
      await t.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    } finally {
      await r.close();
    }
  });

  it('signs with both secrets for 24 hours after a rotation, then with the new one', async () => {
    const r = await receiver();
    try {
      const endpoint = await subscribe(r.url, ['*']);
      const rotated = await t.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`);
      expect(rotated.status).toBe(201);
      const secret = rotated.body.secret as string;
      expect(secret).toMatch(/^whsec_/);
      expect(secret).not.toBe(endpoint.secret);
      const ping = await t.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`);
      expect(ping.status).toBe(200);
      expect(ping.body).toEqual({ delivered: true, statusCode: 200 });
      let got = r.got.at(-1) as Received;
      let header = got.headers['loyalty-signature'] as string;
      expect(header.match(/v1=/g)).toHaveLength(2);
      // A second rotation within the day: the first secret still signs too.
      const third = (await t.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`))
        .body.secret as string;
      await t.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`);
      const three = (r.got.at(-1) as Received).headers['loyalty-signature'] as string;
      expect(three.match(/v1=/g)).toHaveLength(3);
      for (const k of [third, secret, endpoint.secret]) {
        expect(
          verifySignature(three, (r.got.at(-1) as Received).body, k, Math.floor(Date.now() / 1000)),
        ).toBe(true);
      }
      got = r.got.at(-2) as Received;
      header = got.headers['loyalty-signature'] as string;
      const now = Math.floor(Date.now() / 1000);
      expect(verifySignature(header, got.body, secret, now)).toBe(true);
      expect(verifySignature(header, got.body, endpoint.secret, now)).toBe(true);
      expect(JSON.parse(got.body)).toMatchObject({ type: 'ping', customerId: null });

      // A day later the old one no longer signs (the job's clock).
      const start = Date.now();
      await lapser();
      await lapseScan();
      await runAt(start + DAY + MINUTE);
      const later = r.got.at(-1) as Received;
      const one = later.headers['loyalty-signature'] as string;
      expect(JSON.parse(later.body).type).toBe('customer.lapsed');
      expect(one.match(/v1=/g)).toHaveLength(1);
      expect(verifySignature(one, later.body, third, now)).toBe(true);
      expect(verifySignature(one, later.body, secret, now)).toBe(false);
      expect(verifySignature(one, later.body, endpoint.secret, now)).toBe(false);

      const log = await deliveries(endpoint.id);
      expect(log.map((d) => d.eventType)).toContain('ping');
      await t.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    } finally {
      await r.close();
    }
  });

  it('refuses at delivery a name that has come to resolve to a private or metadata address', async () => {
    const r = await receiver();
    try {
      const endpoint = await subscribe(r.url, ['customer.lapsed']);
      await lapser();
      await lapseScan();
      // As in AWS (no loopback), with the endpoint's address now answering as metadata.
      const run = await runWebhooks(new Date(), {
        policy: {
          allowLoopback: false,
          lookup: async () => [{ address: '169.254.169.254', family: 4 }],
        },
      });
      expect(run).toMatchObject({ delivered: 0, retried: 1 });
      expect(r.got).toHaveLength(0);
      const [d] = await deliveries(endpoint.id);
      expect(d.status).toBe('pending');
      expect(d.lastError).toMatch(/refused|not allowed/);
      await t.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    } finally {
      await r.close();
    }
  });

  it('delivers 1,000 events to 3 endpoints, every one', async () => {
    const rs = await Promise.all([receiver(), receiver(), receiver()]);
    try {
      const endpoints = [];
      for (const r of rs) endpoints.push(await subscribe(r.url, ['tier.changed']));
      // 1,000 outbox events, as the changes that record them write them.
      const ids: string[] = [];
      const at = Date.now();
      for (let i = 0; i < 1_000; i += 25) {
        const items = Array.from({ length: 25 }, (_, k) => {
          const id = newId('evt', at);
          ids.push(id);
          return {
            PutRequest: {
              Item: {
                ...keys.event(id),
                id,
                type: 'tier.changed',
                at: new Date(at).toISOString(),
                customerId: `cus_bulk${i + k}`,
                data: { n: i + k },
              },
            },
          };
        });
        await db().send(new BatchWriteCommand({ RequestItems: { [tableName()]: items } }));
      }
      const started = performance.now();
      let runs = 0;
      while (
        rs.some((r) => new Set(r.got.map((g) => g.headers['loyalty-event-id'])).size < 1_000)
      ) {
        await deliver();
        runs += 1;
        expect(runs).toBeLessThan(20);
      }
      const seconds = (performance.now() - started) / 1000;
      for (const r of rs) {
        expect(new Set(r.got.map((g) => g.headers['loyalty-event-id']))).toEqual(new Set(ids));
      }
      console.log(
        `webhooks: 1,000 events to 3 endpoints (3,000 deliveries) in ${seconds.toFixed(1)} s, ` +
          `${runs} run(s): ${Math.round(3_000 / seconds)} deliveries/s`,
      );
      for (const e of endpoints) await t.call('DELETE', `/v1/webhook-endpoints/${e.id}`);
    } finally {
      for (const r of rs) await r.close();
    }
  }, 120_000);
});

describe('points.expiring', () => {
  it('is sent once per lot 14 days before it expires, under overlapping job runs', async () => {
    const program = await t.call('GET', '/v1/program');
    // Points that never expire: no reminder, whatever the lots' age (this file's lapsers
    // have lots 20 days old and more).
    expect(program.body.pointsExpireAfterDays).toBeNull();
    const none = await t.call('POST', '/v1/jobs/expiry-reminders', { body: {} });
    expect(none.body).toMatchObject({ customers: 0, reminders: 0, complete: true });
    const put = await t.call('PUT', '/v1/program', {
      body: { ...defaultProgram, ...program.body, pendingDays: 0, pointsExpireAfterDays: 30 },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const r = await receiver();
    try {
      const endpoint = await subscribe(r.url, ['points.expiring']);
      const customer = await t.call('POST', '/v1/customers', { body: { externalId: `wh-${++n}` } });
      const customerId = customer.body.id;
      // Two lots expiring within 14 days (bought 20 and 18 days ago), one later (5 days ago).
      for (const daysAgo of [20, 18, 5]) {
        const res = await t.call('POST', '/v1/purchases', {
          body: {
            customerId,
            storeId,
            total: { amount: 1_000 * daysAgo, currency: 'USD' },
            occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
          },
          headers: { 'idempotency-key': `wh-buy-${++n}` },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
      }
      const runs = await Promise.all(
        [0, 1, 2].map(() => t.call('POST', '/v1/jobs/expiry-reminders', { body: {} })),
      );
      for (const run of runs) expect(run.status, JSON.stringify(run.body)).toBe(200);
      // (This file's lapsers have lots expiring soon too.) Every reminder the runs
      // counted is one event, and no lot has two.
      const events = (await allEvents()).filter((e) => e.type === 'points.expiring');
      expect(runs.reduce((s, run) => s + run.body.reminders, 0)).toBe(events.length);
      const lotsReminded = events.map((e: any) => `${e.customerId} ${e.data.expiresAt}`);
      expect(new Set(lotsReminded).size).toBe(events.length);
      expect(events.filter((e: any) => e.customerId === customerId)).toHaveLength(2);
      const again = await t.call('POST', '/v1/jobs/expiry-reminders', { body: {} });
      expect(again.body.reminders).toBe(0);
      await deliver();
      const mine = r.got.map((g) => JSON.parse(g.body)).filter((e) => e.customerId === customerId);
      expect(mine).toHaveLength(2);
      const lots = (await t.call('GET', `/v1/customers/${customerId}`)).body;
      expect(mine.every((e) => e.type === 'points.expiring')).toBe(true);
      expect(mine.map((e) => e.data.points).sort((x, y) => x - y)).toEqual([180, 200]);
      for (const e of mine) {
        const left = Date.parse(e.data.expiresAt) - Date.now();
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(14 * DAY);
      }
      expect(lots.points.available).toBe(430);
      await t.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    } finally {
      await r.close();
    }
  });

  it('reaches customers stored before the reminder index, after an upgrade', async () => {
    const program = (await t.call('GET', '/v1/program')).body;
    const put = await t.call('PUT', '/v1/program', {
      body: { ...defaultProgram, ...program, pendingDays: 0, pointsExpireAfterDays: 30 },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const customer = await t.call('POST', '/v1/customers', { body: { externalId: `wh-${++n}` } });
    const customerId = customer.body.id;
    const bought = await t.call('POST', '/v1/purchases', {
      body: {
        customerId,
        storeId,
        total: { amount: 7_700, currency: 'USD' },
        occurredAt: new Date(Date.now() - 19 * DAY).toISOString(),
      },
      headers: { 'idempotency-key': `wh-buy-${++n}` },
    });
    expect(bought.status).toBe(201);
    // As a version before the index stored it: no remindLot, and no pass done yet.
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.customer(customerId),
        UpdateExpression: 'REMOVE remindLot',
      }),
    );
    await db().send(new DeleteCommand({ TableName: tableName(), Key: keys.remindIndexState() }));
    const run = await t.call('POST', '/v1/jobs/expiry-reminders', { body: {} });
    expect(run.body).toMatchObject({ reminders: 1, complete: true });
    const mine = (await allEvents()).filter((e) => e.customerId === customerId);
    expect(mine).toMatchObject([{ type: 'points.expiring', data: { points: 77 } }]);
    const item = (await tableItems(t.table)).find(
      (i) => i.PK === `CUS#${customerId}` && i.SK === 'PROFILE',
    );
    // Reminded: its key moved past the lot (no other lot), and the pass is done.
    expect(item, JSON.stringify(item)).toMatchObject({ remindedLots: [expect.any(String)] });
    expect(item?.remindLot).toBeUndefined();
    const state = (await tableItems(t.table)).find((i) => i.PK === 'JOBS');
    expect(state).toMatchObject({ done: true });
  });
});
