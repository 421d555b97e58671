import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { runJob } from '../../lib/usecases/jobs.ts';
import { redemptionCodeFor, startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

// These tests run jobs as of days ahead: a simulation, as the job routes allow it.
process.env.LOYALTY_ALLOW_FUTURE_ASOF = '1';

let t: TestApi;
let storeId: string;
let appKey: string;
let posKey: string;
let n = 0;
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });
/** Customers made by the current test, checked balance = ledger after it. */
let made: string[] = [];

async function enrol(): Promise<string> {
  const id = (await t.call('POST', '/v1/customers', { body: { externalId: `l-${++n}` } })).body.id;
  made.push(id);
  return id;
}

/** An admin purchase (admin keys may backdate) of `amount` cents at `occurredAt`. */
async function buy(customerId: string, amount: number, occurredAt?: Date) {
  const res = await t.call('POST', '/v1/purchases', {
    body: {
      customerId,
      storeId,
      total: usd(amount),
      ...(occurredAt && { occurredAt: occurredAt.toISOString() }),
    },
    headers: { 'idempotency-key': `buy-${++n}` },
  });
  expect(res.status).toBe(201);
  return res.body;
}

const job = (name: string, asOf?: Date) =>
  t.call('POST', `/v1/jobs/${name}`, asOf ? { body: { asOf: asOf.toISOString() } } : {});
const customer = async (id: string) => (await t.call('GET', `/v1/customers/${id}`)).body;
const setProgram = (changes: Record<string, unknown>) =>
  t.call('PUT', '/v1/program', { body: { ...defaultProgram, ...changes } });
const adjust = (id: string, body: unknown, idem = `adj-${++n}`, key?: string) =>
  t.call('POST', `/v1/customers/${id}/adjustments`, {
    body,
    headers: { 'idempotency-key': idem },
    ...(key && { key }),
  });

/** Spends `points` (1 point = 1 cent) at the till with the customer's code, captured at once. */
async function redeem(customerId: string, points: number, status = 201) {
  const code = await redemptionCodeFor(t, customerId, appKey);
  const res = await t.call('POST', '/v1/redemptions', {
    key: posKey,
    body: { code, amount: usd(points), capture: true },
    headers: { 'idempotency-key': `red-${++n}` },
  });
  expect(res.status).toBe(status);
  return res.body;
}

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Main street' } })).body.id;
  appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
});
afterAll(() => t.api.stop());
afterEach(async () => {
  vi.useRealTimers();
  for (const id of made) await expectBalanceEqualsLedger(t, id);
  made = [];
});

describe('pending points', () => {
  beforeAll(() => setProgram({ pendingDays: 14 }));
  afterAll(() => setProgram({}));

  it('land as pending with availableAt, and the activate-pending job makes them available', async () => {
    const id = await enrol();
    const p = await buy(id, 25_000);
    const availableAt = new Date(Date.parse(p.occurredAt) + 14 * DAY);
    expect(p).toMatchObject({
      pointsEarned: 250,
      pointsStatus: 'pending',
      availableAt: availableAt.toISOString(),
    });
    expect(p.customer.points).toMatchObject({ available: 0, pending: 250, lifetimeEarned: 250 });
    expect((await t.call('GET', `/v1/purchases/${p.id}`)).body.pointsStatus).toBe('pending');
    const [entry] = await wholeLedger(t, id);
    expect(entry).toMatchObject({
      type: 'pending',
      points: 0,
      pendingPoints: 250,
      purchaseId: p.id,
    });

    const early = await job('activate-pending', new Date(availableAt.getTime() - 1));
    expect(early.status).toBe(200);
    expect((await customer(id)).points).toMatchObject({ available: 0, pending: 250 });

    const due = await job('activate-pending', availableAt);
    expect(due.body).toMatchObject({ asOf: availableAt.toISOString(), complete: true });
    expect(due.body.customers).toBeGreaterThanOrEqual(1);
    expect((await customer(id)).points).toMatchObject({ available: 250, pending: 0 });
    const [activate] = await wholeLedger(t, id);
    expect(activate).toMatchObject({ type: 'activate', points: 250, pendingPoints: -250 });

    // A rerun finds nothing left to do for this customer.
    await job('activate-pending', availableAt);
    expect((await wholeLedger(t, id)).filter((e) => e.type === 'activate')).toHaveLength(1);
  });

  it('become available on read at availableAt, before any job runs', async () => {
    const id = await enrol();
    // Backdated so that the 14 days end two seconds from now.
    const p = await buy(id, 10_000, new Date(Date.now() - 14 * DAY + 2_000));
    expect(p.pointsStatus).toBe('pending');
    expect((await customer(id)).points).toMatchObject({ available: 0, pending: 100 });
    await new Promise((r) => setTimeout(r, Date.parse(p.availableAt) - Date.now() + 100));
    expect((await customer(id)).points).toMatchObject({ available: 100, pending: 0 });
    expect((await t.call('GET', `/v1/purchases/${p.id}`)).body.pointsStatus).toBe('available');
    expect((await wholeLedger(t, id)).map((e) => e.type)).toEqual(['activate', 'pending']);
  });

  it('a refund inside the window takes them from pending, and they cannot be redeemed', async () => {
    const id = await enrol();
    const p = await buy(id, 10_007);
    const res = await t.call('POST', `/v1/purchases/${p.id}/refunds`, {
      body: { amount: usd(5_003) },
      headers: { 'idempotency-key': `ref-${++n}` },
    });
    expect(res.status).toBe(201);
    // floor(100 x 5003 / 10007) = 49
    expect(res.body.pointsReversed).toBe(49);
    expect(res.body.customer.points).toMatchObject({ available: 0, pending: 51 });
    const [entry] = await wholeLedger(t, id);
    expect(entry).toMatchObject({ type: 'refund', points: 0, pendingPoints: -49 });
    const spend = await redeem(id, 1, 422);
    expect(spend.code).toBe('insufficient-points');
  });
});

describe('a job cut off half-way', () => {
  beforeAll(() => setProgram({ pendingDays: 14 }));
  afterAll(() => setProgram({}));

  it('is finished by the next run, and nobody is activated twice', async () => {
    const ids = [await enrol(), await enrol(), await enrol()];
    for (const id of ids) await buy(id, 10_000);
    const asOf = new Date(Date.now() + 15 * DAY);
    let pages = 0;
    const cut = await runJob('activate-pending', asOf, {
      pageSize: 1,
      shouldStop: () => ++pages > 1,
    });
    expect(cut).toMatchObject({ customers: 1, complete: false });
    const rest = await runJob('activate-pending', asOf, { pageSize: 1 });
    expect(rest.complete).toBe(true);
    for (const id of ids) {
      expect((await customer(id)).points).toMatchObject({ available: 100, pending: 0 });
      expect((await wholeLedger(t, id)).filter((e) => e.type === 'activate')).toHaveLength(1);
    }
  });

  it('races purchases, reads, adjustments and overlapping runs without a lost or double change', async () => {
    const id = await enrol();
    // Pending for 14 days that end a moment from now.
    for (let i = 0; i < 3; i++) await buy(id, 10_000, new Date(Date.now() - 14 * DAY + 1_000));
    expect((await customer(id)).points.pending).toBe(300);
    await new Promise((r) => setTimeout(r, 1_200));
    const asOf = new Date();
    await Promise.all([
      ...Array.from({ length: 6 }, () => buy(id, 1_000)),
      ...Array.from({ length: 4 }, () => runJob('activate-pending', asOf)),
      ...Array.from({ length: 4 }, () => customer(id)),
      ...Array.from({ length: 3 }, (_, i) => adjust(id, { points: 7, reason: `goodwill ${i}` })),
    ]);
    const after = await customer(id);
    // 300 activated once, 21 adjusted; the 6 new purchases (60) are still pending.
    expect(after.points).toMatchObject({ available: 321, pending: 60 });
    const ledger = await wholeLedger(t, id);
    const activated = ledger.filter((e) => e.type === 'activate').reduce((a, e) => a + e.points, 0);
    expect(activated).toBe(300);
  });
});

describe('expiry', () => {
  beforeAll(() => setProgram({ pointsExpireAfterDays: 30 }));
  afterAll(() => setProgram({}));

  it('expires what is left of the oldest points first, after spending took the oldest', async () => {
    const id = await enrol();
    const now = Date.now();
    await buy(id, 10_000, new Date(now - 25 * DAY)); // lot A: 100
    await buy(id, 5_000, new Date(now - 20 * DAY)); // lot B: 50
    await buy(id, 3_000, new Date(now - 2 * DAY)); // lot C: 30
    await redeem(id, 120); // all of A, 20 of B
    const before = await customer(id);
    expect(before.points.available).toBe(60);
    // B (30 left) is the next to go, within 30 days.
    expect(before.points.expiringSoon.points).toBe(30);

    // A would have expired by now + 7 days, but it was spent: nothing expires.
    expect((await job('expire-points', new Date(now + 7 * DAY))).body.points).toBe(0);
    const eleven = await job('expire-points', new Date(now + 11 * DAY));
    expect(eleven.body).toMatchObject({ customers: 1, points: 30, complete: true });
    expect((await customer(id)).points.available).toBe(30);
    const [expired] = await wholeLedger(t, id);
    expect(expired).toMatchObject({ type: 'expire', points: -30, balanceAfter: 30 });

    // Rerunning at the same asOf expires nothing more; C goes when its time comes.
    expect((await job('expire-points', new Date(now + 11 * DAY))).body.points).toBe(0);
    expect((await job('expire-points', new Date(now + 30 * DAY))).body.points).toBe(30);
    expect((await customer(id)).points).toMatchObject({ available: 0, expiringSoon: null });
  });

  it('expires on read once the time has come, whether or not the job ran', async () => {
    const id = await enrol();
    const p = await buy(id, 4_200, new Date(Date.now() - 10 * DAY));
    expect(p.customer.points.available).toBe(42);
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + 25 * DAY);
    const later = await customer(id);
    expect(later.points).toMatchObject({ available: 0, expiringSoon: null });
    expect((await wholeLedger(t, id))[0]).toMatchObject({ type: 'expire', points: -42 });
  });

  it('does nothing when the program has no expiry', async () => {
    await setProgram({ pointsExpireAfterDays: null });
    try {
      const res = await job('expire-points', new Date(Date.now() + 1000 * DAY));
      expect(res.body).toMatchObject({ customers: 0, points: 0 });
    } finally {
      await setProgram({ pointsExpireAfterDays: 30 });
    }
  });
});

describe('adjustments', () => {
  it('credit with a reason, replay, and refuse a debit below 0 with 422', async () => {
    const id = await enrol();
    const body = { points: 500, reason: 'Complaint #4411: cold coffee' };
    const first = await adjust(id, body, 'goodwill-1');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ ...body, type: 'adjust', balanceAfter: 500 });
    const again = await adjust(id, body, 'goodwill-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await adjust(id, { ...body, points: 5 }, 'goodwill-1')).status).toBe(422);

    const over = await adjust(id, { points: -501, reason: 'correction' });
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('insufficient-points');
    const down = await adjust(id, { points: -500, reason: 'Posted twice' });
    expect(down.body).toMatchObject({ points: -500, balanceAfter: 0 });
    expect((await customer(id)).points).toMatchObject({ available: 0, lifetimeEarned: 0 });
    expect((await wholeLedger(t, id)).map((e) => e.points)).toEqual([-500, 500]);
  });

  it('refuses bad input, other roles and unknown customers', async () => {
    const id = await enrol();
    for (const body of [
      { points: 0, reason: 'x' },
      { points: 1.5, reason: 'x' },
      { points: 10 },
      { points: 10, reason: '' },
      { points: 10, reason: 'x'.repeat(501) },
      { points: '10', reason: 'x' },
    ]) {
      const res = await adjust(id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    }
    const noKey = await t.call('POST', `/v1/customers/${id}/adjustments`, {
      body: { points: 1, reason: 'x' },
    });
    expect(noKey.body.code).toBe('idempotency-key-required');
    expect((await adjust(id, { points: 1, reason: 'x' }, undefined, posKey)).status).toBe(403);
    expect((await adjust('cus_nobody', { points: 1, reason: 'x' })).status).toBe(404);
    expect(await wholeLedger(t, id)).toEqual([]);
  });
});

describe('tiers', () => {
  it('go up at once with a tier.changed event, and down at the review after the window', async () => {
    const id = await enrol();
    const up = await buy(id, 60_000);
    expect(up.customer.tier.id).toBe('silver');
    const firstOfMonth = new Date();
    const reviewAt = new Date(
      Date.UTC(firstOfMonth.getUTCFullYear(), firstOfMonth.getUTCMonth() + 12, 1),
    );

    const events = async () =>
      (await t.call('GET', '/v1/events?limit=100')).body.items.filter(
        (e: any) => e.customerId === id,
      );
    expect(await events()).toMatchObject([
      {
        type: 'tier.changed',
        data: { from: { id: 'member' }, to: { id: 'silver' }, direction: 'up', reason: 'purchase' },
      },
    ]);

    const early = await job('review-tiers', new Date(reviewAt.getTime() - 1));
    expect(early.body.tiersChanged).toBe(0);

    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(reviewAt.getTime() + 3_600_000);
    const review = await job('review-tiers');
    expect(review.body.tiersChanged).toBeGreaterThanOrEqual(1);
    const after = await customer(id);
    expect(after.tier.id).toBe('member');
    expect(after.qualifyingSpend).toEqual(usd(0));
    expect((await events()).map((e: any) => e.data.direction)).toEqual(['up', 'down']);
    // Nothing left to review for this customer.
    expect((await job('review-tiers')).body.tiersChanged).toBe(0);
  });

  it('stay up while later spend still qualifies; a refund alone does not move them down', async () => {
    const id = await enrol();
    const p = await buy(id, 60_000);
    await t.call('POST', `/v1/purchases/${p.id}/refunds`, {
      body: { amount: usd(30_000) },
      headers: { 'idempotency-key': `ref-${++n}` },
    });
    const now = await customer(id);
    expect(now.tier.id).toBe('silver');
    expect(now.qualifyingSpend).toEqual(usd(30_000));
    const nextMonth = new Date();
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(Date.UTC(nextMonth.getUTCFullYear(), nextMonth.getUTCMonth() + 6, 15));
    await buy(id, 50_000);
    vi.setSystemTime(Date.UTC(nextMonth.getUTCFullYear(), nextMonth.getUTCMonth() + 12, 2));
    await job('review-tiers');
    expect((await customer(id)).tier.id).toBe('silver');
  });
});

describe('events', () => {
  it('page oldest first with opaque cursors (admin only)', async () => {
    const a = await enrol();
    const b = await enrol();
    await buy(a, 60_000);
    await buy(b, 250_000);
    const all: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await t.call(
        'GET',
        `/v1/events?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    const ids = all.map((e) => e.id);
    expect(ids).toEqual([...ids].sort());
    expect(all.filter((e) => e.customerId === b).map((e) => e.data.to.id)).toEqual(['gold']);
    expect((await t.call('GET', '/v1/events', { key: posKey })).status).toBe(403);
  });
});
