import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { lapseReasons } from '../../lib/domain/cadence.ts';
import { defaultProgram } from '../../lib/domain/program.ts';
import { onDynamoCall } from '../../lib/store/client.ts';
import { DAY_MARKS, DAY_SHARDS, RECENT_DAYS } from '../../lib/store/reports.ts';
import { prng } from '../bench/workload.ts';
import {
  ADMIN_KEY,
  allPages as allPagesOf,
  redemptionCodeFor,
  startTestApi,
  type TestApi,
} from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

/**
 * The reports over time (and the retention report) through the real HTTP server on
 * DynamoDB Local: every row of GET /v1/reports/daily is checked against figures computed
 * from the customers themselves (their balances, ledgers, purchases and lapse events), before
 * and after the roll-up job, and when history arrives late. The tests run in order on one
 * table of their own; each figure is derived from the API's state, never from the clock's
 * hour (instants are placed whole days before "yesterday").
 */
let t: TestApi;
let storeId: string;
let posKey: string;
let appKey: string;
let partnerKey: string;
let n = 0;

const DAY = 86_400_000;
/** Worth less than a point's face value, so the liability's rounding shows. */
const CASH = { points: 3, amount: 2 };
const usd = (amount: number) => ({ amount, currency: 'USD' });
const dayOf = (at: number | string | Date) => new Date(at).toISOString().slice(0, 10);
const addDays = (day: string, k: number) => dayOf(Date.parse(`${day}T00:00:00.000Z`) + k * DAY);
const today = () => dayOf(Date.now());
const liability = (points: number) =>
  usd(points > 0 ? Math.floor((points * CASH.amount) / CASH.points) : 0);
const monthOf = (at: string) => at.slice(0, 7);
/** The 12 calendar months to a day's (UTC), as "YYYY-MM". */
function window12(day: string): Set<string> {
  const [y, m] = day.split('-').map(Number) as [number, number];
  return new Set(
    Array.from({ length: 12 }, (_, i) =>
      new Date(Date.UTC(y, m - 1 - i, 1)).toISOString().slice(0, 7),
    ),
  );
}

/**
 * "Yesterday": a day and a half ago, so a whole day has passed since at any hour of the run.
 * Instants placed whole days before it keep whole-day gaps whatever the time of day.
 */
const base = Date.now() - 1.5 * DAY;

/** Every customer this file made, and every purchase recorded (by the route or an import). */
const everyone: string[] = [];
interface Bought {
  customerId: string;
  occurredAt: string;
  amount: number;
}
const bought: Bought[] = [];

async function enrol(): Promise<string> {
  const res = await t.call('POST', '/v1/customers', { body: { externalId: `rp-${++n}` } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  everyone.push(res.body.id);
  return res.body.id;
}

/** A purchase: by the admin key at `at` (backdated), or by the till now (at undefined). */
async function buy(customerId: string, amount: number, at?: number): Promise<any> {
  const res = await t.call('POST', '/v1/purchases', {
    key: at === undefined ? posKey : undefined,
    body: {
      customerId,
      total: usd(amount),
      ...(at !== undefined && { storeId, occurredAt: new Date(at).toISOString() }),
    },
    headers: { 'idempotency-key': `rp-buy-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  bought.push({ customerId, occurredAt: res.body.occurredAt, amount });
  return res.body;
}

async function importPurchases(
  items: { customerId: string; at: number; amount: number }[],
): Promise<void> {
  for (let i = 0; i < items.length; i += 500) {
    const batch = items.slice(i, i + 500).map((p) => ({
      customerId: p.customerId,
      storeId,
      receiptId: `rp-receipt-${++n}`,
      occurredAt: new Date(p.at).toISOString(),
      total: usd(p.amount),
    }));
    const res = await t.call('POST', '/v1/imports/purchases', {
      body: { items: batch },
      headers: { 'idempotency-key': `rp-imp-${++n}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ imported: batch.length, duplicates: 0, errors: [] });
    for (const p of batch) {
      bought.push({ customerId: p.customerId, occurredAt: p.occurredAt, amount: p.total.amount });
    }
  }
}

async function importCustomers(items: Record<string, unknown>[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < items.length; i += 500) {
    const res = await t.call('POST', '/v1/imports/customers', {
      body: { items: items.slice(i, i + 500) },
      headers: { 'idempotency-key': `rp-impc-${++n}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.errors).toEqual([]);
    ids.push(...res.body.createdCustomers.map((c: any) => c.customerId));
  }
  everyone.push(...ids);
  return ids;
}

async function refund(purchaseId: string, amount: number): Promise<void> {
  const res = await t.call('POST', `/v1/purchases/${purchaseId}/refunds`, {
    body: { amount: usd(amount) },
    headers: { 'idempotency-key': `rp-ref-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function adjust(customerId: string, points: number): Promise<void> {
  const res = await t.call('POST', `/v1/customers/${customerId}/adjustments`, {
    body: { points, reason: points > 0 ? 'goodwill' : 'correction' },
    headers: { 'idempotency-key': `rp-adj-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** Authorizes a redemption at the partner; then captures it, voids it, or (pos) captures at once. */
async function redeem(
  customerId: string,
  amount: number,
  how: 'capture' | 'void' | 'at-once',
): Promise<void> {
  const code = await redemptionCodeFor(t, customerId, appKey);
  const res = await t.call('POST', '/v1/redemptions', {
    key: how === 'at-once' ? posKey : partnerKey,
    body: { code, amount: usd(amount), ...(how === 'at-once' && { capture: true }) },
    headers: { 'idempotency-key': `rp-red-${++n}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.points).toBe(Math.ceil((amount * CASH.points) / CASH.amount));
  if (how === 'at-once') {
    expect(res.body.status).toBe('captured');
    return;
  }
  const settled = await t.call('POST', `/v1/redemptions/${res.body.id}/${how}`, {
    key: partnerKey,
    headers: { 'idempotency-key': `rp-set-${++n}` },
  });
  expect(settled.status, JSON.stringify(settled.body)).toBe(200);
}

async function lapseReason(customerId: string, reason: string): Promise<void> {
  const res = await t.call('PUT', `/v1/customers/${customerId}/lapse-reason`, {
    body: { reason },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** The lapse scan as of now, run until complete; returns how many it flagged. */
async function lapseScan(): Promise<number> {
  let flagged = 0;
  for (;;) {
    const res = await t.call('POST', '/v1/jobs/lapse-scan', { body: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    flagged += res.body.flagged;
    if (res.body.complete) return flagged;
  }
}

async function rollUp(asOf?: number, dryRun = false): Promise<any> {
  const res = await t.call('POST', '/v1/jobs/roll-up-reports', {
    body: {
      ...(asOf !== undefined && { asOf: new Date(asOf).toISOString() }),
      ...(dryRun && { dryRun }),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.complete).toBe(true);
  return res.body;
}

/** GET /v1/reports/daily over any span, 366 days a request. */
async function dailyRows(from: string, to: string): Promise<any[]> {
  const rows: any[] = [];
  for (let start = from; start <= to; start = addDays(start, 366)) {
    const end = addDays(start, 365) < to ? addDays(start, 365) : to;
    const res = await t.call('GET', `/v1/reports/daily?from=${start}&to=${end}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    rows.push(...res.body.items);
  }
  return rows;
}

const allPages = (path: string) => allPagesOf(t, path);

/** What the API holds about every customer: the figures the reports must add up to. */
interface Truth {
  customers: any[];
  ledgers: Map<string, any[]>;
  events: any[];
  lapsedList: any[];
  /** When each purchase of the ledgers occurred (GET /v1/purchases/{id}). */
  occurredAt: Map<string, string>;
}

const occurredAtById = new Map<string, string>();

async function groundTruth(): Promise<Truth> {
  const customers: any[] = [];
  const ledgers = new Map<string, any[]>();
  // A read settles the customer (pending points due, points expired): read, then the ledger.
  for (const id of everyone) {
    const res = await t.call('GET', `/v1/customers/${id}`);
    expect(res.status).toBe(200);
    customers.push(res.body);
    ledgers.set(id, await wholeLedger(t, id));
  }
  for (const entries of ledgers.values()) {
    for (const e of entries) {
      if (e.purchaseId === undefined || occurredAtById.has(e.purchaseId)) continue;
      const purchase = await t.call('GET', `/v1/purchases/${e.purchaseId}`);
      expect(purchase.status).toBe(200);
      occurredAtById.set(e.purchaseId, purchase.body.occurredAt);
    }
  }
  const events = await allPages('/v1/events');
  const lapsedList = await allPages('/v1/lapsed-customers');
  return { customers, ledgers, events, lapsedList, occurredAt: occurredAtById };
}

/**
 * The rows the report must give, from the customers' own records: each change on the day
 * the README's "Reports over time" (and the route's description) puts it, totals as the
 * sum of every day's changes up to the day.
 * valueAtRisk of a past day is the spend (by month, as known when the customer lapsed) in
 * its 12 months of the customers lapsed at its end; of today, what the lapsed list says.
 */
function expectedRows(truth: Truth, from: string, to: string): any[] {
  const delta = new Map<string, Record<string, number>>();
  const add = (day: string, name: string, k: number) => {
    const counts = delta.get(day) ?? {};
    counts[name] = (counts[name] ?? 0) + k;
    delta.set(day, counts);
  };
  const purchasesOf = new Map<string, Bought[]>();
  for (const b of bought) {
    purchasesOf.set(b.customerId, [...(purchasesOf.get(b.customerId) ?? []), b]);
    add(dayOf(b.occurredAt), 'purchases', 1);
    add(dayOf(b.occurredAt), 'spend', b.amount);
  }
  for (const c of truth.customers) {
    const days = [
      dayOf(c.createdAt),
      ...(purchasesOf.get(c.id) ?? []).map((b) => dayOf(b.occurredAt)),
    ];
    add(days.sort()[0] as string, 'customers', 1);
  }
  for (const entries of truth.ledgers.values()) {
    for (const e of entries) {
      // Points on the day they moved; a purchase's on the day it occurred.
      const day = dayOf(
        e.type === 'earn' || e.type === 'pending'
          ? (truth.occurredAt.get(e.purchaseId) as string)
          : e.at,
      );
      add(day, 'points', e.points + (e.pendingPoints ?? 0));
      if (e.type === 'earn' || e.type === 'bonus') add(day, 'pointsEarned', e.points);
      if (e.type === 'pending') add(day, 'pointsEarned', e.pendingPoints);
      if (e.type === 'expire') add(day, 'pointsExpired', -e.points);
      if (e.type === 'redeem') {
        // A hold captured later: the points left available at the hold.
        const hold = entries.find((h) => h.type === 'hold' && h.redemptionId === e.redemptionId);
        add(day, 'pointsRedeemed', e.points < 0 ? -e.points : -(hold?.points ?? Number.NaN));
      }
    }
  }
  // Lapse spells: from the lapse's day to the day of the purchase that ended it.
  const spells: {
    customerId: string;
    from: string;
    until: string | undefined;
    lapsedAt: string;
  }[] = [];
  for (const e of truth.events) {
    if (e.type === 'customer.lapsed') {
      add(dayOf(e.data.lapsedAt), 'lapsedToday', 1);
      add(dayOf(e.data.lapsedAt), 'lapsed', 1);
      spells.push({
        customerId: e.customerId,
        from: dayOf(e.data.lapsedAt),
        until: undefined,
        lapsedAt: e.data.lapsedAt,
      });
    }
    if (e.type === 'customer.reactivated' && e.data.withdrawn === true) {
      // A purchase recorded later, dated before the lapse began: the lapse did not happen.
      add(dayOf(e.data.lapsedAt), 'lapsedToday', -1);
      add(dayOf(e.data.lapsedAt), 'lapsed', -1);
      const at = spells.findIndex((s) => s.customerId === e.customerId && s.until === undefined);
      expect(at, `a withdrawal of ${e.customerId} without its lapse`).toBeGreaterThanOrEqual(0);
      spells.splice(at, 1);
      continue;
    }
    if (e.type === 'customer.reactivated') {
      const back = [dayOf(e.data.purchaseAt), dayOf(e.data.lapsedAt)].sort()[1] as string;
      add(back, 'reactivatedToday', 1);
      add(back, 'lapsed', -1);
      const spell = spells.find((s) => s.customerId === e.customerId && s.until === undefined);
      expect(spell, `a return of ${e.customerId} without its lapse`).toBeDefined();
      (spell as (typeof spells)[number]).until = back;
    }
  }
  const now = today();
  const keptMonths = window12(now);
  const valueAtRisk = (day: string) => {
    if (day >= now) {
      return day === now
        ? truth.lapsedList.reduce((s, l) => s + l.annualSpend.amount, 0)
        : Number.NaN;
    }
    const months = window12(day);
    let sum = 0;
    for (const s of spells) {
      if (s.from > day || (s.until !== undefined && s.until <= day)) continue;
      for (const b of purchasesOf.get(s.customerId) ?? []) {
        const month = monthOf(b.occurredAt);
        if (b.occurredAt < s.lapsedAt && months.has(month) && keptMonths.has(month))
          sum += b.amount;
      }
    }
    return sum;
  };

  const first = [...delta.keys()].sort()[0] as string;
  const totals = { customers: 0, lapsed: 0, points: 0 };
  const rows: any[] = [];
  for (let day = first < from ? first : from; day <= to; day = addDays(day, 1)) {
    const d = delta.get(day) ?? {};
    totals.customers += d.customers ?? 0;
    totals.lapsed += d.lapsed ?? 0;
    totals.points += d.points ?? 0;
    if (day < from) continue;
    rows.push({
      date: day,
      customers: totals.customers,
      newCustomers: d.customers ?? 0,
      active: totals.customers - totals.lapsed,
      lapsed: totals.lapsed,
      lapsedToday: d.lapsedToday ?? 0,
      reactivatedToday: d.reactivatedToday ?? 0,
      purchases: d.purchases ?? 0,
      spend: usd(d.spend ?? 0),
      pointsEarned: d.pointsEarned ?? 0,
      pointsRedeemed: d.pointsRedeemed ?? 0,
      pointsExpired: d.pointsExpired ?? 0,
      pointsOutstanding: totals.points,
      liability: liability(totals.points),
      valueAtRisk: usd(valueAtRisk(day)),
    });
  }
  return rows;
}

/** The first day anything was counted on (a purchase 400 days back), a few days before. */
const firstDay = () => addDays([...bought.map((b) => dayOf(b.occurredAt))].sort()[0] as string, -3);

/** The report equals the rows computed from the customers, every day from firstDay to today. */
async function expectReportExact(truth: Truth): Promise<any[]> {
  const from = firstDay();
  const rows = await dailyRows(from, today());
  const expected = expectedRows(truth, from, today());
  expect(rows.map((r) => r.date)).toEqual(expected.map((r) => r.date));
  for (const [i, row] of rows.entries()) expect(row, row.date).toEqual(expected[i]);
  return rows;
}

beforeAll(async () => {
  t = await startTestApi();
  const program = await t.call('PUT', '/v1/program', {
    body: { ...defaultProgram, cashValue: CASH, pendingDays: 3, pointsExpireAfterDays: 90 },
  });
  expect(program.status, JSON.stringify(program.body)).toBe(200);
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'High street' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
  appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
  const partnerId = (await t.call('POST', '/v1/partners', { body: { name: 'Cinema' } })).body.id;
  partnerKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'partner', partnerId } })).body
    .key;
  const campaign = await t.call('POST', '/v1/campaigns', {
    body: {
      name: 'Welcome',
      type: 'enrolment',
      points: 25,
      startsAt: new Date(Date.now() - 3_600_000).toISOString(),
    },
    headers: { 'idempotency-key': 'rp-campaign' },
  });
  expect(campaign.status, JSON.stringify(campaign.body)).toBe(201);
}, 120_000);
afterAll(() => t.api.stop());

describe('a seeded workload over many days', () => {
  const rand = prng(20_260_511);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const lapsers: {
    id: string;
    purchases: { id: string; amount: number }[];
    last: number;
    lapsedAt: number;
  }[] = [];
  const regulars: string[] = [];
  let truth: Truth;

  beforeAll(async () => {
    // Customers who lapse: three purchases `gap` days apart, the last more than 2 x gap
    // (the lapse rule, factor 2) whole days before yesterday.
    for (let i = 0; i < 8; i++) {
      const id = await enrol();
      const gap = int(5, 12);
      // The lapse rule: silence of more than max(minDays 14, factor 2 x the typical gap).
      const silence = Math.max(14, 2 * gap);
      const last = base - (silence + int(1, 15)) * DAY - int(0, 12) * 3_600_000;
      const purchases = [];
      for (const k of [2, 1, 0]) {
        const amount = int(500, 30_000);
        purchases.push({ id: (await buy(id, amount, last - k * gap * DAY)).id, amount });
      }
      lapsers.push({ id, purchases, last, lapsedAt: last + silence * DAY });
    }
    // Regulars: a few purchases in the last 60 days, the last within 10 (none lapses);
    // some at the till now, pending for pendingDays.
    for (let i = 0; i < 10; i++) {
      const id = await enrol();
      regulars.push(id);
      for (let k = int(0, 3); k > 0; k--) await buy(id, int(100, 40_000), base - int(10, 60) * DAY);
      await buy(id, int(1_000, 20_000), base - int(0, 8) * DAY - int(0, 20) * 3_600_000);
      if (rand() < 0.5) await buy(id, int(100, 9_000));
    }
    // Imported members with opening balances and years of history: points available long
    // ago have expired (pointsExpireAfterDays 90), and expire at their next read.
    const imported = await importCustomers(
      Array.from({ length: 4 }, (_, i) => ({
        externalId: `rp-imp-${i}`,
        openingPoints: int(0, 500),
      })),
    );
    await importPurchases(
      imported.flatMap((customerId) =>
        Array.from({ length: int(1, 4) }, () => ({
          customerId,
          at: base - int(90, 300) * DAY - int(0, 23) * 3_600_000,
          amount: int(500, 50_000),
        })),
      ),
    );
    // A customer since more than a year ago: a purchase 400 days back, one now.
    const oldTimer = await enrol();
    await buy(oldTimer, 12_345, base - 400 * DAY);
    await buy(oldTimer, 2_000);

    // Refunds: of a purchase still pending, and of one long available.
    const pendingPurchase = await buy(regulars[0] as string, 8_000);
    expect(pendingPurchase.availableAt).toBeDefined();
    await refund(pendingPurchase.id, 3_000);
    const older = await buy(regulars[1] as string, 9_000, base - 20 * DAY);
    await refund(older.id, 9_000);
    // Adjustments, up and down.
    await adjust(regulars[2] as string, 120);
    await adjust(imported[0] as string, -1);
    // Redemptions: captured later, voided, captured at once.
    const rich = await buy(regulars[3] as string, 60_000, base - 12 * DAY);
    expect(rich.pointsEarned).toBeGreaterThanOrEqual(600);
    await redeem(regulars[3] as string, 101, 'capture');
    await redeem(regulars[3] as string, 50, 'void');
    await redeem(regulars[3] as string, 33, 'at-once');

    // The lapse scan flags every lapser, dated when the rule started to hold.
    expect(await lapseScan()).toBeGreaterThanOrEqual(lapsers.length);
    for (const l of lapsers) {
      const c = (await t.call('GET', `/v1/customers/${l.id}`)).body;
      expect(c).toMatchObject({ status: 'lapsed', lapsedAt: new Date(l.lapsedAt).toISOString() });
    }
    const [a, b, c, d, e, f, g] = lapsers as [
      (typeof lapsers)[number],
      (typeof lapsers)[number],
      (typeof lapsers)[number],
      (typeof lapsers)[number],
      (typeof lapsers)[number],
      (typeof lapsers)[number],
      (typeof lapsers)[number],
    ];
    // What the win-back calls learned; one changes its mind.
    await lapseReason(a.id, 'price');
    await lapseReason(b.id, 'competitor');
    await lapseReason(b.id, 'service');
    await lapseReason(c.id, 'quality');
    // Returns: now; backdated after the lapse. A purchase dated before the last one (a
    // late till) is no return: e stays lapsed, with its spend. One dated after the last
    // but before the lapse began withdraws g's lapse: it did not happen.
    await buy(c.id, 4_000);
    await buy(d.id, 3_000, d.lapsedAt + DAY / 4);
    await buy(e.id, 2_500, e.last - DAY / 2);
    await buy(g.id, 1_500, g.last + DAY);
    // A lapsed customer's refund changes the value at risk.
    const refunded = f.purchases[2] as { id: string; amount: number };
    await refund(refunded.id, Math.floor(refunded.amount / 2));
    truth = await groundTruth();
  }, 300_000);

  it("today's row is what the customers add up to, and every day's row is exact", async () => {
    const rows = await expectReportExact(truth);
    const last = rows.at(-1);
    const lapsed = truth.customers.filter((c) => c.status === 'lapsed');
    const outstanding = truth.customers.reduce(
      (s, c) => s + c.points.available + c.points.pending,
      0,
    );
    expect(last).toMatchObject({
      date: today(),
      customers: everyone.length,
      lapsed: lapsed.length,
      active: everyone.length - lapsed.length,
      pointsOutstanding: outstanding,
      liability: liability(outstanding),
      valueAtRisk: usd(truth.lapsedList.reduce((s, l) => s + l.annualSpend.amount, 0)),
    });
    expect(truth.lapsedList.map((l) => l.customerId).sort()).toEqual(
      lapsed.map((c) => c.id).sort(),
    );
    // The workload reached every kind of count, so the sums below say something.
    // Five lapsers still lapsed (two came back, one's lapse withdrawn), and imported
    // members whose history lapsed.
    expect(lapsed.length).toBeGreaterThanOrEqual(lapsers.length - 3);
    expect(lapsed.filter((c) => lapsers.some((l) => l.id === c.id))).toHaveLength(
      lapsers.length - 3,
    );
    expect(truth.events).toContainEqual(
      expect.objectContaining({
        type: 'customer.reactivated',
        customerId: (lapsers[6] as (typeof lapsers)[number]).id,
        data: expect.objectContaining({ withdrawn: true }),
      }),
    );
    expect(outstanding).toBeGreaterThan(0);
    expect(liability(outstanding).amount).toBeLessThan(outstanding);

    const sum = (name: string) =>
      rows.reduce((s, r) => s + (typeof r[name] === 'number' ? r[name] : r[name].amount), 0);
    expect(sum('purchases')).toBe(bought.length);
    expect(sum('spend')).toBe(bought.reduce((s, b) => s + b.amount, 0));
    expect(sum('newCustomers')).toBe(everyone.length);
    const entries = [...truth.ledgers.values()].flat();
    const earned = entries.reduce(
      (s, e) =>
        s +
        (e.type === 'earn' || e.type === 'bonus' ? e.points : 0) +
        (e.type === 'pending' ? e.pendingPoints : 0),
      0,
    );
    expect(sum('pointsEarned')).toBe(earned);
    expect(entries.filter((e) => e.type === 'earn' || e.type === 'pending')).toHaveLength(
      bought.length,
    );
    expect(entries.some((e) => e.type === 'bonus')).toBe(true);
    expect(sum('pointsRedeemed')).toBe(
      Math.ceil((101 * CASH.points) / CASH.amount) + Math.ceil((33 * CASH.points) / CASH.amount),
    );
    expect(sum('pointsExpired')).toBe(
      entries.filter((e) => e.type === 'expire').reduce((s, e) => s - e.points, 0),
    );
    expect(sum('pointsExpired')).toBeGreaterThan(0);
    // Every lapse a scan flagged, but the one withdrawn (no return here came before a scan).
    expect(sum('lapsedToday')).toBe(
      truth.events.filter((e) => e.type === 'customer.lapsed').length -
        truth.events.filter((e) => e.type === 'customer.reactivated' && e.data.withdrawn).length,
    );
    expect(sum('reactivatedToday')).toBe(2);
    expect(new Set(rows.filter((r) => r.purchases > 0).map((r) => r.date)).size).toBeGreaterThan(
      20,
    );
    for (const id of everyone) await expectBalanceEqualsLedger(t, id);
  });

  it('gives the same rows after the roll-up job, and the retention report agrees with them', async () => {
    const from = firstDay();
    const before = await dailyRows(from, today());
    // Days RECENT_DAYS old and two more are stored; the first run stores every day from the
    // first counted (the purchase 400 days back).
    const through = () => addDays(today(), -(RECENT_DAYS + 2));
    const expectedThrough = [through()];
    const job = await rollUp();
    expectedThrough.push(through());
    expect(expectedThrough).toContain(job.rolledThrough);
    expect(job.backfilled).toBe(0);
    expect(job.rolledDays).toBe(daysFrom(addDays(firstDay(), 3), job.rolledThrough));
    const after = await dailyRows(from, today());
    expect(JSON.stringify(after)).toBe(JSON.stringify(before));
    // Running it again stores nothing and changes nothing.
    const again = await rollUp();
    // (Only a day that became old enough meanwhile would be new.)
    expect(again.rolledDays).toBe(daysFrom(addDays(job.rolledThrough, 1), again.rolledThrough));
    expect(JSON.stringify(await dailyRows(from, today()))).toBe(JSON.stringify(before));

    // The retention report: as of now, and as of a day in the past.
    for (const asOf of [Date.now(), base - 10 * DAY]) {
      const res = await t.call('GET', `/v1/reports/retention?asOf=${new Date(asOf).toISOString()}`);
      expect(res.status).toBe(200);
      const day = dayOf(asOf);
      const row = after.find((r) => r.date === day);
      const yearAgo = new Date(asOf);
      yearAgo.setUTCFullYear(yearAgo.getUTCFullYear() - 1);
      const inYear = after.filter((r) => r.date > dayOf(yearAgo) && r.date <= day);
      const sum = (name: string) => inYear.reduce((s, r) => s + r[name], 0);
      expect(res.body).toMatchObject({
        customers: row.customers,
        active: row.active,
        lapsed: row.lapsed,
        valueAtRisk: row.valueAtRisk,
        lapsedLast12Months: sum('lapsedToday'),
        reactivatedLast12Months: sum('reactivatedToday'),
      });
    }
    const now = (await t.call('GET', '/v1/reports/retention')).body;
    expect(now.lapsedLast12Months).toBeGreaterThanOrEqual(8);
    expect(now.reactivatedLast12Months).toBe(2);
    // By reason, as the lapsed list says.
    const byReason: Record<string, { customers: number; valueAtRisk: any }> = {};
    for (const l of truth.lapsedList) {
      const reason = l.reason ?? 'unknown';
      const entry = byReason[reason] ?? { customers: 0, valueAtRisk: usd(0) };
      entry.customers += 1;
      entry.valueAtRisk = usd(entry.valueAtRisk.amount + l.annualSpend.amount);
      byReason[reason] = entry;
    }
    expect(now.byReason).toEqual(byReason);
    expect(Object.keys(byReason).sort()).toEqual(['price', 'service', 'unknown']);
  });

  it('shows history arriving late on its own days at once, and the same after the job reruns', async () => {
    const rolled = (await rollUp()).rolledThrough as string;
    // Days stored already (older than RECENT_DAYS), and a recent one (never stored). A
    // change over DAY_MARKS days back marks its month, a later one its day.
    const late = addDays(today(), -(RECENT_DAYS + 10));
    const import1 = addDays(today(), -(RECENT_DAYS + 20));
    const import2 = addDays(today(), -(DAY_MARKS - 1));
    const import3 = addDays(today(), -(DAY_MARKS + 40));
    const recent = addDays(today(), -1);
    expect(import1 < late && late <= rolled && rolled < recent).toBe(true);
    const [before] = await dailyRows(late, late);
    const [recentBefore] = await dailyRows(recent, recent);

    await buy(regulars[4] as string, 7_777, Date.parse(`${late}T12:00:00.000Z`));
    await buy(regulars[7] as string, 888, Date.parse(`${recent}T23:59:59.999Z`) - 3 * DAY);
    await buy(regulars[7] as string, 999, Date.parse(`${recent}T00:00:00.000Z`));
    await importPurchases([
      {
        customerId: regulars[5] as string,
        at: Date.parse(`${import1}T08:30:00.000Z`),
        amount: 1_234,
      },
      {
        customerId: regulars[6] as string,
        at: Date.parse(`${import2}T20:00:00.000Z`),
        amount: 4_321,
      },
    ]);
    // What is marked: the earliest day changed is import2, until import3's month comes.
    const job2 = await rollUp(Date.now(), true);
    expect(job2.rolledDays).toBe(daysFrom(import2, job2.rolledThrough));
    await importPurchases([
      {
        customerId: regulars[8] as string,
        at: Date.parse(`${import3}T01:00:00.000Z`),
        amount: 2_468,
      },
    ]);

    // At once, before the job runs again: on their days.
    const [row] = await dailyRows(late, late);
    expect(row).toMatchObject({
      purchases: before.purchases + 1,
      spend: usd(before.spend.amount + 7_777),
    });
    expect((await dailyRows(recent, recent))[0]).toMatchObject({
      purchases: recentBefore.purchases + 1,
      spend: usd(recentBefore.spend.amount + 999),
    });
    truth = await groundTruth();
    const live = await expectReportExact(truth);

    const job = await rollUp();
    expect(job.rolledThrough >= rolled).toBe(true);
    // Every day from the first of the earliest month marked (import3's) is stored again.
    expect(job.rolledDays).toBe(daysFrom(`${import3.slice(0, 7)}-01`, job.rolledThrough));
    const stored = await expectReportExact(truth);
    expect(JSON.stringify(stored)).toBe(JSON.stringify(live));
  });
});

const daysFrom = (from: string, to: string) =>
  Math.round((Date.parse(to) - Date.parse(from)) / DAY) + 1;

describe('GET /v1/reports/daily refuses', () => {
  it('more than 366 days, from after to, bad days and other roles', async () => {
    const to = today();
    const ok = await t.call('GET', `/v1/reports/daily?from=${addDays(to, -365)}&to=${to}`);
    expect(ok.status).toBe(200);
    expect(ok.body.items).toHaveLength(366);
    const leap = await t.call('GET', '/v1/reports/daily?from=2024-01-01&to=2024-12-31');
    expect(leap.status).toBe(200);
    expect(leap.body.items).toHaveLength(366);
    expect(leap.body.items[59].date).toBe('2024-02-29');
    const early = await t.call('GET', '/v1/reports/daily?from=1970-01-01&to=1970-01-02');
    expect(early.status).toBe(200);
    expect(early.body.items.map((r: any) => r.customers)).toEqual([0, 0]);

    const refused = [
      `from=${addDays(to, -366)}&to=${to}`,
      'from=2023-01-01&to=2024-01-02',
      `from=${to}&to=${addDays(to, -1)}`,
      'from=2026-02-30&to=2026-03-01',
      'from=2026-01-01&to=10000-01-01',
      'from=x&to=2026-01-01',
      'from=2026-01-01',
      'to=2026-01-01',
      'from=1969-12-31&to=1970-01-01',
    ];
    for (const query of refused) {
      const res = await t.call('GET', `/v1/reports/daily?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type'), query).toContain('application/problem+json');
      expect(res.body.code, query).toBe('validation-failed');
    }

    for (const path of [`/v1/reports/daily?from=${to}&to=${to}`, '/v1/reports/retention']) {
      const pos = await t.call('GET', path, { key: posKey });
      expect(pos.status, path).toBe(403);
      expect((await t.call('GET', path, { key: partnerKey })).status, path).toBe(403);
      expect((await t.call('GET', path, { key: null })).status, path).toBe(401);
    }
    const run = await t.call('POST', '/v1/jobs/roll-up-reports', { key: posKey, body: {} });
    expect(run.status).toBe(403);
  });
});

describe('what a report reads', () => {
  /** The DynamoDB calls one request makes (the authorizer's key and the program aside). */
  async function reads(path: string) {
    // The key's answer is cached for 60 s: this request reads it, the measured one does not.
    expect((await t.call('GET', path)).status).toBe(200);
    const calls: { command: string; items: number; input: string }[] = [];
    const stop = onDynamoCall((command, input, output: any) => {
      const text = JSON.stringify(input);
      if (text.includes('KEYHASH#') || text.includes('"PROGRAM"')) return;
      const items =
        command === 'QueryCommand'
          ? (output?.Count ?? 0)
          : command === 'BatchGetItemCommand'
            ? Object.values(output?.Responses ?? {}).reduce((s: number, r: any) => s + r.length, 0)
            : output?.Item
              ? 1
              : 0;
      calls.push({ command, items, input: text });
    });
    try {
      expect((await t.call('GET', path)).status).toBe(200);
    } finally {
      stop();
    }
    // Only the counts by day and the stored rows, never a customer.
    for (const c of calls) {
      expect(c.command).toMatch(/^(Query|BatchGetItem|GetItem)Command$/);
      expect(c.input).not.toContain('CUS#');
    }
    return { calls: calls.length, items: calls.reduce((s, c) => s + c.items, 0) };
  }

  it('is bounded: as many calls for 300 more customers, and about an item a day', async () => {
    const year = `/v1/reports/daily?from=${addDays(today(), -365)}&to=${today()}`;
    const retention = '/v1/reports/retention';
    await rollUp();
    const before = { daily: await reads(year), retention: await reads(retention) };

    // 300 more members, three purchases each a week or more apart, all lapsed by now; a few
    // with a reason, so the stored totals hold more names.
    const ids = await importCustomers(
      Array.from({ length: 300 }, (_, i) => ({ externalId: `rp-bulk-${i}`, openingPoints: i % 7 })),
    );
    await importPurchases(
      ids.flatMap((customerId, i) => {
        const gap = 7 + (i % 5);
        const last = base - (2 * gap + 1 + (i % 30)) * DAY - (i % 24) * 3_600_000;
        return [2, 1, 0].map((k) => ({
          customerId,
          at: last - k * gap * DAY,
          amount: 300 + ((i * 7919 + k * 104_729) % 20_000),
        }));
      }),
    );
    expect(await lapseScan()).toBeGreaterThanOrEqual(300);
    const reasons = lapseReasons;
    for (const [i, reason] of reasons.entries()) await lapseReason(ids[i] as string, reason);
    await rollUp();
    const after = { daily: await reads(year), retention: await reads(retention) };

    expect(after.daily.calls).toBe(before.daily.calls);
    expect(after.retention.calls).toBe(before.retention.calls);
    // At most: a stored row a day, the roll-up's state (ROLLED, BACKFILL, the lease and a
    // mark item a shard), and the counts of the days not stored yet (an item a shard a
    // day); nothing a customer adds.
    const state = 3 + DAY_SHARDS;
    const recentItems = DAY_SHARDS * (RECENT_DAYS + 3);
    for (const r of [before.daily, after.daily]) {
      expect(r.items).toBeLessThanOrEqual(366 + state + recentItems);
    }
    // The retention report: the rows of its two days (one stored, one computed from the last).
    for (const r of [before.retention, after.retention]) {
      expect(r.items).toBeLessThanOrEqual(2 + state + recentItems);
    }
    // A Query for the rows, one a shard for the days after them, one for the state.
    expect(after.daily.calls).toBeLessThanOrEqual(DAY_SHARDS + 3);

    // And still exact, with 300 more customers.
    const truth = await groundTruth();
    await expectReportExact(truth);
  }, 300_000);
});

describe('a roll-up run as of an earlier day', () => {
  it('keeps the marks of days changed since, so their rows are stored again later', async () => {
    const rolled = (await rollUp()).rolledThrough as string;
    const late = addDays(today(), -(RECENT_DAYS + 10));
    expect(late <= rolled).toBe(true);
    // An active customer: the purchase is no return.
    let customerId: string | undefined;
    for (const id of everyone) {
      if ((await t.call('GET', `/v1/customers/${id}`)).body.status === 'active') {
        customerId = id;
        break;
      }
    }
    await buy(customerId as string, 5_555, Date.parse(`${late}T06:00:00.000Z`));
    const truth = await groundTruth();
    const [expected] = expectedRows(truth, late, late);
    expect((await dailyRows(late, late))[0]).toEqual(expected);

    // As of the day before the changed day: that day is not over by then.
    const earlier = await rollUp(Date.parse(`${addDays(late, -1)}T12:00:00.000Z`));
    expect(earlier.rolledDays).toBe(0);
    expect((await dailyRows(late, late))[0], 'after the run as of an earlier day').toEqual(
      expected,
    );
    await rollUp();
    expect((await dailyRows(late, late))[0], 'after the next run as of now').toEqual(expected);
  });
});

describe('the last day the API keeps', () => {
  /**
   * These requests run on an API in a process of its own, killed afterwards: should a
   * report never answer (a loop that never ends blocks its event loop), this file's own
   * server and the run go on.
   */
  it('answers a daily report to 9999-12-31 and a retention report as of that day', async () => {
    // node itself (not the tsx wrapper, which would leave its node child behind a SIGKILL).
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/apiProcess.ts'], {
      env: {
        ...process.env,
        TEST_DYNAMO_ENDPOINT: inject('dynamoEndpoint'),
        TEST_TABLE: `test-${randomUUID()}`,
        TEST_ADMIN_KEY: ADMIN_KEY,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`the API exited (${code})`)));
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line.startsWith('listening ')) resolve(line.slice('listening '.length));
        });
      });
      const get = async (path: string) => {
        try {
          const res = await fetch(`${url}${path}`, {
            headers: { 'x-api-key': ADMIN_KEY },
            signal: AbortSignal.timeout(10_000),
          });
          return { status: res.status, body: await res.json() };
        } catch (error) {
          return { status: 0, body: (error as Error).name };
        }
      };
      expect((await get('/v1/reports/daily?from=2000-01-01&to=2000-01-01')).status).toBe(200);
      const last = await get('/v1/reports/daily?from=9999-12-30&to=9999-12-31');
      expect(last, 'GET /v1/reports/daily?from=9999-12-30&to=9999-12-31').toMatchObject({
        status: 200,
        body: { items: [{ date: '9999-12-30' }, { date: '9999-12-31' }] },
      });
      const retention = await get('/v1/reports/retention?asOf=9999-12-31T12:00:00.000Z');
      expect(retention, 'GET /v1/reports/retention?asOf=9999-12-31T12:00:00.000Z').toMatchObject({
        status: 200,
        body: { customers: 0 },
      });
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
