import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

/**
 * Section 9 through the real HTTP server on DynamoDB Local. Campaigns are programme-wide,
 * so each test matches its own categories or SKUs, or ends its campaigns when done.
 */
let t: TestApi;
let storeId: string;
let posKey: string;
let n = 0;
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function enrol(): Promise<string> {
  const res = await t.call('POST', '/v1/customers', { body: { externalId: `cmp-${++n}` } });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function campaign(body: Record<string, unknown>): Promise<any> {
  const res = await t.call('POST', '/v1/campaigns', {
    body: { name: `c${++n}`, ...body },
    headers: { 'idempotency-key': `cmp-${n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const end = (id: string) =>
  t.call('PATCH', `/v1/campaigns/${id}`, { body: { endsAt: new Date().toISOString() } });

/** An admin purchase (admin keys may backdate), its answer checked to be 201. */
async function buy(customerId: string, body: Record<string, unknown>): Promise<any> {
  const res = await t.call('POST', '/v1/purchases', {
    body: { customerId, storeId, ...body },
    headers: { 'idempotency-key': `buy-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const line = (sku: string, category: string, quantity: number, unit: number) => ({
  sku,
  category,
  quantity,
  unitPrice: usd(unit),
});

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'High street' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
  const program = { ...defaultProgram, excludedCategories: ['giftcard'] };
  expect((await t.call('PUT', '/v1/program', { body: program })).status).toBe(200);
});
afterAll(() => t.api.stop());

describe('earning by lines', () => {
  it('earns nothing on excluded lines, and the rest of the total (tax) earns like any spend', async () => {
    const customerId = await enrol();
    // 100.00: coffee 2 x 15.00, a 50.00 gift card (excluded), 20.00 tax and fees.
    const p = await buy(customerId, {
      total: usd(10_000),
      lines: [line('latte', 'coffee', 2, 1_500), line('gift-50', 'giftcard', 1, 5_000)],
    });
    // E = 10000 - 5000 = 5000: floor(5000 x 1 / 100) = 50.
    expect(p.pointsEarned).toBe(50);
    expect(p.breakdown).toEqual([{ source: 'base', points: 50 }]);
    // Only E counts towards tiers.
    expect(p.customer.qualifyingSpend).toEqual(usd(5_000));
    // The purchase says so: GET /v1/purchases/{id} shows E as earnableSpend.
    const read = await t.call('GET', `/v1/purchases/${p.id}`);
    expect(read.body).toMatchObject({ total: usd(10_000), earnableSpend: usd(5_000) });
    const [entry] = await wholeLedger(t, customerId);
    expect(entry).toMatchObject({ type: 'earn', points: 50, breakdown: p.breakdown });
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('earns exactly as before with no lines and no campaigns', async () => {
    const customerId = await enrol();
    const p = await buy(customerId, { total: usd(12_345) });
    expect(p.pointsEarned).toBe(123);
    expect(p.breakdown).toEqual([{ source: 'base', points: 123 }]);
  });

  it("refuses lines whose spend exceeds the total, and a line's currency not the program's", async () => {
    const customerId = await enrol();
    const over = await t.call('POST', '/v1/purchases', {
      body: { customerId, storeId, total: usd(1_000), lines: [line('a', 'x', 3, 400)] },
      headers: { 'idempotency-key': `over-${++n}` },
    });
    expect(over.status).toBe(400);
    expect(over.body.errors[0].path).toBe('lines');
    const huge = await t.call('POST', '/v1/purchases', {
      body: {
        customerId,
        storeId,
        total: usd(1_000),
        lines: [line('a', 'x', 1_000_000, 1_000_000_000_000)],
      },
      headers: { 'idempotency-key': `huge-${++n}` },
    });
    expect(huge.status).toBe(400);
  });
});

describe('multiplier and bonus campaigns', () => {
  it('adds overlapping multipliers on matching spend, the tier multiplier on base only', async () => {
    const a = await campaign({
      type: 'multiplier',
      multiplier: 2,
      match: { categories: ['tea'] },
      startsAt: ago(1),
    });
    const b = await campaign({
      type: 'multiplier',
      multiplier: 3.5,
      match: { skus: ['matcha'] },
      startsAt: ago(1),
    });
    const customerId = await enrol();
    // Silver first (1.25): 600.00 of spend in a category no campaign matches.
    await buy(customerId, { total: usd(60_000), lines: [line('beans', 'grocery', 1, 60_000)] });
    const p = await buy(customerId, {
      total: usd(10_099),
      lines: [
        line('matcha', 'tea', 3, 1_333), // 3999: both campaigns
        line('sencha', 'tea', 1, 2_050), // 2050: tea only
        line('gift-20', 'giftcard', 1, 2_000), // excluded: neither
      ],
    });
    // E = 10099 - 2000 = 8099: base floor(floor(80.99) x 1.25) = floor(80 x 1.25) = 100.
    // a: tea = 3999 + 2050 = 6049 -> floor(60 x (2 - 1)) = 60.
    // b: matcha = 3999 -> floor(39 x 2.5) = 97.
    expect(p.breakdown).toEqual([
      { source: 'base', points: 100 },
      { source: 'campaign', campaignId: a.id, points: 60 },
      { source: 'campaign', campaignId: b.id, points: 97 },
    ]);
    expect(p.pointsEarned).toBe(257);
    await end(a.id);
    await end(b.id);
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('pays a bonus only from minSpend of matching spend, and firstPurchaseOnly once', async () => {
    const bonus = await campaign({
      type: 'bonus',
      points: 75,
      match: { categories: ['bakery'] },
      minSpend: usd(1_000),
      startsAt: ago(1),
    });
    const first = await campaign({
      type: 'bonus',
      points: 500,
      firstPurchaseOnly: true,
      match: { categories: ['bakery', 'coffee-beans'] },
      startsAt: ago(1),
    });
    const customerId = await enrol();
    const small = await buy(customerId, {
      total: usd(2_000),
      lines: [line('bun', 'bakery', 1, 999)],
    });
    // 9.99 of bakery: under minSpend; but the first purchase: +500.
    expect(small.breakdown).toEqual([
      { source: 'base', points: 20 },
      { source: 'campaign', campaignId: first.id, points: 500 },
    ]);
    const big = await buy(customerId, {
      total: usd(2_000),
      lines: [line('loaf', 'bakery', 2, 500)],
    });
    expect(big.breakdown).toEqual([
      { source: 'base', points: 20 },
      { source: 'campaign', campaignId: bonus.id, points: 75 },
    ]);
    // No matching line: no bonus, however large the purchase.
    const other = await buy(customerId, { total: usd(50_000) });
    expect(other.breakdown).toEqual([{ source: 'base', points: 500 }]);
    await end(bonus.id);
    await end(first.id);
    await expectBalanceEqualsLedger(t, customerId);
  });

  it('applies from startsAt (inclusive) to endsAt (exclusive), on its UTC days only', async () => {
    const startsAt = new Date(Date.now() - 10 * DAY);
    const endsAt = new Date(Date.now() - 5 * DAY);
    const c = await campaign({
      type: 'bonus',
      points: 10,
      match: { skus: ['window-sku'] },
      startsAt: startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
    });
    const day = new Date(startsAt.getTime() + 2 * DAY);
    const onDay = await campaign({
      type: 'bonus',
      points: 7,
      match: { skus: ['day-sku'] },
      daysOfWeek: [day.getUTCDay()],
      startsAt: ago(20),
    });
    const customerId = await enrol();
    const at = async (occurredAt: Date, sku: string) =>
      (
        await buy(customerId, {
          total: usd(100),
          occurredAt: occurredAt.toISOString(),
          lines: [line(sku, 'misc', 1, 100)],
        })
      ).breakdown.filter((b: any) => b.source === 'campaign');
    expect(await at(new Date(startsAt.getTime() - 1), 'window-sku')).toEqual([]);
    expect(await at(startsAt, 'window-sku')).toEqual([
      { source: 'campaign', campaignId: c.id, points: 10 },
    ]);
    expect(await at(new Date(endsAt.getTime() - 1), 'window-sku')).toHaveLength(1);
    expect(await at(endsAt, 'window-sku')).toEqual([]);
    // The same UTC weekday at its first and last millisecond; the next day not.
    const dayStart = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
    expect(await at(dayStart, 'day-sku')).toHaveLength(1);
    expect(await at(new Date(dayStart.getTime() + DAY - 1), 'day-sku')).toHaveLength(1);
    expect(await at(new Date(dayStart.getTime() + DAY), 'day-sku')).toEqual([]);
    expect(await at(new Date(dayStart.getTime() - 1), 'day-sku')).toEqual([]);
    await end(onDay.id);
  });

  it('targets tiers as held before the purchase', async () => {
    const gold = await campaign({
      type: 'bonus',
      points: 1_000,
      audience: { tiers: ['silver'] },
      match: { skus: ['tier-sku'] },
      startsAt: ago(1),
    });
    const customerId = await enrol();
    // Member before this purchase (it makes them silver): no bonus.
    const first = await buy(customerId, {
      total: usd(50_000),
      lines: [line('tier-sku', 'x', 1, 100)],
    });
    expect(first.customer.tier.id).toBe('silver');
    expect(first.breakdown).toHaveLength(1);
    const second = await buy(customerId, {
      total: usd(100),
      lines: [line('tier-sku', 'x', 1, 100)],
    });
    expect(second.breakdown[1]).toEqual({ source: 'campaign', campaignId: gold.id, points: 1_000 });
    await end(gold.id);
  });
});

describe('a win-back offer', () => {
  it('applies to the purchase that brings a lapsed customer back, and not after', async () => {
    process.env.LOYALTY_ALLOW_FUTURE_ASOF = '1';
    const customerId = await enrol();
    // Every 10 days, then silent for 40: lapsed (silence > max(14, 2 x 10)).
    for (const days of [70, 60, 50, 40]) {
      await buy(customerId, { total: usd(1_000), occurredAt: ago(days) });
    }
    const scan = await t.call('POST', '/v1/jobs/lapse-scan', { body: {} });
    expect(scan.status).toBe(200);
    expect((await t.call('GET', `/v1/customers/${customerId}`)).body.status).toBe('lapsed');
    const winBack = await campaign({
      type: 'bonus',
      points: 300,
      audience: { status: 'lapsed' },
      startsAt: ago(1),
    });
    const back = await buy(customerId, { total: usd(1_000) });
    expect(back.customer.status).toBe('active');
    expect(back.breakdown).toEqual([
      { source: 'base', points: 10 },
      { source: 'campaign', campaignId: winBack.id, points: 300 },
    ]);
    const again = await buy(customerId, { total: usd(1_000) });
    expect(again.breakdown).toEqual([{ source: 'base', points: 10 }]);
    // An active customer who never lapsed gets nothing from it either.
    const other = await enrol();
    expect((await buy(other, { total: usd(1_000) })).breakdown).toHaveLength(1);
    await end(winBack.id);
    await expectBalanceEqualsLedger(t, customerId);
  });
});

describe('refunds of a campaign purchase', () => {
  it('reverse in prime parts exactly what one full refund reverses', async () => {
    const c = await campaign({
      type: 'multiplier',
      multiplier: 1.75,
      match: { categories: ['refund-cat'] },
      startsAt: ago(1),
    });
    const body = {
      total: usd(9_973),
      lines: [line('r', 'refund-cat', 7, 997), line('g', 'giftcard', 1, 1_000)],
    };
    const one = await buy(await enrol(), body);
    const many = await buy(await enrol(), body);
    expect(one.pointsEarned).toBe(many.pointsEarned);
    const refund = (purchaseId: string, amount: number) =>
      t.call('POST', `/v1/purchases/${purchaseId}/refunds`, {
        body: { amount: usd(amount) },
        headers: { 'idempotency-key': `rf-${++n}` },
      });
    const whole = await refund(one.id, 9_973);
    expect(whole.body.pointsReversed).toBe(one.pointsEarned);
    let reversed = 0;
    for (const part of [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 9_844]) {
      const r = await refund(many.id, part);
      expect(r.status).toBe(201);
      reversed += r.body.pointsReversed;
    }
    expect(reversed).toBe(whole.body.pointsReversed);
    // Tier spend leaves in proportion too: all of E, nothing more.
    expect(whole.body.customer.qualifyingSpend).toEqual(usd(0));
    await end(c.id);
    await expectBalanceEqualsLedger(t, many.customerId);
    await expectBalanceEqualsLedger(t, one.customerId);
  });
});

describe('quotes', () => {
  it('answers what the purchase then earns, and writes nothing', async () => {
    const c = await campaign({
      type: 'multiplier',
      multiplier: 2,
      match: { categories: ['quote-cat'] },
      startsAt: ago(1),
    });
    const customerId = await enrol();
    const body = { customerId, total: usd(4_321), lines: [line('q', 'quote-cat', 1, 2_000)] };
    const quote = await t.call('POST', '/v1/purchases/quote', { key: posKey, body });
    expect(quote.status).toBe(200);
    expect(quote.body.breakdown).toEqual([
      { source: 'base', points: 43 },
      { source: 'campaign', campaignId: c.id, points: 20 },
    ]);
    expect(quote.body.customer.points.available).toBe(63);
    expect((await t.call('GET', `/v1/customers/${customerId}`)).body.points.available).toBe(0);
    const bought = await t.call('POST', '/v1/purchases', {
      key: posKey,
      body,
      headers: { 'idempotency-key': `q-${++n}` },
    });
    expect(bought.body.pointsEarned).toBe(quote.body.pointsEarned);
    expect(bought.body.breakdown).toEqual(quote.body.breakdown);
    const missing = await t.call('POST', '/v1/purchases/quote', {
      key: posKey,
      body: { ...body, customerId: 'cus_missing' },
    });
    expect(missing.status).toBe(404);
    await end(c.id);
  });
});

describe('campaign stats', () => {
  it('count purchases, distinct customers and points exactly under 20 parallel purchases', async () => {
    const c = await campaign({
      type: 'bonus',
      points: 11,
      match: { skus: ['stats-sku'] },
      startsAt: ago(1),
    });
    const customers = await Promise.all(Array.from({ length: 10 }, () => enrol()));
    const answers = await Promise.all(
      [...customers, ...customers].map((customerId, i) =>
        t.call('POST', '/v1/purchases', {
          key: posKey,
          body: { customerId, total: usd(500 + i), lines: [line('stats-sku', 'x', 1, 100)] },
          headers: { 'idempotency-key': `stats-${i}-${++n}` },
        }),
      ),
    );
    for (const a of answers) expect(a.status).toBe(201);
    const got = await t.call('GET', `/v1/campaigns/${c.id}`);
    expect(got.body.stats).toEqual({ purchases: 20, customers: 10, pointsAwarded: 220 });
    for (const id of customers) await expectBalanceEqualsLedger(t, id);
    await end(c.id);
  });
});

describe('managing campaigns', () => {
  it('lists by status, ends early and extends, keeping what was earned', async () => {
    const scheduled = await campaign({
      type: 'bonus',
      points: 5,
      match: { skus: ['later'] },
      startsAt: new Date(Date.now() + 30 * DAY).toISOString(),
    });
    expect(scheduled.status).toBe('scheduled');
    const running = await campaign({
      type: 'bonus',
      points: 5,
      match: { skus: ['manage-sku'] },
      startsAt: ago(1),
    });
    expect(running).toMatchObject({
      status: 'active',
      endsAt: null,
      stats: { purchases: 0, customers: 0, pointsAwarded: 0 },
    });
    const customerId = await enrol();
    await buy(customerId, { total: usd(100), lines: [line('manage-sku', 'x', 1, 100)] });
    const ended = await end(running.id);
    expect(ended.status).toBe(200);
    expect(ended.body.status).toBe('ended');
    expect(ended.body.stats.pointsAwarded).toBe(5);
    const after = await buy(customerId, {
      total: usd(100),
      lines: [line('manage-sku', 'x', 1, 100)],
    });
    expect(after.breakdown).toHaveLength(1);
    expect((await wholeLedger(t, customerId)).reduce((s, e) => s + e.points, 0)).toBe(7);

    const all = async (status: string) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `?status=${status}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await t.call('GET', `/v1/campaigns${q}`);
        expect(page.status).toBe(200);
        ids.push(...page.body.items.map((c: any) => c.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      return ids;
    };
    expect(await all('scheduled')).toContain(scheduled.id);
    expect(await all('ended')).toContain(running.id);
    expect(await all('active')).not.toContain(running.id);

    const extended = await t.call('PATCH', `/v1/campaigns/${running.id}`, {
      body: { endsAt: null, name: 'back on' },
    });
    expect(extended.body).toMatchObject({ status: 'active', endsAt: null, name: 'back on' });
    expect(
      (await buy(customerId, { total: usd(100), lines: [line('manage-sku', 'x', 1, 100)] }))
        .breakdown,
    ).toHaveLength(2);
    await end(running.id);
    await end(scheduled.id).then((r) => expect(r.status).toBe(400));
  });

  it('answers a replayed create with the same campaign, and refuses bad campaigns with 400', async () => {
    const body = { name: 'once', type: 'bonus', points: 1, match: { skus: ['once'] } };
    const headers = { 'idempotency-key': `once-${++n}` };
    const a = await t.call('POST', '/v1/campaigns', { body, headers });
    const b = await t.call('POST', '/v1/campaigns', { body, headers });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.body.id).toBe(a.body.id);
    await end(a.body.id);

    const bad: Record<string, unknown>[] = [
      { type: 'lottery', points: 1 },
      { type: 'bonus' },
      { type: 'multiplier', multiplier: 1 },
      { type: 'multiplier', multiplier: 10.5 },
      { type: 'multiplier', multiplier: 2, points: 5 },
      { type: 'bonus', points: 1, startsAt: ago(1), endsAt: ago(1) },
      { type: 'bonus', points: 1, startsAt: ago(1), endsAt: ago(2) },
      { type: 'bonus', points: 1, match: {} },
      { type: 'bonus', points: 1, daysOfWeek: [7] },
      { type: 'bonus', points: 1, audience: { tiers: ['platinum'] } },
      { type: 'bonus', points: 0 },
      { type: 'enrolment', points: 5, match: { skus: ['x'] } },
      { type: 'birthday', points: 5, match: { categories: ['x'] } },
      { type: 'referral', points: 5, match: { skus: ['x'] } },
      { type: 'bonus', points: 5, refereePoints: 5 },
      { type: 'bonus', points: 5, endsAt: ago(1) },
    ];
    for (const extra of bad) {
      const res = await t.call('POST', '/v1/campaigns', {
        body: { name: 'bad', ...extra },
        headers: { 'idempotency-key': `bad-${++n}` },
      });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    }
    const eur = await t.call('POST', '/v1/campaigns', {
      body: { name: 'eur', type: 'bonus', points: 1, minSpend: { amount: 1, currency: 'EUR' } },
      headers: { 'idempotency-key': `eur-${++n}` },
    });
    expect(eur.status).toBe(422);
    expect((await t.call('GET', '/v1/campaigns/cmp_nope')).status).toBe(404);
    expect((await t.call('PATCH', '/v1/campaigns/cmp_nope', { body: { name: 'x' } })).status).toBe(
      404,
    );
    const unknownField = await t.call('PATCH', `/v1/campaigns/${a.body.id}`, {
      body: { points: 50 },
    });
    expect(unknownField.status).toBe(400);
  });
});

describe('one-off credits', () => {
  it('credits an enrolment bonus while the campaign runs, and counts it', async () => {
    const c = await campaign({ type: 'enrolment', points: 20, startsAt: ago(1) });
    const res = await t.call('POST', '/v1/customers', { body: { externalId: `enr-${++n}` } });
    expect(res.status).toBe(201);
    expect(res.body.points.available).toBe(20);
    const [entry] = await wholeLedger(t, res.body.id);
    expect(entry).toMatchObject({ type: 'bonus', points: 20, campaignId: c.id, balanceAfter: 20 });
    await expectBalanceEqualsLedger(t, res.body.id);
    await end(c.id);
    const after = await enrol();
    expect((await t.call('GET', `/v1/customers/${after}`)).body.points.available).toBe(0);
    expect((await t.call('GET', `/v1/campaigns/${c.id}`)).body.stats).toEqual({
      purchases: 0,
      customers: 1,
      pointsAwarded: 20,
    });
  });

  it('pays a referral to both, once, however many first purchases race', async () => {
    const c = await campaign({
      type: 'referral',
      points: 100,
      refereePoints: 50,
      startsAt: ago(1),
    });
    const referrer = await enrol();
    const res = await t.call('POST', '/v1/customers', {
      body: { externalId: `ref-${++n}`, referredBy: referrer },
    });
    expect(res.status).toBe(201);
    expect(res.body.referredBy).toBe(referrer);
    const referred = res.body.id;
    const quote = await t.call('POST', '/v1/purchases/quote', {
      key: posKey,
      body: { customerId: referred, total: usd(1_000) },
    });
    // 10 earned, and the referral's 50 the first purchase credits the referred customer.
    expect(quote.body.pointsEarned).toBe(10);
    expect(quote.body.customer.points.available).toBe(60);
    const firsts = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        t.call('POST', '/v1/purchases', {
          key: posKey,
          body: { customerId: referred, total: usd(1_000) },
          headers: { 'idempotency-key': `first-${i}-${++n}` },
        }),
      ),
    );
    for (const f of firsts) expect(f.status).toBe(201);
    const bonuses = async (id: string) =>
      (await wholeLedger(t, id)).filter((e) => e.type === 'bonus' && e.campaignId === c.id);
    expect((await bonuses(referred)).map((e) => e.points)).toEqual([50]);
    expect((await bonuses(referrer)).map((e) => e.points)).toEqual([100]);
    await expectBalanceEqualsLedger(t, referred);
    await expectBalanceEqualsLedger(t, referrer);
    expect((await t.call('GET', `/v1/campaigns/${c.id}`)).body.stats).toEqual({
      purchases: 1,
      customers: 1,
      pointsAwarded: 150,
    });
    const unknown = await t.call('POST', '/v1/customers', {
      body: { externalId: `ref-${++n}`, referredBy: 'cus_nobody' },
    });
    expect(unknown.status).toBe(404);
    await end(c.id);
  });

  it('credits a birthday once a year, however many job runs overlap', async () => {
    process.env.LOYALTY_ALLOW_FUTURE_ASOF = '1';
    const c = await campaign({ type: 'birthday', points: 250, startsAt: ago(1) });
    const today = new Date().toISOString().slice(5, 10);
    const tomorrow = new Date(Date.now() + DAY).toISOString().slice(5, 10);
    const born = await t.call('POST', '/v1/customers', {
      body: { externalId: `bday-${++n}`, birthDate: `1990-${today}` },
    });
    expect(born.body.birthDate).toBe(`1990-${today}`);
    const later = await t.call('POST', '/v1/customers', {
      body: { externalId: `bday-${++n}`, birthDate: `--${tomorrow}` },
    });
    const runs = await Promise.all(
      Array.from({ length: 3 }, () => t.call('POST', '/v1/jobs/birthday-bonus', { body: {} })),
    );
    for (const r of runs) expect(r.status).toBe(200);
    const bonuses = async (id: string) =>
      (await wholeLedger(t, id)).filter((e) => e.type === 'bonus' && e.campaignId === c.id);
    expect((await bonuses(born.body.id)).map((e) => e.points)).toEqual([250]);
    expect(await bonuses(later.body.id)).toEqual([]);
    // Tomorrow's birthday once its day has begun; a year on, today's once more (the
    // campaign runs until ended). Each as 3 overlapping runs.
    const now = new Date();
    const dayStartIn = (years: number, days: number) =>
      Date.UTC(now.getUTCFullYear() + years, now.getUTCMonth(), now.getUTCDate() + days);
    const runAt = (ms: number) =>
      Promise.all(
        Array.from({ length: 3 }, () =>
          t.call('POST', '/v1/jobs/birthday-bonus', {
            body: { asOf: new Date(ms + 3_600_000).toISOString() },
          }),
        ),
      );
    await runAt(dayStartIn(0, 1));
    expect(await bonuses(later.body.id)).toHaveLength(1);
    expect(await bonuses(born.body.id)).toHaveLength(1);
    await runAt(dayStartIn(1, 0));
    expect(await bonuses(born.body.id)).toHaveLength(2);
    expect(await bonuses(later.body.id)).toHaveLength(1);
    await expectBalanceEqualsLedger(t, born.body.id);
    expect((await t.call('GET', `/v1/campaigns/${c.id}`)).body.stats).toMatchObject({
      customers: 2,
      pointsAwarded: 750,
    });
    for (const bad of ['1990-02-30', '--13-01', '1990-1-01', '2001-02-29']) {
      const res = await t.call('POST', '/v1/customers', {
        body: { externalId: `bday-${++n}`, birthDate: bad },
      });
      expect(res.status, bad).toBe(400);
    }
    await end(c.id);
  });
});
