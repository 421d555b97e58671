import { describe, expect, it } from 'vitest';
import {
  calibrationChanged,
  lapseInForce,
  type Measurement,
  programInForce,
} from '../../lib/domain/lapseCalibration.ts';
import { CALIBRATION_GRID } from '../../lib/domain/lapseQuality.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';

/** Which thresholds are in force, from the program and the last backtest (no I/O). */
const program = (lapse: Partial<Program['lapse']>): Program => ({
  ...defaultProgram,
  lapse: { ...defaultProgram.lapse, ...lapse },
});

/** A backtest where pair i of the grid has precision p(i), recall r(i), 100 flagged. */
function measured(p: (i: number) => number, r: (i: number) => number): Measurement {
  return {
    flag: { factor: 2, minDays: 14, flagged: 100, precision: 0.45, recall: 0.6 },
    grid: CALIBRATION_GRID.map((pair, i) => ({
      ...pair,
      flagged: 100,
      precision: p(i),
      recall: r(i),
    })),
  };
}

// Precision rises and recall falls along the grid (factor-major: later = stricter).
const grid = measured(
  (i) => 0.5 + i / 100,
  (i) => 0.9 - i / 50,
);

describe('lapseInForce', () => {
  it("fixed mode: the program's pair, with its figures when measured", () => {
    expect(lapseInForce(program({}), grid)).toEqual({
      factor: 2,
      minDays: 14,
      source: 'fixed',
      // 2 / 14 is in the grid: its grid figures.
      measured: { flagged: 100, precision: 0.5 + 7 / 100, recall: 0.9 - 7 / 50 },
    });
    // A pair outside the grid: the figures measured for the program's own pair, if it is it.
    expect(lapseInForce(program({ factor: 2.2, minDays: 14 }), grid).measured).toBeUndefined();
    expect(lapseInForce(program({}), undefined)).toEqual({
      factor: 2,
      minDays: 14,
      source: 'fixed',
    });
  });

  it('calibrated: the highest recall reaching the target, chosen again when the target moves', () => {
    // Precision 0.5 + i/100 >= 0.7 from i = 20 on; recall falls with i: i = 20 wins.
    const at70 = lapseInForce(program({ mode: 'calibrated', targetPrecision: 0.7 }), grid);
    expect(at70).toMatchObject({ ...CALIBRATION_GRID[20], source: 'calibrated' });
    expect(at70.measured?.precision).toBeCloseTo(0.7);
    const at80 = lapseInForce(program({ mode: 'calibrated', targetPrecision: 0.8 }), grid);
    expect(at80).toMatchObject({ ...CALIBRATION_GRID[30], source: 'calibrated' });
  });

  it('calibrated: the fixed pair, and why, when nothing can be chosen', () => {
    const calibrated = program({ mode: 'calibrated', targetPrecision: 0.95 });
    expect(lapseInForce(calibrated, undefined)).toMatchObject({
      factor: 2,
      minDays: 14,
      source: 'fixed',
      fallbackReason: 'the lapse-scan job has not backtested the flag yet',
    });
    // 0.5 + 41/100 = 0.91 at most: no pair reaches 0.95.
    expect(lapseInForce(calibrated, grid)).toMatchObject({
      source: 'fixed',
      fallbackReason: 'no pair of the calibration grid reached precision 0.95 in the backtest',
    });
    expect(
      lapseInForce(calibrated, {
        ...grid,
        insufficientData: 'only 12 days of history (180 needed)',
      }),
    ).toMatchObject({
      source: 'fixed',
      fallbackReason: 'not enough data to calibrate: only 12 days of history (180 needed)',
    });
    // Measured before calibration existed (no grid): nothing to choose from.
    const { grid: _, ...old } = grid;
    expect(lapseInForce(program({ mode: 'calibrated' }), old)).toMatchObject({
      source: 'fixed',
      fallbackReason: expect.stringMatching(/^the last backtest predates calibration/),
    });
  });

  it('a pair needs 30 flagged customers to be chosen', () => {
    const few = measured(
      () => 0.9,
      (i) => 1 - i / 100,
    );
    (few.grid ?? []).forEach((c, i) => {
      c.flagged = i < 5 ? 29 : 30;
    });
    expect(lapseInForce(program({ mode: 'calibrated' }), few)).toMatchObject(
      CALIBRATION_GRID[5] as object,
    );
  });

  it('programInForce changes only factor and minDays', () => {
    const p = program({ mode: 'calibrated', minPurchases: 4 });
    expect(programInForce(p, { factor: 3, minDays: 45 }).lapse).toEqual({
      ...p.lapse,
      factor: 3,
      minDays: 45,
    });
  });
});

describe('calibrationChanged', () => {
  const fixed = { factor: 2, minDays: 14, source: 'fixed' as const };
  const chosen = { factor: 3, minDays: 30, source: 'calibrated' as const };
  it('announces a pair calibration chose, gave up, or changed; not a fixed pair edited', () => {
    expect(calibrationChanged(fixed, chosen)).toBe(true);
    expect(calibrationChanged(chosen, chosen)).toBe(false);
    expect(calibrationChanged(chosen, { ...chosen, minDays: 45 })).toBe(true);
    expect(calibrationChanged(chosen, fixed)).toBe(true);
    // The calibrated pair equal to the fixed one: the source changed, still announced.
    expect(calibrationChanged(fixed, { ...fixed, source: 'calibrated' })).toBe(true);
    expect(calibrationChanged(fixed, { ...fixed, factor: 4 })).toBe(false);
  });
});
