import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onDynamoCall } from '../../lib/store/client.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

/**
 * Campaigns of any age, and many of them, through the real HTTP server on DynamoDB Local
 * (a table of this file's own): a campaign applies to every purchase inside its window,
 * however long ago it ended and however many others ended since, and a campaign refused
 * is refused for its real cause. Each test places its campaigns on days of its own.
 */
let t: TestApi;
let storeId: string;
let n = 0;
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
/** The UTC day the file started on: the same all through, even if midnight passes mid-run. */
const TODAY = Math.floor(Date.now() / DAY) * DAY;

/** The UTC midnight `days` days from TODAY's (negative: ago), as an instant. */
const midnight = (days: number) => new Date(TODAY + days * DAY).toISOString();
const noon = (days: number) => new Date(Date.parse(midnight(days)) + DAY / 2).toISOString();

async function enrol(): Promise<string> {
  const res = await t.call('POST', '/v1/customers', { body: { externalId: `old-${++n}` } });
  expect(res.status).toBe(201);
  return res.body.id;
}

const create = (body: Record<string, unknown>) =>
  t.call('POST', '/v1/campaigns', {
    body: { name: `c${++n}`, type: 'bonus', points: 100, ...body },
    headers: { 'idempotency-key': `old-cmp-${n}` },
  });

async function campaign(body: Record<string, unknown>): Promise<any> {
  const res = await create(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** An admin purchase (admin keys may backdate without limit), checked to be 201. */
async function buy(customerId: string, occurredAt: string | undefined, sku: string): Promise<any> {
  const res = await t.call('POST', '/v1/purchases', {
    body: {
      customerId,
      storeId,
      ...(occurredAt && { occurredAt }),
      total: usd(1_000),
      lines: [{ sku, quantity: 1, unitPrice: usd(1_000) }],
    },
    headers: { 'idempotency-key': `old-buy-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Old town' } })).body.id;
});
afterAll(() => t.api.stop());

describe('a campaign that ended long ago', () => {
  it('applies to a backdated purchase and to an imported one inside its window', async () => {
    // Recreated for an import of old history: it ended 500 days ago.
    const old = await campaign({
      startsAt: midnight(-600),
      endsAt: midnight(-500),
      match: { skus: ['old-sku'] },
    });
    expect(old.status).toBe('ended');
    const customerId = await enrol();

    const backdated = await buy(customerId, noon(-550), 'old-sku');
    expect(backdated.breakdown).toContainEqual({
      source: 'campaign',
      campaignId: old.id,
      points: 100,
    });

    const imported = await t.call('POST', '/v1/imports/purchases', {
      body: {
        items: [
          {
            customerId,
            storeId,
            receiptId: 'old-import-1',
            occurredAt: noon(-540),
            total: usd(1_000),
            lines: [{ sku: 'old-sku', quantity: 1, unitPrice: usd(1_000) }],
          },
          // Outside its window: the campaign adds nothing.
          {
            customerId,
            storeId,
            receiptId: 'old-import-2',
            occurredAt: noon(-450),
            total: usd(1_000),
            lines: [{ sku: 'old-sku', quantity: 1, unitPrice: usd(1_000) }],
          },
        ],
      },
      headers: { 'idempotency-key': 'old-import' },
    });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    expect(imported.body).toMatchObject({ imported: 2, errors: [] });

    const stats = (await t.call('GET', `/v1/campaigns/${old.id}`)).body.stats;
    expect(stats).toEqual({ purchases: 2, customers: 1, pointsAwarded: 200 });
    const customer = (await t.call('GET', `/v1/customers/${customerId}`)).body;
    // 10 base points each, and 100 for each of the two inside the window.
    expect(customer.points.available).toBe(3 * 10 + 2 * 100);
  });

  it('costs a purchase made now nothing more: only one backdated into its time queries', async () => {
    await campaign({ startsAt: midnight(-700), endsAt: midnight(-690), match: { skus: ['cost'] } });
    const customerId = await enrol();
    const queriesOf = async (occurredAt: string | undefined) => {
      const commands: string[] = [];
      const stop = onDynamoCall((command) => commands.push(command));
      try {
        await buy(customerId, occurredAt, 'cost');
      } finally {
        stop();
      }
      return commands.filter((c) => c === 'QueryCommand').length;
    };
    expect(await queriesOf(undefined)).toBe(0);
    expect(await queriesOf(noon(-100))).toBe(0);
    // One Query per window class in use: this 10-day campaign's, and the 100-day one's above.
    const queries = await queriesOf(noon(-695));
    expect(queries).toBeGreaterThanOrEqual(1);
    expect(queries).toBeLessThanOrEqual(2);
  });

  it('still counts against the campaigns running beside it: a 21st at one instant gets 409', async () => {
    const window = { startsAt: midnight(-900), endsAt: midnight(-880) };
    for (let i = 0; i < 20; i++) await campaign({ ...window, match: { skus: [`crowd-${i}`] } });
    const res = await create({ ...window, match: { skus: ['crowd-20'] } });
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body.code).toBe('conflict');
    expect(res.body.detail).toMatch(/20 campaigns may run at any one time/);
  });
});

describe('old campaigns created at once', () => {
  it('lets exactly 20 of 22 created in parallel for one old window run, the others 409', async () => {
    const window = { startsAt: midnight(-1000), endsAt: midnight(-990) };
    const answers = await Promise.all(
      Array.from({ length: 22 }, (_, i) => create({ ...window, match: { skus: [`race-${i}`] } })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 409)).toHaveLength(2);
  });
});

describe('many campaigns', () => {
  it('applies the oldest of 230 daily campaigns ended within 400 days to a purchase backdated into it', async () => {
    // One a day from 380 days ago to 151 days ago: every one ended, none long ago.
    const ids: string[] = [];
    for (let day = -380; day < -150; day++) {
      const c = await campaign({
        startsAt: midnight(day),
        endsAt: midnight(day + 1),
        match: { skus: ['daily'] },
      });
      ids.push(c.id);
    }
    const customerId = await enrol();
    const oldest = await buy(customerId, noon(-380), 'daily');
    expect(oldest.breakdown).toContainEqual({
      source: 'campaign',
      campaignId: ids[0],
      points: 100,
    });
    const newest = await buy(customerId, noon(-151), 'daily');
    expect(newest.breakdown).toContainEqual({
      source: 'campaign',
      campaignId: ids.at(-1),
      points: 100,
    });
  });

  it('schedules a 201st daily deal not yet ended', async () => {
    // A deal a day for the next 210 days, scheduled today.
    for (let day = 10; day < 220; day++) {
      await campaign({
        startsAt: midnight(day),
        endsAt: midnight(day + 1),
        match: { skus: ['deal'] },
      });
    }
    let scheduled = 0;
    let cursor: string | null = null;
    do {
      const page: any = await t.call(
        'GET',
        `/v1/campaigns?status=scheduled&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      scheduled += page.body.items.length;
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(scheduled).toBeGreaterThanOrEqual(210);
  });

  it('refuses a campaign only when the campaigns not ended outgrow their list, and says so', async () => {
    // Each with 500 SKUs of 64 characters (the most a match may name): about 35 KB.
    const skus = (i: number) => Array.from({ length: 500 }, (_, s) => `${i}-${s}-`.padEnd(64, 'x'));
    let refused: any;
    for (let i = 0; i < 20 && !refused; i++) {
      const res = await create({
        startsAt: midnight(300 + i),
        endsAt: midnight(301 + i),
        match: { skus: skus(i) },
      });
      if (res.status !== 201) refused = res;
    }
    expect(refused?.status).toBe(409);
    expect(refused.body.code).toBe('conflict');
    expect(refused.body.detail).toMatch(/300,000 bytes/);
  });
});
