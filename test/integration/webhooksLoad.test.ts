import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import { insertDelivery } from '../../lib/store/webhooks.ts';
import { inParallel } from '../../lib/usecases/parallel.ts';
import { runWebhooks } from '../../lib/usecases/webhookDelivery.ts';
import { startTestApi, type TestApi, tableItems } from '../support/api.ts';
import { receiver } from '../support/receiver.ts';

/**
 * Webhooks under load (issue 27), on DynamoDB Local with real receivers on loopback: a
 * slow endpoint's backlog keeps to its own lane, two runs at once send each delivery
 * once, and deliveries written before lanes are still sent (or cancelled).
 */
let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
}, 60_000);
afterAll(() => t.api.stop());
afterEach(async () => {
  const { body } = await t.call('GET', '/v1/webhook-endpoints?limit=100');
  for (const e of body.items) await t.call('DELETE', `/v1/webhook-endpoints/${e.id}`);
});

async function subscribe(url: string, events: string[]) {
  const res = await t.call('POST', '/v1/webhook-endpoints', { body: { url, events } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
}

/** `count` tier.changed events in the outbox, as the changes that record them write them. */
async function writeEvents(count: number): Promise<string[]> {
  const ids: string[] = [];
  const at = Date.now();
  for (let i = 0; i < count; i += 25) {
    const items = Array.from({ length: Math.min(25, count - i) }, (_, k) => {
      const id = newId('evt', at);
      ids.push(id);
      return {
        PutRequest: {
          Item: {
            ...keys.event(id),
            id,
            type: 'tier.changed',
            at: new Date(at).toISOString(),
            customerId: `cus_load${i + k}`,
            data: { n: i + k },
          },
        },
      };
    });
    await db().send(new BatchWriteCommand({ RequestItems: { [tableName()]: items } }));
  }
  return ids;
}

/** A receiver that answers 200 after `ms`, counting the requests it holds at once. */
async function slowReceiver(ms: number) {
  const state = { got: 0, holding: 0, mostAtOnce: 0, arrivals: [] as number[] };
  const server = createServer((req, res) => {
    state.got += 1;
    state.arrivals.push(Date.now());
    state.holding += 1;
    state.mostAtOnce = Math.max(state.mostAtOnce, state.holding);
    req.resume();
    setTimeout(() => {
      state.holding -= 1;
      res.writeHead(200).end('ok');
    }, ms);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    state,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

/** A delivery as a fan-out leaves it, due since `due` (a backlog left by earlier runs). */
const backlogged = (endpointId: string, due: string) => ({
  id: newId('dlv'),
  endpointId,
  eventId: newId('evt', Date.parse(due)),
  eventType: 'customer.lapsed',
  body: '{"type":"customer.lapsed"}',
  status: 'pending' as const,
  attempts: 0,
  createdAt: due,
  deliverAt: due,
  nextAttemptAt: due,
});

describe('a slow endpoint with a backlog', () => {
  it("holds up none of a fast endpoint's first attempts, and holds at most 32 sends", async () => {
    const slow = await slowReceiver(4_000);
    const fast = await receiver();
    try {
      // 500 deliveries to the slow endpoint, due for a minute: older than anything new, and
      // more than a run can send it (32 at a time, 4 s each).
      const slowEndpoint = await subscribe(slow.url, ['customer.lapsed']);
      const due = new Date(Date.now() - 60_000).toISOString();
      await inParallel(Array.from({ length: 500 }), 16, async () => {
        expect(await insertDelivery(backlogged(slowEndpoint.id, due))).toBe(true);
      });
      await subscribe(fast.url, ['tier.changed']);
      const ids = await writeEvents(50);

      const run = await runWebhooks(new Date(), { deadline: Date.now() + 25_000 });

      // Every fast first attempt in this run, all before the slow endpoint's third 32 began
      // (8 s after its first), while the slow receiver held its 32 (and no more) throughout.
      expect(new Set(fast.got.map((g) => g.headers['loyalty-event-id']))).toEqual(new Set(ids));
      const third = slow.state.arrivals[64] as number;
      expect(third - (slow.state.arrivals[0] as number)).toBeGreaterThanOrEqual(8_000);
      for (const g of fast.got) expect(g.at).toBeLessThan(third);
      expect(slow.state.mostAtOnce).toBe(32);
      // The rest of the backlog waits in its lane for the next run: still pending, due.
      expect(slow.state.got).toBeGreaterThanOrEqual(64);
      expect(slow.state.got).toBeLessThan(500);
      expect(run).toMatchObject({ fannedOut: 50, retried: 0 });
      expect(run.delivered).toBe(50 + slow.state.got);
      const left = (await tableItems(t.table)).filter(
        (i) => i.PK === `WHD#${slowEndpoint.id}` && i.status === 'pending',
      );
      expect(left).toHaveLength(500 - slow.state.got);
      for (const d of left) expect(d.dueShard).toBe(`LANE#${slowEndpoint.id}`);
    } finally {
      await slow.close();
      await fast.close();
    }
  }, 60_000);
});

describe('two delivery runs at once', () => {
  it('send each of 300 deliveries once, one of them failing and retried once', async () => {
    const a = await receiver();
    // One event fails at its first attempt: retried by a later run, not twice by these two.
    const b = await receiver((_, i) => (i === 1 ? 500 : 200));
    try {
      await subscribe(a.url, ['tier.changed']);
      await subscribe(b.url, ['tier.changed']);
      const ids = await writeEvents(150);
      const now = Date.now();
      const runs = await Promise.all([
        // Time enough for all (DynamoDB Local may be slow on a busy machine).
        runWebhooks(new Date(now), { deadline: now + 90_000 }),
        runWebhooks(new Date(now), { deadline: now + 90_000 }),
      ]);
      const sum = (k: 'fannedOut' | 'delivered' | 'retried') => runs.reduce((n, r) => n + r[k], 0);
      expect(sum('fannedOut')).toBe(300);
      expect(sum('delivered')).toBe(299);
      expect(sum('retried')).toBe(1);
      const sent = (r: typeof a) => r.got.map((g) => g.headers['loyalty-event-id']).sort();
      expect(sent(a)).toEqual([...ids].sort());
      expect(sent(b)).toEqual([...ids].sort());
    } finally {
      await a.close();
      await b.close();
    }
  }, 150_000);
});

describe('deliveries written before lanes', () => {
  it('are moved to their lanes and sent, and those of an endpoint deleted before are cancelled', async () => {
    const r = await receiver();
    try {
      const endpoint = await subscribe(r.url, ['customer.lapsed']);
      const due = new Date(Date.now() - 60_000).toISOString();
      const old = { ...backlogged(endpoint.id, due), body: '{"old":true}' };
      const orphan = backlogged('whe_deletedbeforelanes', due);
      // As the job wrote them before: in a shard of all endpoints (`0`-`3`).
      for (const d of [old, orphan]) {
        await db().send(
          new PutCommand({
            TableName: tableName(),
            Item: { ...keys.webhookDelivery(d.endpointId, d.eventId), ...d, dueShard: '2' },
          }),
        );
      }
      // The other tests' endpoints, deleted, left pending deliveries: cancelled by this run.
      const pending = (await tableItems(t.table)).filter(
        (i) => i.PK.startsWith('WHD#') && i.status === 'pending',
      );
      const run = await runWebhooks(new Date());
      expect(run).toMatchObject({ delivered: 1, cancelled: pending.length - 1, failed: 0 });
      expect(r.got.map((g) => g.body)).toEqual(['{"old":true}']);
      const items = await tableItems(t.table);
      const of = (d: typeof old) => items.find((i) => i.PK === `WHD#${d.endpointId}`);
      expect(of(old)).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(of(orphan)).toMatchObject({ status: 'cancelled', attempts: 0 });
      expect(items.filter((i) => i.dueShard !== undefined && i.PK.startsWith('WHD#'))).toEqual([]);
    } finally {
      await r.close();
    }
  });
});
