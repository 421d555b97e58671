import { beforeAll, describe, expect, it } from 'vitest';
import type { CustomerState } from '../../lib/domain/customer.ts';
import { newId } from '../../lib/ids.ts';
import { getLapseQualityItem, putLapseQuality } from '../../lib/store/model.ts';
import { lapseQualityReport, runLapseScan } from '../../lib/usecases/lapse.ts';
import { allEvents, seedCustomers, setLapse, statesOf } from '../support/seedCustomers.ts';
import { startTestTable } from '../support/table.ts';

/**
 * Lapse calibration on DynamoDB Local: calibrated mode chooses its pair by the nightly
 * backtest, flags by it at once and records `program.lapse-calibrated`; the table is this
 * file's alone, since the backtest's sample is every customer in it. Customers are built
 * by the domain code and stored with the store's own customerItem (support/seedCustomers.ts).
 */

/** The runs' asOf: now, so the purchase days below are whole days in the past. */
const A = Date.now();

beforeAll(async () => {
  await startTestTable();
});

describe('calibrated mode', () => {
  it('falls back to the fixed pair, and says why, while the data is insufficient', async () => {
    await setLapse({ mode: 'calibrated', targetPrecision: 0.9 });
    const report = (await lapseQualityReport()) as any;
    expect(report.flag).toMatchObject({ factor: 2, minDays: 14 });
    expect(report.calibration).toMatchObject({
      mode: 'calibrated',
      targetPrecision: 0.9,
      source: 'fixed',
    });
    const run = await runLapseScan(new Date(A));
    expect(run.thresholds).toEqual({ factor: 2, minDays: 14, source: 'fixed' });
    const after = (await lapseQualityReport()) as any;
    expect(after.insufficientData).toMatch(/customers with 2 or more purchase days/);
    expect(after.calibration.fallbackReason).toMatch(/^not enough data to calibrate: only \d+ /);
    expect((await allEvents()).filter((e) => e.type === 'program.lapse-calibrated')).toEqual([]);
  });

  it('chooses its pair by the backtest, flags by it at once, and records the change', async () => {
    // The merchant's fixed pair is 2 / 90: for customers who buy every 10 days it waits
    // 90 days. At the backtest's cut-off (A - 90 days), everyone has bought every 10 days
    // for 200 days. "Gone" stopped 60 days before the cut-off and never came back;
    // "pausers" stopped 27 days before it and came back 10 days after it; "regulars"
    // bought 5 days before it and since. "Newcomers" bought every 10 days from 70 to 50
    // days before A (after the cut-off: not in the backtest).
    const fixedPair = { factor: 2, minDays: 90 };
    await setLapse({ mode: 'fixed', ...fixedPair, targetPrecision: 0.9 });
    const cut = 90;
    const every10 = (from: number, to: number) =>
      Array.from({ length: Math.floor((from - to) / 10) + 1 }, (_, k) => from - 10 * k);
    const gone = await seedCustomers(
      Array.from({ length: 260 }, () => ({ days: every10(cut + 260, cut + 60) })),
      A,
    );
    const pausers = await seedCustomers(
      Array.from({ length: 260 }, () => ({ days: [...every10(cut + 227, cut + 27), cut - 10] })),
      A,
    );
    const regulars = await seedCustomers(
      Array.from({ length: 100 }, () => ({ days: every10(cut + 205, 5) })),
      A,
    );
    const newcomers = await seedCustomers(
      Array.from({ length: 4 }, () => ({ days: [70, 60, 50] })),
      A,
    );
    const statuses = async (group: CustomerState[]) => [
      ...new Set((await statesOf(group)).map((c) => c.status)),
    ];

    // Fixed mode: the gone (silent 150 days) are flagged; pausers (80) and newcomers (50)
    // are not yet.
    const fixed = await runLapseScan(new Date(A));
    expect(fixed).toMatchObject({ flagged: 260, thresholds: { ...fixedPair, source: 'fixed' } });
    const report = (await lapseQualityReport()) as any;
    expect(report.insufficientData).toBeUndefined();
    expect(report.evaluated).toBe(620);
    expect(report.cameBack).toBe(360);
    // 2 / 90 at the cut-off flagged nobody: no precision, recall 0.
    expect(report.flag).toEqual({ ...fixedPair, precision: null, recall: 0 });
    expect(report.calibration).toMatchObject({ mode: 'fixed', source: 'fixed' });
    expect(await statuses(pausers)).toEqual(['active']);

    // Calibrated for 0.9, the report shows at once what it would put in force: of the
    // grid, the pairs waiting 30 to 59 days for a 10-day gap flag exactly the gone at the
    // cut-off (recall 1, precision 1); ties go to the smaller minDays, then the smaller
    // factor: 3 / 14 (30 days; 2.5 x 10 = 25 days would also take the pausers).
    await setLapse({ mode: 'calibrated', ...fixedPair, targetPrecision: 0.9 });
    const calibratedNow = (await lapseQualityReport()) as any;
    expect(calibratedNow.flag).toEqual({ factor: 3, minDays: 14, precision: 1, recall: 1 });
    expect(calibratedNow.calibration).toEqual({
      mode: 'calibrated',
      targetPrecision: 0.9,
      source: 'calibrated',
      fixed: { ...fixedPair, precision: null, recall: 0 },
    });
    // The run flags by it: pausers (80 days > 30) and newcomers (50 > 30) now; regulars not.
    const calibrated = await runLapseScan(new Date(A));
    expect(calibrated).toMatchObject({
      flagged: 264,
      thresholds: { factor: 3, minDays: 14, source: 'calibrated' },
    });
    expect(await statuses(pausers)).toEqual(['lapsed']);
    expect(await statuses(newcomers)).toEqual(['lapsed']);
    expect(await statuses(regulars)).toEqual(['active']);
    expect(await statuses(gone)).toEqual(['lapsed']);
    const events = (await allEvents()).filter((e) => e.type === 'program.lapse-calibrated');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      customerId: null,
      data: {
        factor: 3,
        minDays: 14,
        source: 'calibrated',
        targetPrecision: 0.9,
        backtest: { precision: 1, recall: 1 },
        previous: { ...fixedPair, source: 'fixed' },
      },
    });

    // The same pair the next night: no new event.
    await runLapseScan(new Date(A + 60_000));
    expect((await allEvents()).filter((e) => e.type === 'program.lapse-calibrated')).toHaveLength(
      1,
    );

    // Back to fixed mode: in force at once in the report; the run announces it.
    await setLapse({ mode: 'fixed', ...fixedPair, targetPrecision: 0.9 });
    expect(((await lapseQualityReport()) as any).flag).toEqual({
      ...fixedPair,
      precision: null,
      recall: 0,
    });
    const back = await runLapseScan(new Date(A + 120_000));
    expect(back.thresholds).toEqual({ ...fixedPair, source: 'fixed' });
    const last = (await allEvents()).filter((e) => e.type === 'program.lapse-calibrated');
    expect(last).toHaveLength(2);
    expect(last[1].data).toMatchObject({
      ...fixedPair,
      source: 'fixed',
      previous: { factor: 3, minDays: 14, source: 'calibrated' },
    });
  }, 120_000);

  it('of two overlapping runs, one stores its measurement and records the change', async () => {
    const { report, runs } = await getLapseQualityItem();
    expect(runs).toBeGreaterThan(0);
    const event = (id: string) => ({
      id,
      type: 'program.lapse-calibrated' as const,
      at: new Date(A).toISOString(),
      customerId: null,
      data: {},
    });
    const ids = [newId('evt'), newId('evt')];
    const stored = await Promise.all(
      ids.map((id) => putLapseQuality({ ...report }, event(id), runs)),
    );
    expect(stored.filter(Boolean)).toHaveLength(1);
    const recorded = (await allEvents()).filter((e) => ids.includes(e.id));
    expect(recorded).toHaveLength(1);
    expect((await getLapseQualityItem()).runs).toBe(runs + 1);
    // A run that read before both: refused too.
    expect(await putLapseQuality({ ...report }, undefined, runs)).toBe(false);
  });
});
