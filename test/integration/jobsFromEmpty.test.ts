import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { jobs } from '../../lib/routes.ts';
import { redemptionCodeFor, startTestApi, type TestApi } from '../support/api.ts';
import { receiver } from '../support/receiver.ts';

/**
 * A deployment's first minutes: every job runs on its schedule from the start, on a table
 * with nothing in it yet; then the merchant sets the programme up, subscribes, enrols and
 * sells, and the same jobs, run again, must each do their work. Through the real HTTP
 * server on DynamoDB Local. Some jobs run as of a few days ahead (a simulation, as the job
 * routes allow it) to reach the moment their work falls due.
 */
process.env.LOYALTY_ALLOW_FUTURE_ASOF = '1';

let t: TestApi;
const DAY = 86_400_000;
const MINUTE = 60_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
let n = 0;

/** Any call: never a 5xx, whatever the state. */
async function call(method: string, path: string, body?: unknown, idem?: string) {
  const res = await t.call(method, path, {
    ...(body !== undefined && { body }),
    ...(idem !== undefined && { headers: { 'idempotency-key': idem } }),
  });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
  return res;
}

async function job(name: string, asOf?: number) {
  const res = await call(
    'POST',
    `/v1/jobs/${name}`,
    asOf === undefined ? {} : { asOf: new Date(asOf).toISOString() },
  );
  expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}

async function enrol(body: Record<string, unknown> = {}): Promise<string> {
  const res = await call('POST', '/v1/customers', { externalId: `empty-${++n}`, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

let storeId: string;
async function buy(customerId: string, amount: number, occurredAt?: string) {
  const res = await call(
    'POST',
    '/v1/purchases',
    { customerId, storeId, total: usd(amount), ...(occurredAt && { occurredAt }) },
    `empty-buy-${++n}`,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

beforeAll(async () => {
  t = await startTestApi();
}, 60_000);
afterAll(() => t.api.stop());

describe('every job, first run on an empty programme', () => {
  it('does nothing, then does its work once the merchant has set up and sold', async () => {
    const names = jobs.map((j) => j.name).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        'activate-pending',
        'birthday-bonus',
        'deliver-webhooks',
        'expire-points',
        'expiry-reminders',
        'exports',
        'lapse-scan',
        'release-holds',
        'review-tiers',
        'roll-up-reports',
      ]),
    );
    // Deployed: each job runs (twice: a scheduled run and the next) before any data exists.
    for (let i = 0; i < 2; i++) for (const name of names) await job(name);

    const r = await receiver();
    try {
      // The merchant's order: the programme, a webhook, a store and keys, a campaign,
      // customers and their purchases (the till's, some synced late).
      const program = await call('PUT', '/v1/program', {
        ...defaultProgram,
        pendingDays: 7,
        pointsExpireAfterDays: 30,
        maxBackdateDays: 90,
        qualifyingWindowMonths: 1,
      });
      expect(program.status, JSON.stringify(program.body)).toBe(200);
      const endpoint = await call('POST', '/v1/webhook-endpoints', { url: r.url, events: ['*'] });
      expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
      storeId = (await call('POST', '/v1/stores', { name: 'High street' })).body.id;
      const appKey = (await call('POST', '/v1/api-keys', { role: 'app' })).body.key;
      const posKey = (await call('POST', '/v1/api-keys', { role: 'pos', storeId })).body.key;
      const birthday = await call(
        'POST',
        '/v1/campaigns',
        {
          name: 'Birthday',
          type: 'birthday',
          points: 250,
          startsAt: ago(2 * DAY),
        },
        'empty-birthday',
      );
      expect(birthday.status, JSON.stringify(birthday.body)).toBe(201);

      // Three purchases 5 days apart, the last 20 days ago: lapsed; their lots expire
      // within 14 days (available 7 days after each, expiring 30 days after that).
      const lapser = await enrol();
      for (const daysAgo of [30, 25, 20]) await buy(lapser, 2_000, ago(daysAgo * DAY));
      // Bought 80 days ago: its points expired 43 days ago.
      const expired = await enrol();
      await buy(expired, 3_000, ago(80 * DAY));
      // Silver today (600.00), pending for 7 days, back to member once the month has gone.
      const silver = await enrol();
      await buy(silver, 60_000);
      const tierOf = async (id: string) => (await call('GET', `/v1/customers/${id}`)).body.tier.id;
      expect(await tierOf(silver)).toBe('silver');
      // Born on this UTC day (--MM-DD: no year, so 29 February too), paid as of this instant
      // even if midnight passes before the job runs.
      const bornDay = Date.now();
      const born = await enrol({ birthDate: `--${new Date(bornDay).toISOString().slice(5, 10)}` });
      // A redemption authorized and never captured: its hold lapses after holdMinutes.
      const code = await redemptionCodeFor(t, lapser, appKey);
      const hold = await t.call('POST', '/v1/redemptions', {
        key: posKey,
        body: { code, amount: usd(10) },
        headers: { 'idempotency-key': `empty-hold-${++n}` },
      });
      expect(hold.status, JSON.stringify(hold.body)).toBe(201);

      // Each job again, each doing its work.
      const now = Date.now();
      expect(await job('expire-points')).toMatchObject({ customers: 1, points: 30 });
      expect(await job('expiry-reminders')).toMatchObject({ customers: 1 });
      expect(await job('birthday-bonus', bornDay)).toMatchObject({ customers: 1, points: 250 });
      expect(await job('lapse-scan')).toMatchObject({ flagged: 1 });
      expect(await job('release-holds', now + 16 * MINUTE)).toMatchObject({ released: 1 });
      expect(await job('activate-pending', now + 8 * DAY)).toMatchObject({
        customers: 1,
        points: 600,
      });
      expect(await job('review-tiers', now + 70 * DAY)).toMatchObject({ tiersChanged: 1 });
      expect((await job('roll-up-reports')).rolledDays).toBeGreaterThan(0);
      // An export requested by the admin: the next run writes its document.
      const requested = await call('POST', `/v1/customers/${lapser}/exports`, undefined, 'exp-1');
      expect(requested.status).toBe(202);
      expect(await job('exports')).toMatchObject({ exported: 1, failed: 0, complete: true });
      expect((await call('GET', `/v1/exports/${requested.body.id}`)).body.status).toBe('ready');
      const delivered = await job('deliver-webhooks');
      expect(delivered).toMatchObject({ failed: 0 });
      expect(delivered.delivered).toBeGreaterThan(0);
      // Delivered a few at a time, so in any order: in the order they happened (ids are ULIDs).
      const events = r.got.map((g) => JSON.parse(g.body)).sort((a, b) => a.id.localeCompare(b.id));
      const received = (type: string) => events.filter((e) => e.type === type);
      expect(received('customer.lapsed').map((e) => e.customerId)).toEqual([lapser]);
      expect(received('points.expiring').map((e) => e.customerId)).toContain(lapser);
      // Up at the purchase, down by the review once its month has left the window.
      expect(
        received('tier.changed')
          .filter((e) => e.customerId === silver)
          .map((e) => [e.data.reason, e.data.to.id]),
      ).toEqual([
        ['purchase', 'silver'],
        ['review', 'member'],
      ]);
      expect((await call('GET', `/v1/customers/${born}`)).body.points.available).toBe(250);
      expect((await call('GET', `/v1/customers/${expired}`)).body.points.available).toBe(0);
      expect((await call('GET', `/v1/customers/${lapser}`)).body.status).toBe('lapsed');
    } finally {
      await r.close();
    }
  }, 120_000);
});
