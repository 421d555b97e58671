import { randomUUID } from 'node:crypto';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { addPurchaseDay, type Cadence } from '../../lib/domain/cadence.ts';
import { MODEL_TRUST, type ModelParams } from '../../lib/domain/model.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { getCustomerConsistent } from '../../lib/store/customers.ts';
import { keys } from '../../lib/store/keys.ts';
import { putModel } from '../../lib/store/model.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import {
  FIT_BUDGET_MS,
  lapseQualityReport,
  listLapsedCustomers,
  measureLapseQuality,
  recordLapseReason,
  runLapseScan,
} from '../../lib/usecases/lapse.ts';
import { refreshLapsedScores } from '../../lib/usecases/lapsedScores.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { dailyReport, retentionReport } from '../../lib/usecases/reports.ts';
import { allEvents } from '../support/seedCustomers.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The lapse use cases called directly: the scan, the lapsed list, lapse reasons and the
 * retention report. Purchases are placed whole days before "yesterday" (a day and a half
 * ago), so the gaps are whole days at any hour of the run (see cadence.ts: purchase days
 * are UTC days). (HTTP statuses are tested in test/integration/lapse.test.ts.)
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const DAY = 86_400_000;
const at = (ms: number) => new Date(ms);
/** Far enough ahead that the scan flags everyone already in the table who can lapse. */
const FAR = 3650 * DAY;

const admin: Principal = { keyId: 'key_admin', role: 'admin' };
let storeId: string;
let n = 0;

const enrol = async () => (await enrolCustomer({ externalId: `uc-lp-${++n}` })).id;

/** An admin purchase (admin keys may backdate) of `amount` cents at `occurredAt`. */
async function buy(customerId: string, occurredAt: Date, amount = 10_000) {
  const answer = await recordPurchase(
    admin,
    { customerId, storeId, total: usd(amount), occurredAt: occurredAt.toISOString() },
    key(),
  );
  return answer.value;
}

/** A customer who bought on each of `daysAgo` (relative to `base`), at its time of day. */
async function regular(base: number, daysAgo: number[], amount = 10_000): Promise<string> {
  const id = await enrol();
  for (const d of daysAgo) await buy(id, at(base - d * DAY), amount);
  return id;
}

/** A day and a half ago: a whole day has passed since, at any hour of the run. */
const yesterday = () => Date.now() - 1.5 * DAY;

/** Flags everyone already due by far ahead, so a test's counts are its own customers'. */
const drain = () => runLapseScan(at(Date.now() + FAR));

async function allLapsed(sort?: 'lapsedAt' | 'valueAtRisk' | 'churnRisk', now?: Date) {
  const all: any[] = [];
  let cursor: string | undefined;
  do {
    const page = await listLapsedCustomers(
      { limit: 2, ...(cursor && { cursor }), ...(sort && { sort }) },
      now,
    );
    expect(page.items.length).toBeLessThanOrEqual(2);
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

const eventsOf = async (customerId: string) =>
  (await allEvents()).filter((e) => e.customerId === customerId);

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'High street')).id;
});

describe('runLapseScan', () => {
  it('flags just after factor x typical gap of silence, not at it, once, with an event', async () => {
    await drain();
    const base = yesterday(); // the last purchase was yesterday
    const id = await regular(base, [20, 10, 0]); // gaps 10, 10: due 20 days after the last
    const due = base + 20 * DAY;

    expect(await runLapseScan(at(due))).toEqual({
      asOf: at(due).toISOString(),
      flagged: 0,
      complete: true,
      // Fewer than 30 customers with a purchase: no model yet.
      fitted: false,
      notFitted: 'too-few-customers',
      model: null,
      thresholds: { factor: 2, minDays: 14, source: 'fixed' },
    });
    expect((await getCustomerConsistent(id))?.status).toBe('active');

    expect(await runLapseScan(at(due + 1), { dryRun: true })).toMatchObject({ flagged: 1 });
    expect((await getCustomerConsistent(id))?.status).toBe('active');

    expect(await runLapseScan(at(due + 1))).toMatchObject({ flagged: 1, complete: true });
    const lapsed = await getCustomerConsistent(id);
    expect(lapsed).toMatchObject({ status: 'lapsed', lapsedAt: at(due).toISOString() });
    expect(lapsed?.lapseWatch).toBeUndefined();

    expect((await runLapseScan(at(due + 5 * DAY))).flagged).toBe(0);
    expect(await eventsOf(id)).toMatchObject([
      {
        type: 'customer.lapsed',
        customerId: id,
        data: {
          lastPurchaseAt: at(base).toISOString(),
          typicalGapDays: 10,
          purchases: 3,
          lapsedAt: at(due).toISOString(),
        },
      },
    ]);
  });

  it('uses minDays when the gap is short, and never flags below minPurchases', async () => {
    await drain();
    const base = yesterday();
    const frequent = await regular(base, [4, 2, 0]); // 2 x 2 days < 14: due after 14 days
    const twice = await regular(base, [10, 0]);
    expect((await runLapseScan(at(base + 14 * DAY))).flagged).toBe(0);
    expect((await runLapseScan(at(base + 14 * DAY + 1))).flagged).toBe(1);
    expect((await getCustomerConsistent(frequent))?.status).toBe('lapsed');
    expect((await runLapseScan(at(base + FAR))).flagged).toBe(0);
    expect((await getCustomerConsistent(twice))?.status).toBe('active');
  });

  it('places a backdated purchase in the rhythm', async () => {
    await drain();
    const base = yesterday();
    const id = await regular(base, [30, 0]);
    await buy(id, at(base - 20 * DAY)); // arrives late: days 30, 20, 0 ago, gaps 10 and 20
    expect((await runLapseScan(at(base + 30 * DAY))).flagged).toBe(0);
    expect((await runLapseScan(at(base + 30 * DAY + 1))).flagged).toBe(1);
    expect((await getCustomerConsistent(id))?.lapsedAt).toBe(at(base + 30 * DAY).toISOString());
  });
});

describe('listLapsedCustomers', () => {
  it('lists a lapsed customer with its rhythm and spend as of now, most recently lapsed first', async () => {
    await drain();
    const base = yesterday();
    const early = await regular(base, [20, 10, 0], 10_000); // lapses at base + 20 days
    const late = await regular(base, [10, 5, 0], 4_000); // lapses at base + 14 days (minDays)
    const notYet = await regular(base, [40, 20, 0]); // lapses at base + 40 days
    const never = await enrol(); // no purchase: the rule can't apply
    expect((await runLapseScan(at(base + 21 * DAY))).flagged).toBe(2);

    const now = at(base + 25 * DAY);
    const all = await allLapsed(undefined, now);
    expect(new Set(all.map((c) => c.customerId)).size).toBe(all.length);
    expect(all.some((c) => c.customerId === never || c.customerId === notYet)).toBe(false);
    const lapsedAts = all.map((c) => c.lapsedAt);
    expect(lapsedAts).toEqual([...lapsedAts].sort().reverse());

    const entry = all.find((c) => c.customerId === early);
    expect(entry).toMatchObject({
      customerId: early,
      lastPurchaseAt: at(base).toISOString(),
      typicalGapDays: 10,
      daysSinceLastPurchase: 25,
      lapsedAt: at(base + 20 * DAY).toISOString(),
      annualSpend: usd(30_000),
    });
    expect(entry.reason).toBeUndefined();
    expect(entry.valueAtRisk.amount).toBe(Math.round(30_000 * (1 - (entry.pAlive ?? 0))));
    expect(all.find((c) => c.customerId === late)).toMatchObject({
      typicalGapDays: 5,
      lapsedAt: at(base + 14 * DAY).toISOString(),
      annualSpend: usd(12_000),
    });
    expect(all.findIndex((c) => c.customerId === early)).toBeLessThan(
      all.findIndex((c) => c.customerId === late),
    );
  });

  it('sorts by value at risk, highest first, across pages', async () => {
    await drain();
    const base = yesterday();
    // The same rhythm, so the same pAlive (if any): the risk follows the spend.
    const low = await regular(base, [20, 10, 0], 1_000);
    const high = await regular(base, [20, 10, 0], 3_000);
    const mid = await regular(base, [20, 10, 0], 2_000);
    expect((await runLapseScan(at(base + 21 * DAY))).flagged).toBe(3);

    const byRisk = await allLapsed('valueAtRisk');
    expect(new Set(byRisk.map((c) => c.customerId)).size).toBe(byRisk.length);
    const risks = byRisk.map((c) => c.valueAtRisk.amount);
    expect(risks).toEqual([...risks].sort((a, b) => b - a));
    const ours = byRisk.map((c) => c.customerId).filter((id) => [low, mid, high].includes(id));
    expect(ours).toEqual([high, mid, low]);
    expect((await allLapsed('lapsedAt')).length).toBe(byRisk.length);
  });

  it('refuses a cursor it did not issue', async () => {
    await expect(listLapsedCustomers({ limit: 10, cursor: 'abc' })).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'cursor' }] },
    });
  });
});

describe('recordLapseReason', () => {
  it('stores the reason of a lapsed customer, until a purchase reactivates it', async () => {
    // Lapsed 22 days ago, so a purchase now is after the lapse: a return.
    const base = yesterday() - 21 * DAY;
    const id = await regular(base, [20, 10, 0]);
    await runLapseScan(at(base + 21 * DAY));
    const now = new Date();
    const recorded = await recordLapseReason(
      id,
      { reason: 'competitor', note: 'Cheaper across the road' },
      now,
    );
    expect(recorded).toEqual({
      customerId: id,
      lapsedAt: at(base + 20 * DAY).toISOString(),
      reason: 'competitor',
      note: 'Cheaper across the road',
      at: now.toISOString(),
    });
    expect((await getCustomerConsistent(id))?.lapseReason).toEqual({
      reason: 'competitor',
      note: 'Cheaper across the road',
      at: now.toISOString(),
    });
    expect((await allLapsed()).find((c) => c.customerId === id)).toMatchObject({
      reason: 'competitor',
      note: 'Cheaper across the road',
    });

    // A later call replaces it; without a note, none is kept.
    await recordLapseReason(id, { reason: 'price' });
    expect((await getCustomerConsistent(id))?.lapseReason).toMatchObject({ reason: 'price' });
    expect((await getCustomerConsistent(id))?.lapseReason?.note).toBeUndefined();

    const back = await buy(id, new Date());
    expect(back.customer).toMatchObject({ status: 'active', lapsedAt: null });
    const active = await getCustomerConsistent(id);
    expect(active?.lapseReason).toBeUndefined();
    expect((await allLapsed()).some((c) => c.customerId === id)).toBe(false);
    expect((await eventsOf(id)).map((e) => e.type)).toEqual([
      'customer.lapsed',
      'customer.reactivated',
    ]);
    expect((await eventsOf(id))[1].data).toMatchObject({ reason: 'price' });

    await expect(recordLapseReason(id, { reason: 'price' })).rejects.toMatchObject({
      code: 'invalid-state',
    });
  });

  it('throws invalid-state for an active customer and not-found for a missing one', async () => {
    const id = await enrol();
    await expect(recordLapseReason(id, { reason: 'moved' })).rejects.toMatchObject({
      code: 'invalid-state',
    });
    expect((await getCustomerConsistent(id))?.lapseReason).toBeUndefined();
    await expect(recordLapseReason('cus_missing', { reason: 'moved' })).rejects.toMatchObject({
      code: 'not-found',
    });
  });
});

describe('retentionReport', () => {
  it('counts a small known population: customers, lapses, reactivations, value at risk', async () => {
    // Lapsed 22 days ago, so a purchase now is after the lapse: a return.
    const base = yesterday() - 21 * DAY;
    const scanAt = at(base + 21 * DAY);
    // Everyone earlier tests made who would lapse by scanAt lapses now, before the snapshot.
    await runLapseScan(scanAt);
    // As of just after the return below (lapses count from the day they are dated).
    const asOf = at(Date.now() + 60_000);
    const before = await retentionReport(asOf);

    const a = await regular(base, [20, 10, 0], 20_000); // lapses, reason price
    const b = await regular(base, [20, 10, 0], 5_000); // lapses, then buys again
    const c = await regular(base, [20, 10, 0], 1_000); // lapses, no reason
    await enrol(); // no purchase: active
    expect((await runLapseScan(scanAt)).flagged).toBe(3);
    await recordLapseReason(a, { reason: 'price' });
    await buy(b, new Date());
    expect((await getCustomerConsistent(c))?.status).toBe('lapsed');

    const r = await retentionReport(asOf);
    expect(r.asOf).toBe(asOf.toISOString());
    expect(r.customers).toBe(before.customers + 4);
    expect(r.lapsed).toBe(before.lapsed + 2);
    expect(r.active).toBe(before.active + 2);
    expect(r.active).toBe(r.customers - r.lapsed);
    expect(r.lapsedLast12Months).toBe(before.lapsedLast12Months + 3);
    expect(r.reactivatedLast12Months).toBe(before.reactivatedLast12Months + 1);
    expect(r.byReason.price).toEqual({
      customers: (before.byReason.price?.customers ?? 0) + 1,
      valueAtRisk: usd((before.byReason.price?.valueAtRisk.amount ?? 0) + 60_000),
    });
    expect(r.byReason.unknown).toEqual({
      customers: (before.byReason.unknown?.customers ?? 0) + 1,
      valueAtRisk: usd((before.byReason.unknown?.valueAtRisk.amount ?? 0) + 3_000),
    });
    expect(r.valueAtRisk).toEqual(usd(before.valueAtRisk.amount + 63_000));
    const sum = Object.values(r.byReason).reduce((s, x) => s + x.valueAtRisk.amount, 0);
    expect(r.valueAtRisk.amount).toBe(sum);
  });

  it('counts the lapses and returns dated in the twelve months to asOf, and spend in them', async () => {
    const asOf = at(yesterday() + 30 * DAY);
    const r = await retentionReport(asOf);
    expect(r.lapsedLast12Months).toBeGreaterThan(0);
    // The same count, day by day: the days after the same day a year before, to asOf's.
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const { items } = await dailyReport(day(asOf.getTime() - 365 * DAY), day(asOf.getTime()));
    const sum = (f: (x: (typeof items)[number]) => number) => items.reduce((s, x) => s + f(x), 0);
    expect(r.lapsedLast12Months).toBe(sum((x) => x.lapsedToday));
    expect(r.reactivatedLast12Months).toBe(sum((x) => x.reactivatedToday));
    expect(items.at(-1)).toMatchObject({
      customers: r.customers,
      lapsed: r.lapsed,
      valueAtRisk: r.valueAtRisk,
    });
    // Long after every lapse dated: none in the last 12 months, nothing spent in them.
    const future = await retentionReport(at(asOf.getTime() + 4000 * DAY));
    expect(future).toMatchObject({
      customers: r.customers,
      lapsedLast12Months: 0,
      reactivatedLast12Months: 0,
      valueAtRisk: usd(0),
    });
  });
});

describe('the lapse flag measured (GET /v1/reports/lapse-quality)', () => {
  it('says there is nothing yet, then, on a small programme, why it cannot be trusted', async () => {
    // As before the job's first run (earlier tests here ran it).
    await db().send(new DeleteCommand({ TableName: tableName(), Key: keys.lapseQuality() }));
    const before = await lapseQualityReport();
    expect(before).toMatchObject({
      asOf: null,
      horizonDays: 90,
      flag: { factor: 2, minDays: 14, precision: null, recall: null },
      insufficientData: expect.stringContaining('has not measured'),
    });
    // Now: a scan as of the past leaves the report alone.
    const asOf = at(Date.now());
    await runLapseScan(asOf);
    const small = await lapseQualityReport();
    expect(small).toMatchObject({
      asOf: asOf.toISOString(),
      horizonDays: 90,
      flag: { precision: null, recall: null },
      auc: { silence: null, cadenceRatio: null, churnRisk: null },
      insufficientData: expect.stringMatching(/with 2 or more purchase days \(500 needed\)/),
    });
  });

  it('on enough customers and history: precision, recall and AUCs against who came back', async () => {
    // 800 synthetic rhythms over 400 days: half keep buying every `gap` days, half stop
    // well before the cut-off (asOf - 90 days), so the flag has something to be right about.
    const asOf = at(Date.UTC(2026, 5, 1));
    const day = (ms: number) => new Date(ms);
    const cadences = Array.from({ length: 800 }, (_, i) => {
      const gap = 7 + (i % 20);
      const start = asOf.getTime() - 400 * DAY + (i % 30) * DAY;
      const stopsAt = i % 2 === 0 ? asOf.getTime() : asOf.getTime() - (120 + (i % 60)) * DAY;
      let cadence: Cadence | undefined;
      for (let t = start; t < stopsAt; t += gap * DAY) cadence = addPurchaseDay(cadence, day(t));
      return cadence as Cadence;
    });
    await measureLapseQuality(
      cadences.map((cadence) => ({ cadence })),
      asOf,
    );
    const report = (await lapseQualityReport()) as any;
    expect(report).not.toHaveProperty('insufficientData');
    expect(report).toMatchObject({ asOf: asOf.toISOString(), horizonDays: 90, evaluated: 800 });
    // The half that kept buying came back; the other half stopped 30-90 days before the cut-off.
    expect(report.cameBack).toBe(400);
    expect(report.flag.precision).toBeGreaterThan(0.9);
    expect(report.flag.recall).toBeGreaterThan(0.5);
    for (const score of ['silence', 'cadenceRatio', 'churnRisk']) {
      expect(report.auc[score], score).toBeGreaterThan(0.8);
      expect(report.auc[score], score).toBeLessThanOrEqual(1);
    }
  });
});

// Last: a model trusted here scores every later view (pAlive), so earlier tests see none.
describe('runLapseScan with 30 customers or more with a purchase', () => {
  it('fits BG/NBD as of asOf; the lapsed list scores with it only once it is trusted', async () => {
    const base = yesterday();
    // 30 more customers with different rhythms and spends, so the model has something to fit.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const gap = 3 + (i % 7) * 4;
        const count = 3 + (i % 4);
        return regular(
          base - (i % 5) * 9 * DAY,
          Array.from({ length: count }, (_, k) => (count - 1 - k) * gap),
          1_000 * (1 + (i % 9)),
        );
      }),
    );
    const asOf = at(base + 120 * DAY);
    const scan = await runLapseScan(asOf);
    expect(scan.complete).toBe(true);
    expect(scan.flagged).toBeGreaterThanOrEqual(20);
    expect(scan.model).toMatchObject({
      r: expect.any(Number),
      alpha: expect.any(Number),
      a: expect.any(Number),
      b: expect.any(Number),
      logLikelihood: expect.any(Number),
      fittedAt: asOf.toISOString(),
    });
    expect(scan.model?.customers).toBeGreaterThanOrEqual(30);
    // A dry run leaves the model as it is, and so does a run with too little time left
    // for the fit (the route's, after a long flagging): the scheduled run fits.
    expect((await runLapseScan(at(base + 200 * DAY), { dryRun: true })).model).toEqual(scan.model);
    const hurried = await runLapseScan(at(base + 130 * DAY), {
      deadline: Date.now() + FIT_BUDGET_MS - 1_000,
    });
    expect(hurried.model).toEqual(scan.model);

    // Fitted on 30 customers: not trusted (MODEL_TRUST), so none of the model's figures
    // show, and the value at risk is the whole annual spend.
    expect(scan.model).toMatchObject({ repeatCustomers: expect.any(Number) });
    expect(scan.model?.repeatCustomers).toBeLessThan(MODEL_TRUST.minRepeatCustomers);
    expect(scan.model?.historyDays).toBeGreaterThanOrEqual(120);
    const listed = await allLapsed('valueAtRisk');
    expect(listed.length).toBeGreaterThanOrEqual(20);
    for (const c of listed) {
      expect(c).not.toHaveProperty('pAlive');
      expect(c).not.toHaveProperty('expectedPurchases90d');
      expect(c).not.toHaveProperty('churnRisk');
      expect(c.valueAtRisk).toEqual(c.annualSpend);
    }

    // The same parameters, as if fitted on a programme large and old enough: pAlive,
    // expectedPurchases90d and churnRisk show, and churnRisk sorts the list (highest first,
    // paged, its cursor for its own sort only).
    await putModel({ ...(scan.model as ModelParams), repeatCustomers: 500, historyDays: 180 });
    // The sorted orders are stored: rescored by the model put by hand, as after a refit.
    await refreshLapsedScores();
    const trusted = await allLapsed('valueAtRisk');
    expect(trusted).toHaveLength(listed.length);
    for (const c of trusted) {
      expect(c.pAlive).toBeGreaterThanOrEqual(0);
      expect(c.pAlive).toBeLessThanOrEqual(1);
      expect(c.expectedPurchases90d).toBeGreaterThanOrEqual(0);
      expect(c.valueAtRisk.amount).toBe(Math.round(c.annualSpend.amount * (1 - c.pAlive)));
    }
    expect(trusted.some((c) => c.valueAtRisk.amount < c.annualSpend.amount)).toBe(true);
    const byChurn = await allLapsed('churnRisk');
    expect(byChurn).toHaveLength(listed.length);
    const risks = byChurn.map((c) => c.churnRisk as number);
    for (const r of risks) {
      expect(r).toBeGreaterThan(0);
      expect(r).toBeLessThanOrEqual(1);
    }
    expect([...risks].sort((x, y) => y - x)).toEqual(risks);
    for (const c of byChurn) expect(c.churnRisk).toBeGreaterThanOrEqual(1 - c.pAlive);
    const page = await listLapsedCustomers({ limit: 2, sort: 'valueAtRisk' });
    expect(page.nextCursor).not.toBeNull();
    await expect(
      listLapsedCustomers({ limit: 2, sort: 'churnRisk', cursor: page.nextCursor as string }),
    ).rejects.toMatchObject({ code: 'validation-failed' });

    // One short of either threshold, or fitted before the fit kept them: none of the
    // model's figures again, and churnRisk sorts nobody ahead of anybody.
    const fitted = scan.model as ModelParams;
    const { repeatCustomers: _r, historyDays: _h, ...unknown } = fitted;
    for (const model of [
      { ...fitted, repeatCustomers: 499, historyDays: 180 },
      { ...fitted, repeatCustomers: 500, historyDays: 179 },
      unknown,
    ]) {
      await putModel(model);
      for (const sort of ['valueAtRisk', 'churnRisk'] as const) {
        const all = await allLapsed(sort);
        expect(all).toHaveLength(listed.length);
        for (const c of all) {
          expect(c).not.toHaveProperty('pAlive');
          expect(c).not.toHaveProperty('expectedPurchases90d');
          expect(c).not.toHaveProperty('churnRisk');
          expect(c.valueAtRisk).toEqual(c.annualSpend);
        }
      }
    }
  });
});
