import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainError } from '../../lib/errors.ts';
import { getEndpoint } from '../../lib/store/webhooks.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { RETRY_FIRST_MS, runWebhooks } from '../../lib/usecases/webhookDelivery.ts';
import {
  createEndpoint,
  listEndpointDeliveries,
  listWebhookEndpoints,
  OLD_SECRET_MS,
  pingEndpoint,
  readEndpoint,
  removeEndpoint,
  rotateSecret,
} from '../../lib/usecases/webhookEndpoints.ts';
import { verifySignature } from '../../lib/webhooks/signature.ts';
import { receiver } from '../support/receiver.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The webhook endpoint use cases called directly on DynamoDB Local: create, list, read,
 * rotate the secret, ping, the delivery log, delete; and the delivery job's fan-out, retry
 * and delivery of one event. (The job's edges are tested through the server in
 * test/integration/webhooks.test.ts.)
 */
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: DomainError) => e.code,
  );

let hooks: Awaited<ReturnType<typeof receiver>>;
let failing: Awaited<ReturnType<typeof receiver>>;

beforeAll(async () => {
  await startTestTable();
  hooks = await receiver(() => 200);
  failing = await receiver(() => 500);
});
afterAll(async () => {
  await hooks?.close();
  await failing?.close();
});

describe('createEndpoint / readEndpoint / listWebhookEndpoints', () => {
  it('stores the endpoint with its events sorted once, a sealed secret, and answers the secret once', async () => {
    const now = new Date();
    const made = await createEndpoint(
      {
        url: hooks.url,
        events: ['tier.changed', 'customer.lapsed', 'tier.changed'],
        description: 'crm',
      },
      now,
    );
    expect(made).toMatchObject({
      url: hooks.url,
      events: ['customer.lapsed', 'tier.changed'],
      description: 'crm',
      status: 'enabled',
      createdAt: now.toISOString(),
    });
    expect(made.id).toMatch(/^whe_/);
    expect(made.secret.length).toBeGreaterThan(20);
    // The table keeps it sealed: the secret itself is nowhere in the stored item.
    const stored = await getEndpoint(made.id);
    expect(stored?.secrets).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(made.secret);
    // Read back without the secret.
    const read = await readEndpoint(made.id);
    const { secret: _, ...shown } = made;
    expect(read).toEqual(shown);
    expect(read).not.toHaveProperty('secret');
    expect(read).not.toHaveProperty('secrets');
    expect(read.events).toEqual(['customer.lapsed', 'tier.changed']);
  });

  it('refuses a URL to a private or metadata address as validation-failed, storing nothing', async () => {
    const before = (await listWebhookEndpoints(100, undefined)).items.length;
    for (const url of [
      'https://169.254.169.254/x',
      'https://10.0.0.1/hooks',
      'ftp://example.com/x',
    ]) {
      expect(await codeOf(createEndpoint({ url, events: ['*'] }))).toBe('validation-failed');
    }
    expect((await listWebhookEndpoints(100, undefined)).items).toHaveLength(before);
  });

  it('lists the endpoints a page at a time, each once', async () => {
    for (let i = 0; i < 3; i++) await createEndpoint({ url: hooks.url, events: ['*'] });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listWebhookEndpoints(2, cursor);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('answers not-found for an endpoint that is not there', async () => {
    expect(await codeOf(readEndpoint('whe_nope'))).toBe('not-found');
    expect(await codeOf(rotateSecret('whe_nope'))).toBe('not-found');
    expect(await codeOf(pingEndpoint('whe_nope'))).toBe('not-found');
    expect(await codeOf(listEndpointDeliveries('whe_nope', 10, undefined))).toBe('not-found');
    expect(await codeOf(removeEndpoint('whe_nope'))).toBe('not-found');
  });
});

describe('pingEndpoint to a receiver that fails', () => {
  it('answers delivered false with the status, logs one failed attempt, and does not retry it', async () => {
    const now = new Date();
    const made = await createEndpoint({ url: failing.url, events: ['*'] }, now);
    expect(await pingEndpoint(made.id, now)).toEqual({ delivered: false, statusCode: 500 });
    expect(failing.got).toHaveLength(1);
    const log = await listEndpointDeliveries(made.id, 10, undefined);
    expect(log.items).toHaveLength(1);
    expect(log.items[0]).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 500 });
    expect(log.items[0]).not.toHaveProperty('nextAttemptAt');
  });
});

describe('rotateSecret / pingEndpoint / listEndpointDeliveries / removeEndpoint', () => {
  it('signs with the new secret and the old one for a day after a rotation, logs each ping, then deletes', async () => {
    const now = new Date();
    const made = await createEndpoint({ url: hooks.url, events: ['*'] }, now);
    const { secret: rotated } = await rotateSecret(made.id, now);
    expect(rotated).not.toBe(made.secret);
    const stored = await getEndpoint(made.id);
    expect(stored?.secrets).toHaveLength(2);
    expect(stored?.secrets[1]?.until).toBe(new Date(now.getTime() + OLD_SECRET_MS).toISOString());

    // First ping: the receiver answers 200; both secrets sign it.
    const first = hooks.got.length;
    expect(await pingEndpoint(made.id, now)).toEqual({ delivered: true, statusCode: 200 });
    const got = hooks.got[first];
    expect(got).toBeDefined();
    const header = String(got?.headers['loyalty-signature']);
    const at = Math.floor(Date.now() / 1000);
    expect(verifySignature(header, got?.body ?? '', rotated, at)).toBe(true);
    expect(verifySignature(header, got?.body ?? '', made.secret, at)).toBe(true);
    expect(verifySignature(header, got?.body ?? '', 'whsec_other', at)).toBe(false);
    expect(JSON.parse(got?.body ?? '{}')).toMatchObject({
      type: 'ping',
      data: { endpointId: made.id },
    });

    const log = await listEndpointDeliveries(made.id, 50, undefined);
    expect(log.items).toHaveLength(1);
    expect(log.items[0]).toMatchObject({
      eventType: 'ping',
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
      lastAttemptAt: now.toISOString(),
    });
    expect(log.items[0]).not.toHaveProperty('nextAttemptAt');

    // A day and a bit after the rotation only the new secret signs.
    const later = new Date(now.getTime() + OLD_SECRET_MS + 1000);
    const n = hooks.got.length;
    await pingEndpoint(made.id, later);
    const lateHeader = String(hooks.got[n]?.headers['loyalty-signature']);
    const lateAt = Math.floor(Date.now() / 1000);
    expect(verifySignature(lateHeader, hooks.got[n]?.body ?? '', rotated, lateAt)).toBe(true);
    expect(verifySignature(lateHeader, hooks.got[n]?.body ?? '', made.secret, lateAt)).toBe(false);

    expect((await listEndpointDeliveries(made.id, 50, undefined)).items).toHaveLength(2);
    await removeEndpoint(made.id);
    expect(await getEndpoint(made.id)).toBeUndefined();
    expect(await codeOf(readEndpoint(made.id))).toBe('not-found');
    expect(await codeOf(removeEndpoint(made.id))).toBe('not-found');
  });
});

describe('runWebhooks', () => {
  it('fans a new event out to the endpoint that takes its type, retries a failed attempt when due, then delivers it', async () => {
    const flaky = await receiver((_req, i) => (i === 1 ? 503 : 200));
    try {
      const endpoint = await createEndpoint({ url: flaky.url, events: ['tier.changed'] });
      const storeId = (await createPlace('store', 'Hooks')).id;
      const customerId = (await enrolCustomer({ externalId: 'hook-1' })).id;
      // Past Silver's qualifying spend: a tier.changed event in the outbox.
      await recordPurchase(
        { keyId: 'key_pos', role: 'pos', storeId },
        { customerId, total: { amount: 60_000, currency: 'USD' } },
        { scope: 'k', key: 'hook-purchase', requestHash: 'h' },
      );

      const start = Date.now();
      const first = await runWebhooks(new Date(), { clock: () => new Date(start) });
      expect(first.fannedOut).toBeGreaterThanOrEqual(1);
      expect(first.retried).toBeGreaterThanOrEqual(1);
      expect(flaky.got).toHaveLength(1);
      const [pending] = (await listEndpointDeliveries(endpoint.id, 10, undefined)).items;
      expect(pending).toMatchObject({
        eventType: 'tier.changed',
        status: 'pending',
        attempts: 1,
        lastStatusCode: 503,
      });

      // Not yet due: nothing sent.
      await runWebhooks(new Date(), { clock: () => new Date(start + 1000) });
      expect(flaky.got).toHaveLength(1);

      // Due after the first retry's wait: sent again, the same event, and delivered.
      const later = new Date(start + RETRY_FIRST_MS + 1000);
      const second = await runWebhooks(later, { clock: () => later });
      expect(second.delivered).toBeGreaterThanOrEqual(1);
      expect(flaky.got).toHaveLength(2);
      expect(flaky.got[1]?.headers['loyalty-event-id']).toBe(
        flaky.got[0]?.headers['loyalty-event-id'],
      );
      expect(JSON.parse(flaky.got[1]?.body ?? '{}')).toMatchObject({
        type: 'tier.changed',
        customerId,
      });
      const log = (await listEndpointDeliveries(endpoint.id, 10, undefined)).items;
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 });

      // Delivered: a later run sends it no more.
      const after = new Date(start + 10 * RETRY_FIRST_MS);
      await runWebhooks(after, { clock: () => after });
      expect(flaky.got).toHaveLength(2);
    } finally {
      await flaky.close();
    }
  });
});
