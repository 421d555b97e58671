import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BgNbdParams, pNoPurchase } from '../../lib/domain/bgnbd.ts';
import { addPurchaseDay, type Cadence } from '../../lib/domain/cadence.ts';
import {
  auc,
  type BacktestCustomer,
  backtest,
  CALIBRATION_GRID,
  type CalibrationCandidate,
  chooseThresholds,
  flagQuality,
  HORIZON_DAYS,
  historyBefore,
  MIN_FLAGGED,
  SINGLE_DAY_GAP_DAYS,
  summariesBefore,
  TRUST,
  trustProblem,
} from '../../lib/domain/lapseQuality.ts';
import { defaultProgram } from '../../lib/domain/program.ts';

const T = true;
const F = false;

describe('auc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, 1/2 when all tie', () => {
    expect(auc([1, 2, 3, 4], [F, F, T, T])).toBe(1);
    expect(auc([4, 3, 2, 1], [F, F, T, T])).toBe(0);
    expect(auc([5, 5, 5, 5], [F, T, F, T])).toBe(0.5);
  });

  it('counts a tied positive-negative pair as 1/2 (average ranks)', () => {
    // Pairs (positive, negative): (1 vs 1) tie = 1/2, (2 vs 1) = 1 -> 1.5 / 2.
    expect(auc([1, 1, 2], [T, F, T])).toBe(0.75);
    // Positives 3, 2; negatives 2, 1: (3,2)=1 (3,1)=1 (2,2)=1/2 (2,1)=1 -> 3.5 / 4.
    expect(auc([3, 2, 2, 1], [T, T, F, F])).toBe(0.875);
  });

  it('is null when a class is empty', () => {
    expect(auc([], [])).toBeNull();
    expect(auc([1, 2], [T, T])).toBeNull();
    expect(auc([1, 2], [F, F])).toBeNull();
  });

  it('rejects NaN scores and arrays of different lengths', () => {
    expect(() => auc([1, Number.NaN], [T, F])).toThrow(RangeError);
    expect(() => auc([1, 2], [T])).toThrow(RangeError);
  });

  it('equals the share of correctly ordered pairs, and is symmetric under negation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { maxLength: 40 }),
        (rows) => {
          const scores = rows.map(([s]) => s);
          const positive = rows.map(([, p]) => p);
          let wins = 0;
          let pairs = 0;
          for (const [sp, p] of rows) {
            if (!p) continue;
            for (const [sn, n] of rows) {
              if (n) continue;
              pairs++;
              wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
            }
          }
          const value = auc(scores, positive);
          if (pairs === 0) return value === null;
          return (
            Math.abs((value as number) - wins / pairs) < 1e-12 &&
            Math.abs(
              (auc(
                scores.map((s) => -s),
                positive.map((p) => !p),
              ) as number) - (value as number),
            ) < 1e-12
          );
        },
      ),
    );
  });
});

describe('flagQuality', () => {
  it('gives precision and recall for "did not come back"', () => {
    // Flagged 0, 1, 4; did not come back 0, 2, 4: 2 true positives.
    expect(flagQuality([T, T, F, F, T], [F, T, F, T, F])).toEqual({
      flagged: 3,
      precision: 2 / 3,
      recall: 2 / 3,
    });
  });

  it('is null, not NaN, where a share has nothing to divide by', () => {
    expect(flagQuality([F, F], [F, T])).toEqual({ flagged: 0, precision: null, recall: 0 });
    expect(flagQuality([T, F], [T, T])).toEqual({ flagged: 1, precision: 0, recall: null });
    expect(flagQuality([], [])).toEqual({ flagged: 0, precision: null, recall: null });
  });

  it('rejects arrays of different lengths', () => {
    expect(() => flagQuality([T], [])).toThrow(RangeError);
  });
});

describe('CALIBRATION_GRID', () => {
  it('holds distinct sensible pairs, the default pair among them', () => {
    const keys = CALIBRATION_GRID.map((p) => `${p.factor}/${p.minDays}`);
    expect(new Set(keys).size).toBe(CALIBRATION_GRID.length);
    expect(CALIBRATION_GRID).toHaveLength(42);
    expect(keys).toContain(`${defaultProgram.lapse.factor}/${defaultProgram.lapse.minDays}`);
    for (const { factor, minDays } of CALIBRATION_GRID) {
      expect(factor).toBeGreaterThanOrEqual(1);
      expect(minDays).toBeGreaterThanOrEqual(14);
      expect(minDays).toBeLessThanOrEqual(180);
    }
  });
});

describe('chooseThresholds', () => {
  const c = (
    factor: number,
    minDays: number,
    precision: number | null,
    recall: number | null,
    flagged = 100,
  ): CalibrationCandidate => ({ factor, minDays, precision, recall, flagged });

  it('takes the highest recall among the pairs reaching the target precision', () => {
    const candidates = [
      c(2, 14, 0.6, 0.9), // recall best, precision short
      c(3, 30, 0.72, 0.5),
      c(4, 60, 0.8, 0.3),
      c(6, 90, 0.9, 0.1),
    ];
    expect(chooseThresholds(candidates, 0.7)).toBe(candidates[1]);
    expect(chooseThresholds(candidates, 0.75)).toBe(candidates[2]);
    expect(chooseThresholds(candidates, 0.5)).toBe(candidates[0]);
  });

  it('counts a precision equal to the target as reaching it', () => {
    expect(chooseThresholds([c(2, 14, 0.75, 0.4)], 0.75)).toMatchObject({ factor: 2 });
  });

  it('is undefined when no pair reaches the target, or there are none', () => {
    expect(chooseThresholds([c(2, 14, 0.6, 0.9), c(3, 30, 0.74, 0.5)], 0.75)).toBeUndefined();
    expect(chooseThresholds([], 0.7)).toBeUndefined();
  });

  it('breaks recall ties by precision, then smaller minDays, then smaller factor', () => {
    expect(chooseThresholds([c(2, 14, 0.8, 0.4), c(3, 30, 0.85, 0.4)], 0.7)).toMatchObject({
      factor: 3,
    });
    expect(chooseThresholds([c(2, 60, 0.8, 0.4), c(4, 30, 0.8, 0.4)], 0.7)).toMatchObject({
      factor: 4,
      minDays: 30,
    });
    expect(chooseThresholds([c(4, 30, 0.8, 0.4), c(2, 30, 0.8, 0.4)], 0.7)).toMatchObject({
      factor: 2,
    });
  });

  it(`skips pairs that flagged fewer than minFlagged (default ${MIN_FLAGGED}) or nobody`, () => {
    const few = c(6, 180, 1, 0.05, MIN_FLAGGED - 1);
    const enough = c(4, 90, 0.8, 0.02, MIN_FLAGGED);
    expect(chooseThresholds([few, enough], 0.75)).toBe(enough);
    expect(chooseThresholds([few, enough], 0.75, 1)).toBe(few);
    expect(chooseThresholds([few], 0.75)).toBeUndefined();
    // A pair that flagged nobody has no precision: never chosen, whatever minFlagged says.
    expect(chooseThresholds([c(6, 180, null, 0, 0)], 0, 0)).toBeUndefined();
  });

  it('prefers a known recall to a null one', () => {
    expect(chooseThresholds([c(2, 14, 0.8, null), c(3, 14, 0.8, 0)], 0.7)).toMatchObject({
      factor: 3,
    });
  });

  it('rejects a target outside 0..1', () => {
    expect(() => chooseThresholds([], 1.5)).toThrow(RangeError);
    expect(() => chooseThresholds([], Number.NaN)).toThrow(RangeError);
  });
});

describe('trustProblem', () => {
  it('is undefined from 500 repeat customers and 180 days of history', () => {
    expect(TRUST).toEqual({ minRepeatCustomers: 500, minHistoryDays: 180 });
    expect(trustProblem({ repeatCustomers: 500, historyDays: 180 })).toBeUndefined();
    expect(trustProblem({ repeatCustomers: 9451, historyDays: 273 })).toBeUndefined();
  });

  it('says in plain English what is missing', () => {
    expect(trustProblem({ repeatCustomers: 312, historyDays: 400 })).toBe(
      'only 312 customers with 2 or more purchase days (500 needed)',
    );
    expect(trustProblem({ repeatCustomers: 800, historyDays: 120 })).toBe(
      'only 120 days of history (180 needed)',
    );
    expect(trustProblem({ repeatCustomers: 1, historyDays: 1 })).toBe(
      'only 1 customer with 2 or more purchase days (500 needed) and only 1 day of history' +
        ' (180 needed)',
    );
    expect(trustProblem({ repeatCustomers: 0, historyDays: 0.5 })).toBe(
      'only 0 customers with 2 or more purchase days (500 needed) and only 0 days of history' +
        ' (180 needed)',
    );
  });
});

describe('backtest', () => {
  // asOf 2026-07-01, horizon 90 days: cut-off 2026-04-02T00:00Z, truth = a purchase day in
  // 2026-04-02 .. 2026-06-30.
  const asOf = new Date('2026-07-01T00:00:00Z');
  const cutoff = new Date('2026-04-02T00:00:00Z');
  const customers: Record<string, BacktestCustomer> = {
    // Weekly, silent 7 days at the cut-off, came back: not flagged (due 2026-04-09).
    A: { purchases: ['20260305', '20260312', '20260319', '20260326', '20260410'] },
    // Weekly, silent 77 days: flagged, did not come back (true positive).
    B: { purchases: ['20260101', '20260108', '20260115'] },
    // Every 10 days, silent 71 days: flagged, but came back (false positive).
    C: { purchases: ['20260101', '20260111', '20260121', '20260501'] },
    // A single purchase, silent 60 days, gone: below minPurchases, not flagged.
    D: { purchases: ['20260201'] },
    // First purchase after the cut-off, and one on the cut-off day itself: not evaluated.
    E: { purchases: ['20260405'] },
    F: { purchases: ['20260402'] },
    // Three purchases on one day (no gap: minDays applies), silent 32 days: flagged; the
    // next purchase is on asOf itself, outside the window: did not come back.
    G: { purchases: ['20260301', '20260301', '20260301', '20260701'] },
  };
  const all = Object.values(customers);
  const grid = [
    { factor: 2, minDays: 14 },
    { factor: 2, minDays: 60 },
    { factor: 10, minDays: 14 },
  ];

  it('reads the flag and the scores at asOf - horizon against the horizon since', () => {
    const result = backtest(all, asOf, { rule: defaultProgram.lapse, grid });
    expect(result).toMatchObject({
      asOf: asOf.toISOString(),
      cutoff: cutoff.toISOString(),
      horizonDays: HORIZON_DAYS,
      evaluated: 5, // A B C D G
      cameBack: 2, // A C
      unknownHistory: 0,
      flag: { factor: 2, minDays: 14, minPurchases: 3, flagged: 3, precision: 2 / 3 },
    });
    expect(result.flag.recall).toBeCloseTo(2 / 3, 12);
    // Gone: B 77, D 60, G 32 days of silence; back: A 7, C 71. Ordered pairs 4 of 6.
    expect(result.auc.silence).toBeCloseTo(4 / 6, 12);
    // Ratios: A 7/7, B 77/7, C 71/10, D 60/14, G 32/14 (single day: SINGLE_DAY_GAP_DAYS).
    expect(SINGLE_DAY_GAP_DAYS).toBe(14);
    expect(result.auc.cadenceRatio).toBeCloseTo(4 / 6, 12);
    expect(result.auc.churnRisk).toBeNull(); // no model
    expect(result.grid).toEqual([
      { factor: 2, minDays: 14, flagged: 3, precision: 2 / 3, recall: 2 / 3 },
      // B (77 > 60) and C (71 > 60); not G (32).
      { factor: 2, minDays: 60, flagged: 2, precision: 1 / 2, recall: 1 / 3 },
      // B (77 > 70) and G (32 > 14); not C (71 <= 100).
      { factor: 10, minDays: 14, flagged: 2, precision: 1, recall: 2 / 3 },
    ]);
    expect(chooseThresholds(result.grid, 0.75, 1)).toMatchObject({ factor: 10, minDays: 14 });
    // At 0.6 (2, 14) qualifies too, with the same recall: the higher precision wins.
    expect(chooseThresholds(result.grid, 0.6, 1)).toMatchObject({ factor: 10, minDays: 14 });
    expect(chooseThresholds(result.grid, 0.75)).toBeUndefined(); // 2 flagged < MIN_FLAGGED
  });

  it('uses CALIBRATION_GRID by default, and no grid when given []', () => {
    expect(backtest(all, asOf, { rule: defaultProgram.lapse }).grid).toHaveLength(
      CALIBRATION_GRID.length,
    );
    expect(backtest(all, asOf, { rule: defaultProgram.lapse, grid: [] }).grid).toEqual([]);
  });

  it('flags like the lapse-scan job: only when due strictly before the cut-off', () => {
    const at = (silence: number) => ({
      purchases: Array(3).fill(new Date(cutoff.getTime() - silence * 86_400_000)),
    });
    const rule = { factor: 2, minDays: 14, minPurchases: 3 };
    expect(backtest([at(14)], asOf, { rule, grid: [] }).flag.flagged).toBe(0); // due = cut-off
    expect(backtest([at(15)], asOf, { rule, grid: [] }).flag.flagged).toBe(1);
  });

  it('takes days, ISO instants, Dates and epoch ms alike, in any order', () => {
    const mixed: BacktestCustomer[] = [
      { purchases: ['2026-03-26T18:30:00Z', '20260305', new Date('2026-03-19T09:00:00Z')] },
      { purchases: [Date.UTC(2026, 3, 10), '20260312', '20260305', '20260326'] },
    ];
    const result = backtest(mixed, asOf, { rule: defaultProgram.lapse, grid: [] });
    expect(result).toMatchObject({ evaluated: 2, cameBack: 1 });
    expect(() => backtest([{ purchases: ['soon'] }], asOf, { rule: defaultProgram.lapse })).toThrow(
      RangeError,
    );
  });

  it('scores churnRisk with the model at the cut-off, over the horizon', () => {
    const model: BgNbdParams = { r: 0.25, alpha: 4.4, a: 0.8, b: 2.4 };
    const result = backtest(all, asOf, { rule: defaultProgram.lapse, model, grid: [] });
    const summaries = summariesBefore(all, cutoff); // A B C D G, in input order
    const gone = [F, T, F, T, T];
    expect(result.auc.churnRisk).toBe(
      auc(
        summaries.map((s) => pNoPurchase(model, s, HORIZON_DAYS / 7)),
        gone,
      ),
    );
    expect(result.auc.churnRisk).not.toBeNull();
  });

  it('honours horizonDays', () => {
    // 30 days: cut-off 2026-06-01; B, C, D and G have been silent for months, A bought
    // 2026-04-10 (after the old cut-off, before this one) and nobody buys in June.
    const result = backtest(all, asOf, { rule: defaultProgram.lapse, horizonDays: 30, grid: [] });
    expect(result).toMatchObject({ cutoff: '2026-06-01T00:00:00.000Z', evaluated: 7 });
    expect(result.cameBack).toBe(0);
    expect(() => backtest(all, asOf, { rule: defaultProgram.lapse, horizonDays: 0 })).toThrow(
      RangeError,
    );
  });

  it('takes the cadences kept on customer items, as the job has them', () => {
    const cadenceOf = (days: string[]) =>
      days.reduce<Cadence | undefined>(
        (c, d) => addPurchaseDay(c, new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}`)),
        undefined,
      ) as Cadence;
    // One purchase a day: a cadence says the same as the purchases.
    const daily = ['A', 'B', 'C', 'D', 'E', 'F'].map(
      (id) => customers[id] as { purchases: string[] },
    );
    const fromPurchases = backtest(daily, asOf, { rule: defaultProgram.lapse, grid });
    const fromCadences = backtest(
      daily.map((c) => ({ cadence: cadenceOf(c.purchases) })),
      asOf,
      { rule: defaultProgram.lapse, grid },
    );
    expect(fromCadences).toEqual(fromPurchases);
    // Without the customer's purchase count, days stand in for purchases.
    expect(historyBefore({ cadence: cadenceOf(['20260301', '20260701']) }, cutoff)).toEqual({
      purchases: 1,
      cadence: { days: ['20260301'], purchases: [1], dayCount: 1, firstDay: '20260301' },
    });
    // A cadence whose kept days all lie after the cut-off (kept before the cadence kept the
    // last CADENCE_WINDOW_DAYS) can't say what was before it.
    const busy: Cadence = {
      days: Array.from({ length: 24 }, (_, i) => `202605${String(i + 1).padStart(2, '0')}`),
      dayCount: 30,
      firstDay: '20260101',
    };
    const result = backtest([{ cadence: busy }], asOf, { rule: defaultProgram.lapse, grid: [] });
    expect(result).toMatchObject({ evaluated: 0, unknownHistory: 1 });
  });
});

describe('historyBefore and summariesBefore', () => {
  const cutoff = new Date('2026-04-02T00:00:00Z');

  it('keep only what happened before the cut-off', () => {
    expect(
      historyBefore({ purchases: ['20260301', '20260301', '20260315', '20260410'] }, cutoff),
    ).toEqual({
      purchases: 3,
      cadence: {
        days: ['20260301', '20260315'],
        purchases: [2, 1],
        dayCount: 2,
        firstDay: '20260301',
      },
    });
    expect(historyBefore({ purchases: ['20260402'] }, cutoff)).toBeUndefined();
    expect(historyBefore({ purchases: [] }, cutoff)).toBeUndefined();
  });

  it('summarise in weeks at the cut-off, for a fit that sees nothing after it', () => {
    expect(
      summariesBefore(
        [
          { purchases: ['20260101', '20260108', '20260115', '20260501'] },
          { purchases: ['20260201'] },
          { purchases: ['20260501'] },
        ],
        cutoff,
      ),
    ).toEqual([
      { x: 2, tx: 2, T: 13 }, // 91 days
      { x: 0, tx: 0, T: 60 / 7 },
    ]);
  });
});

describe('backtest at the edges of a purchase history (issue 24)', () => {
  const DAY_MS = 86_400_000;
  // asOf mid-afternoon: the instant asOf - 90 days falls in the middle of 2026-04-02.
  const asOf = new Date('2026-07-01T15:00:00Z');
  const rule = { factor: 2, minDays: 14, minPurchases: 3 };
  const cadenceOf = (times: readonly (string | number)[]) =>
    times.reduce<Cadence | undefined>(
      (c, t) => addPurchaseDay(c, new Date(t)),
      undefined,
    ) as Cadence;

  it('keeps a customer with 24 or more purchase days since the cut-off, as their purchases say', () => {
    // Weekly from January, then every day from 30 days before the cut-off until asOf's eve:
    // 120 purchase days, 90 of them after the cut-off. They came back.
    const times = [
      ...Array.from({ length: 10 }, (_, k) => Date.UTC(2026, 0, 5) + k * 7 * DAY_MS),
      ...Array.from({ length: 120 }, (_, k) => Date.UTC(2026, 2, 3) + k * DAY_MS),
    ];
    const cadence = cadenceOf(times);
    const fromPurchases = backtest([{ purchases: times }], asOf, { rule, grid: CALIBRATION_GRID });
    const fromCadence = backtest([{ cadence, purchaseCount: times.length }], asOf, {
      rule,
      grid: CALIBRATION_GRID,
    });
    expect(fromPurchases).toMatchObject({ evaluated: 1, cameBack: 1, unknownHistory: 0 });
    expect(fromCadence).toEqual(fromPurchases);
    const cutoff = new Date(fromPurchases.cutoff);
    expect(summariesBefore([{ cadence }], cutoff)).toEqual(
      summariesBefore([{ purchases: times }], cutoff),
    );
  });

  it('counts a purchase on the cut-off day after the instant asOf - 90 days as a return', () => {
    // Weekly until 2026-03-19, silent since, and back on 2026-04-02 at 18:00, after
    // asOf - 90 days (2026-04-02T15:00): a customer who came back, not one who was there.
    const times = ['2026-02-26T10:00:00Z', '2026-03-05T10:00:00Z', '2026-03-12T10:00:00Z'];
    const back = '2026-04-02T18:00:00Z';
    for (const customer of [
      { purchases: [...times, back] },
      { cadence: cadenceOf([...times, back]), purchaseCount: 4 },
    ]) {
      const result = backtest([customer], asOf, { rule, grid: [] });
      expect(result).toMatchObject({ evaluated: 1, cameBack: 1 });
      // Read at the start of the cut-off's day: 21 days of silence, flagged (2 x 7 < 21).
      expect(result.flag.flagged).toBe(1);
    }
  });

  it('counts minPurchases in purchases, as the live rule does, from a cadence too', () => {
    // Three purchases on two days before the cut-off, silent for weeks: the live rule
    // (c.purchases = 3) flags them, so the backtest must.
    const times = ['2026-02-01T09:00:00Z', '2026-02-01T17:00:00Z', '2026-02-08T09:00:00Z'];
    const fromPurchases = backtest([{ purchases: times }], asOf, { rule, grid: [] });
    const fromCadence = backtest([{ cadence: cadenceOf(times), purchaseCount: 3 }], asOf, {
      rule,
      grid: [],
    });
    expect(fromPurchases.flag.flagged).toBe(1);
    expect(fromCadence.flag.flagged).toBe(1);
  });
});
