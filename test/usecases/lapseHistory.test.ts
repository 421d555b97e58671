import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { utcDay } from '../../lib/domain/dayStats.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { putLapseQuality } from '../../lib/store/model.ts';
import { createCampaign } from '../../lib/usecases/campaigns.ts';
import { enrolCustomer, readCustomer } from '../../lib/usecases/customers.ts';
import { listEvents } from '../../lib/usecases/events.ts';
import { importPurchases } from '../../lib/usecases/importPurchases.ts';
import { runLapseScan } from '../../lib/usecases/lapse.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { readProgram, replaceProgram } from '../../lib/usecases/program.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { dailyReport, retentionReport } from '../../lib/usecases/reports.ts';
import { startTestTable } from '../support/table.ts';

/**
 * Section 16 on DynamoDB Local, through the use cases: a purchase after a silence the
 * lapse rule counts as a lapse records that lapse and this return on their days, whether
 * or not a scan had flagged the customer, for history imported and purchases recorded one
 * by one alike; events only for what a scan flagged. Every instant is placed relative to
 * now (noon UTC n days ago), and every count is read as the change one step made, so the
 * customers of one test never move another's figures.
 */
const DAY = 86_400_000;
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const usd = (amount: number) => ({ amount, currency: 'USD' });
const NOW = new Date();
/** Noon UTC `n` days ago: on that UTC day whatever the hour the test runs at. */
const noon = (n: number) =>
  new Date(Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), NOW.getUTCDate(), 12) - n * DAY);
const dayOf = (n: number) => utcDay(noon(n));

let storeId: string;
let n = 0;

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'History store')).id;
});

async function enrol(): Promise<string> {
  return (await enrolCustomer({ externalId: `hist-${++n}` }, noon(400))).id;
}

/** Imports purchases of `customerId` at `days` days ago (noon), in one batch. */
async function importAt(customerId: string, days: number[], amount = 2_000) {
  const items = days.map((d) => ({
    customerId,
    storeId,
    receiptId: `r-${randomUUID()}`,
    total: usd(amount),
    occurredAt: noon(d).toISOString(),
  }));
  const answer = await importPurchases(admin, items, key());
  expect(answer.value).toMatchObject({ imported: days.length, errors: [] });
}

/** Records one purchase at `at` through the purchase use case (an admin may backdate). */
async function buyAt(customerId: string, at: Date, amount = 2_000) {
  const { value } = await recordPurchase(
    admin,
    { customerId, storeId, total: usd(amount), occurredAt: at.toISOString() },
    key(),
  );
  return value as { pointsEarned: number; breakdown: { source: string; campaignId?: string }[] };
}

interface Counts {
  lapsedToday: number;
  reactivatedToday: number;
  lapsed: number;
}

/** The daily report's lapse counts on each of `days` (days ago). */
async function countsOn(days: number[]): Promise<Counts[]> {
  const out: Counts[] = [];
  for (const d of days) {
    const [row] = (await dailyReport(dayOf(d), dayOf(d))).items;
    out.push({
      lapsedToday: row?.lapsedToday ?? 0,
      reactivatedToday: row?.reactivatedToday ?? 0,
      lapsed: row?.lapsed ?? 0,
    });
  }
  return out;
}

/** What `step` changed in the counts on `days` and in today's retention report. */
async function changeOf(days: number[], step: () => Promise<unknown>) {
  const [before, retentionBefore] = [await countsOn(days), await retentionReport(NOW)];
  await step();
  const [after, retentionAfter] = [await countsOn(days), await retentionReport(NOW)];
  return {
    days: after.map((a, i) => {
      const b = before[i] as Counts;
      return {
        lapsedToday: a.lapsedToday - b.lapsedToday,
        reactivatedToday: a.reactivatedToday - b.reactivatedToday,
        lapsed: a.lapsed - b.lapsed,
      };
    }),
    lapsedLast12Months: retentionAfter.lapsedLast12Months - retentionBefore.lapsedLast12Months,
    reactivatedLast12Months:
      retentionAfter.reactivatedLast12Months - retentionBefore.reactivatedLast12Months,
    lapsed: retentionAfter.lapsed - retentionBefore.lapsed,
  };
}

async function lapseEventsOf(customerId: string): Promise<string[]> {
  const types: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listEvents(100, cursor);
    for (const e of page.items) if (e.customerId === customerId) types.push(e.type);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return types.filter((t) => t === 'customer.lapsed' || t === 'customer.reactivated');
}

const none = { lapsedToday: 0, reactivatedToday: 0, lapsed: 0 };

describe('a lapse and its return read from the purchase history', () => {
  it('imported with a long gap and a return: one lapse and one return on their days, lapsed between, no event', async () => {
    const id = await enrol();
    // Every 10 days from 300 to 270 days ago (gap 10: threshold max(14, 2 x 10) = 20
    // days): the rule held from 250 days ago; back 5 days ago.
    const change = await changeOf([251, 250, 200, 6, 5, 4], () =>
      importAt(id, [300, 290, 280, 270, 5]),
    );
    expect(change.days).toEqual([
      none,
      { lapsedToday: 1, reactivatedToday: 0, lapsed: 1 },
      { lapsedToday: 0, reactivatedToday: 0, lapsed: 1 },
      { lapsedToday: 0, reactivatedToday: 0, lapsed: 1 },
      { lapsedToday: 0, reactivatedToday: 1, lapsed: 0 },
      none,
    ]);
    expect(change).toMatchObject({ lapsedLast12Months: 1, reactivatedLast12Months: 1, lapsed: 0 });
    const customer = (await readCustomer(id)) as any;
    expect(customer).toMatchObject({
      status: 'active',
      lapsedAt: null,
      lastLapse: {
        lapsedAt: new Date(noon(270).getTime() + 20 * DAY).toISOString(),
        returnedAt: noon(5).toISOString(),
      },
    });
    expect(await lapseEventsOf(id)).toEqual([]);
    // The next scan does not flag them (their silence is 5 days) nor count it again.
    expect(await changeOf([250, 5], () => runLapseScan(NOW))).toMatchObject({
      days: [none, none],
      lapsedLast12Months: 0,
      reactivatedLast12Months: 0,
    });
    expect(await lapseEventsOf(id)).toEqual([]);
  });

  it('a customer who never came back is flagged by the next scan and counted once', async () => {
    const id = await enrol();
    const imported = await changeOf([250], () => importAt(id, [300, 290, 280, 270]));
    // No purchase after the silence: nothing counted until a scan flags it.
    expect(imported.days).toEqual([none]);
    expect((await readCustomer(id)) as any).toMatchObject({ status: 'active', lastLapse: null });
    const scanned = await changeOf([250], () => runLapseScan(NOW));
    expect(scanned.days).toEqual([{ lapsedToday: 1, reactivatedToday: 0, lapsed: 1 }]);
    expect(scanned).toMatchObject({ lapsedLast12Months: 1, reactivatedLast12Months: 0, lapsed: 1 });
    const lapsedAt = new Date(noon(270).getTime() + 20 * DAY).toISOString();
    expect((await readCustomer(id)) as any).toMatchObject({
      status: 'lapsed',
      lapsedAt,
      lastLapse: { lapsedAt, returnedAt: null },
    });
    // Scanned again: counted once.
    expect((await changeOf([250], () => runLapseScan(NOW))).days).toEqual([none]);
    expect(await lapseEventsOf(id)).toEqual(['customer.lapsed']);
    // Their return is a flagged one's: counted on its day, with its event, the lapse not again.
    const back = await changeOf([250, 2], () => buyAt(id, noon(2)));
    expect(back.days).toEqual([none, { lapsedToday: 0, reactivatedToday: 1, lapsed: -1 }]);
    expect(back).toMatchObject({ lapsedLast12Months: 0, reactivatedLast12Months: 1, lapsed: -1 });
    expect((await readCustomer(id)) as any).toMatchObject({
      status: 'active',
      lapsedAt: null,
      lastLapse: { lapsedAt, returnedAt: noon(2).toISOString() },
    });
    expect(await lapseEventsOf(id)).toEqual(['customer.lapsed', 'customer.reactivated']);
  });

  it('the same history recorded one purchase at a time counts as importing it', async () => {
    const history = [200, 193, 186, 179, 100, 93, 30];
    const days = [160, 159, 100, 80, 30, 29];
    const imported = await enrol();
    const viaImport = await changeOf(days, () => importAt(imported, history));
    const oneByOne = await enrol();
    const viaPurchases = await changeOf(days, async () => {
      for (const d of history) await buyAt(oneByOne, noon(d));
    });
    // Gap 7: threshold 14 days. Lapsed from 165 days ago, back 100 days ago; then gaps of
    // 7 and 79 (median of 7,7,7,79,7,63 is 7): lapsed from 79 days ago, back 30 days ago.
    expect(viaImport).toEqual(viaPurchases);
    expect(viaImport).toMatchObject({ lapsedLast12Months: 2, reactivatedLast12Months: 2 });
    expect(viaImport.days.map((d) => d.lapsedToday)).toEqual([0, 0, 0, 0, 0, 0]);
    const a = (await readCustomer(imported)) as any;
    const b = (await readCustomer(oneByOne)) as any;
    expect(a.lastLapse).toEqual(b.lastLapse);
    expect(a.lastLapse).toEqual({
      lapsedAt: new Date(noon(93).getTime() + 14 * DAY).toISOString(),
      returnedAt: noon(30).toISOString(),
    });
    const lapsedDays = [165, 79];
    const onLapseDays = await countsOn(lapsedDays);
    expect(onLapseDays.every((c) => c.lapsedToday >= 2)).toBe(true);
    expect(await lapseEventsOf(imported)).toEqual([]);
    expect(await lapseEventsOf(oneByOne)).toEqual([]);
  });

  it('a scan that ran half-way through an import counts what importing it all at once counts', async () => {
    // The second half: the silence after 270 days ago ends at 260 (before the lapse the
    // rule would date 250 days ago), then a real lapse from 220 days ago, back 3 days ago.
    const [first, rest] = [
      [300, 290, 280, 270],
      [260, 250, 240, 3],
    ];
    const days = [251, 250, 221, 220, 4, 3];
    // Whoever earlier tests left due is flagged first, so the scan below flags only ours.
    await runLapseScan(NOW);
    const whole = await enrol();
    const atOnce = await changeOf(days, () => importAt(whole, [...first, ...rest]));
    const halves = await enrol();
    const scanned = await changeOf(days, async () => {
      await importAt(halves, first);
      await runLapseScan(NOW);
      // Flagged on what it knew: lapsed from 250 days ago.
      expect((await readCustomer(halves)) as any).toMatchObject({ status: 'lapsed' });
      await importAt(halves, rest);
    });
    expect(scanned).toEqual(atOnce);
    expect(atOnce.days).toEqual([
      none,
      none,
      none,
      { lapsedToday: 1, reactivatedToday: 0, lapsed: 1 },
      { lapsedToday: 0, reactivatedToday: 0, lapsed: 1 },
      { lapsedToday: 0, reactivatedToday: 1, lapsed: 0 },
    ]);
    expect((await readCustomer(halves)) as any).toMatchObject({
      status: 'active',
      lastLapse: ((await readCustomer(whole)) as any).lastLapse,
    });
    // The scan's customer.lapsed, then its withdrawal; no event for the lapse the history shows.
    const events = await listEvents(100, undefined);
    const mine = events.items.filter((e) => e.customerId === halves);
    expect(mine.map((e) => [e.type, e.data.withdrawn ?? false])).toEqual([
      ['customer.lapsed', false],
      ['customer.reactivated', true],
    ]);
    expect(await lapseEventsOf(whole)).toEqual([]);
  });

  it('a purchase dated before the last one is no return, and counts nothing', async () => {
    const id = await enrol();
    await importAt(id, [120, 110, 100, 90, 20]);
    // A till syncing late: dated inside the silence, before the return already recorded.
    const late = await changeOf([70, 50, 20], () => importAt(id, [50]));
    expect(late.days).toEqual([none, none, none]);
    expect(late).toMatchObject({ lapsedLast12Months: 0, reactivatedLast12Months: 0 });
    expect(((await readCustomer(id)) as any).lastLapse).toEqual({
      lapsedAt: new Date(noon(90).getTime() + 20 * DAY).toISOString(),
      returnedAt: noon(20).toISOString(),
    });
  });

  it('a live customer who lapsed by the rule and buys before any scan is lost and won back, and a win-back offer pays', async () => {
    const winBack = await createCampaign(
      {
        name: 'We missed you',
        type: 'bonus',
        points: 500,
        audience: { status: 'lapsed' },
        startsAt: noon(1).toISOString(),
      },
      key(),
      NOW,
    );
    const campaignId = (winBack.value as { id: string }).id;
    const id = await enrol();
    await importAt(id, [90, 80, 70, 60]);
    // Lapsed by the rule 40 days ago (60 + 20); no scan has run since. Bought today.
    const at = new Date(NOW.getTime() - 60_000);
    let earned: Awaited<ReturnType<typeof buyAt>> | undefined;
    const change = await changeOf([41, 40, 0], async () => {
      earned = await buyAt(id, at);
    });
    expect(change.days).toEqual([
      none,
      { lapsedToday: 1, reactivatedToday: 0, lapsed: 1 },
      { lapsedToday: 0, reactivatedToday: 1, lapsed: 0 },
    ]);
    expect(change).toMatchObject({ lapsedLast12Months: 1, reactivatedLast12Months: 1, lapsed: 0 });
    expect(earned?.breakdown).toContainEqual({ source: 'campaign', campaignId, points: 500 });
    expect(((await readCustomer(id)) as any).lastLapse).toEqual({
      lapsedAt: new Date(noon(60).getTime() + 20 * DAY).toISOString(),
      returnedAt: at.toISOString(),
    });
    expect(await lapseEventsOf(id)).toEqual([]);
    // An active customer's next purchase is no return: the offer does not pay again.
    const next = await buyAt(id, new Date(NOW.getTime() - 30_000));
    expect(next.breakdown.some((b) => b.campaignId === campaignId)).toBe(false);
  });
});

describe('the thresholds in force, at their boundaries', () => {
  /** Three purchases at 100, 90 and 80 days ago (gap 10), then one `after` ms past the last. */
  async function silence(after: number, history = [100, 90, 80]) {
    const id = await enrol();
    await importAt(id, history);
    const at = new Date(noon(history.at(-1) as number).getTime() + after);
    const items = [
      {
        customerId: id,
        storeId,
        receiptId: `r-${randomUUID()}`,
        total: usd(100),
        occurredAt: at.toISOString(),
      },
    ];
    await importPurchases(admin, items, key());
    return ((await readCustomer(id)) as any).lastLapse as { lapsedAt: string } | null;
  }

  it('factor: a return exactly factor x gap after the last purchase is none, a millisecond later is one', async () => {
    await withLapse({ factor: 2, minDays: 14, minPurchases: 3 });
    expect(await silence(20 * DAY)).toBeNull();
    expect(await silence(20 * DAY + 1)).toMatchObject({
      lapsedAt: new Date(noon(80).getTime() + 20 * DAY).toISOString(),
    });
    // A larger factor in force when the purchase is recorded: the same silence is none.
    await withLapse({ factor: 3, minDays: 14, minPurchases: 3 });
    expect(await silence(20 * DAY + 1)).toBeNull();
    expect(await silence(30 * DAY + 1)).not.toBeNull();
  });

  it('minDays: when it is above factor x gap, the silence must pass it', async () => {
    await withLapse({ factor: 2, minDays: 25, minPurchases: 3 });
    expect(await silence(25 * DAY)).toBeNull();
    expect(await silence(25 * DAY + 1)).not.toBeNull();
  });

  it('minPurchases: a customer with fewer purchases before the silence has no lapse', async () => {
    await withLapse({ factor: 2, minDays: 14, minPurchases: 4 });
    expect(await silence(60 * DAY)).toBeNull();
    expect(await silence(60 * DAY, [110, 100, 90, 80])).not.toBeNull();
    await withLapse({ factor: 2, minDays: 14, minPurchases: 3 });
  });
});

describe('the thresholds in force in calibrated mode', () => {
  it("judges a purchase's silence by the pair the last scan chose, as the scan flags by it", async () => {
    const program = await readProgram();
    await replaceProgram({
      ...program,
      lapse: { factor: 2, minDays: 14, minPurchases: 3, mode: 'calibrated', targetPrecision: 0.7 },
    });
    // The backtest chose factor 2, minDays 45: a gap of 10 lapses after 45 days, not 20.
    await putLapseQuality({
      grid: [
        { factor: 2, minDays: 14, flagged: 80, precision: 0.5, recall: 0.9 },
        { factor: 2, minDays: 45, flagged: 60, precision: 0.8, recall: 0.6 },
      ],
    });
    try {
      const quiet = await enrol();
      await importAt(quiet, [100, 90, 80]);
      await importAt(quiet, [80 - 30]);
      expect(((await readCustomer(quiet)) as any).lastLapse).toBeNull();
      const gone = await enrol();
      await importAt(gone, [100, 90, 80]);
      await importAt(gone, [80 - 46]);
      expect(((await readCustomer(gone)) as any).lastLapse).toEqual({
        lapsedAt: new Date(noon(80).getTime() + 45 * DAY).toISOString(),
        returnedAt: noon(34).toISOString(),
      });
    } finally {
      await replaceProgram(program);
    }
  });
});

/** The program in force with the lapse thresholds `lapse` (mode fixed). */
async function withLapse(lapse: { factor: number; minDays: number; minPurchases: number }) {
  const program = await readProgram();
  await replaceProgram({ ...program, lapse: { ...program.lapse, ...lapse, mode: 'fixed' } });
}
