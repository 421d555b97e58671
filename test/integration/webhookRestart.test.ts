import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/local/dynamo.ts';
import { javaProcessesFor, startNpm, waitFor } from '../support/npmStart.ts';
import { receiver } from '../support/receiver.ts';

/**
 * `npm start` killed with SIGKILL while a webhook delivery is in flight: after a restart
 * on the same data the event is delivered (again: at least once, never lost).
 */
const dataDir = mkdtempSync(join(tmpdir(), 'loyalty-hooks-'));
const adminKey = 'hooks-restart-admin-key-0123456789';
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const DAY = 86_400_000;

describe('npm start killed mid-delivery', () => {
  it('delivers the event after a restart', async () => {
    let hang = true;
    const r = await receiver(() => (hang ? 'hang' : 200));
    const port = await freePort();
    const env = { PORT: String(port), LOYALTY_DATA_DIR: dataDir, LOYALTY_ADMIN_KEY: adminKey };
    const base = `http://127.0.0.1:${port}`;
    const call = async (method: string, path: string, body?: unknown, key?: string) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          'x-api-key': adminKey,
          'content-type': 'application/json',
          ...(key && { 'idempotency-key': key }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any };
    };
    try {
      const first = startNpm(env, { direct: true });
      await waitFor(first.output, `listening on ${base}`);
      const endpoint = await call('POST', '/v1/webhook-endpoints', {
        url: r.url,
        events: ['customer.lapsed'],
      });
      expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
      const store = await call('POST', '/v1/stores', { name: 'Restart' });
      const customer = await call('POST', '/v1/customers', { externalId: 'hooks-restart' });
      for (const daysAgo of [30, 25, 20]) {
        const bought = await call(
          'POST',
          '/v1/purchases',
          {
            customerId: customer.body.id,
            storeId: store.body.id,
            total: { amount: 1_500, currency: 'USD' },
            occurredAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
          },
          `restart-${daysAgo}`,
        );
        expect(bought.status, JSON.stringify(bought.body)).toBe(201);
      }
      expect((await call('POST', '/v1/jobs/lapse-scan', {})).status).toBe(200);
      // The job (every 2 s) sends it; the receiver holds the request open.
      const deadline = Date.now() + 30_000;
      while (r.got.length === 0) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((done) => setTimeout(done, 100));
      }
      const eventId = r.got[0]?.headers['loyalty-event-id'];
      first.child.kill('SIGKILL');
      await first.exited;
      // DynamoDB Local stops by itself when its parent is gone (its stdin closes).
      while (javaProcessesFor(dataDir) !== '') await new Promise((done) => setTimeout(done, 200));

      hang = false;
      const second = startNpm(env, { direct: true });
      await waitFor(second.output, `listening on ${base}`);
      // The claim of the attempt cut off lapses (30 s), and the next run sends it again.
      const again = Date.now() + 90_000;
      while (!r.got.slice(1).some((g) => g.headers['loyalty-event-id'] === eventId)) {
        expect(Date.now()).toBeLessThan(again);
        await new Promise((done) => setTimeout(done, 200));
      }
      let log: any;
      for (let i = 0; i < 50; i++) {
        log = await call('GET', `/v1/webhook-endpoints/${endpoint.body.id}/deliveries`);
        if (log.body.items[0]?.status === 'delivered') break;
        await new Promise((done) => setTimeout(done, 200));
      }
      expect(log.body.items).toHaveLength(1);
      expect(log.body.items[0]).toMatchObject({
        eventId,
        status: 'delivered',
        lastStatusCode: 200,
      });
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    } finally {
      await r.close();
    }
  }, 240_000);
});
