import {
  type CalibrationCandidate,
  chooseThresholds,
  type FlagQuality,
  type ThresholdPair,
} from './lapseQuality.ts';
import type { Program } from './program.ts';

/**
 * Which lapse thresholds are in force (the program's `lapse.mode`): the program's `factor` and
 * `minDays` in `fixed` mode; in `calibrated` mode, the pair the last backtest chose for
 * `targetPrecision`, or the program's own while there is none to choose. Pure: the
 * lapse-scan job and the quality report call it with the program and the last backtest,
 * so a change of mode or target applies at once, with the figures already measured.
 */

/** What the last backtest recorded (PROGRAM/LAPSE_QUALITY), as far as calibration reads it. */
export interface Measurement {
  /** The program's fixed pair at the time, with its figures. */
  flag: ThresholdPair & Partial<FlagQuality>;
  /** Every pair of CALIBRATION_GRID with its figures (absent: measured before calibration). */
  grid?: CalibrationCandidate[];
  insufficientData?: string;
  /** The pair in force at the end of the run that measured it. */
  inForce?: InForce;
}

export interface InForce extends ThresholdPair {
  source: 'fixed' | 'calibrated';
}

export interface Thresholds extends InForce {
  /** Why the fixed pair is in force in calibrated mode. */
  fallbackReason?: string;
  /** The pair's backtest figures, when the measurement has them. */
  measured?: FlagQuality;
}

export function lapseInForce(program: Program, measurement: Measurement | undefined): Thresholds {
  const { factor, minDays, mode, targetPrecision } = program.lapse;
  const fixed = (fallbackReason?: string): Thresholds => {
    const measured = figuresOf({ factor, minDays }, measurement);
    return {
      factor,
      minDays,
      source: 'fixed',
      ...(fallbackReason !== undefined && { fallbackReason }),
      ...(measured && { measured }),
    };
  };
  if (mode === 'fixed') return fixed();
  if (!measurement) return fixed('the lapse-scan job has not backtested the flag yet');
  if (measurement.insufficientData) {
    return fixed(`not enough data to calibrate: ${measurement.insufficientData}`);
  }
  if (!measurement.grid) {
    return fixed('the last backtest predates calibration: the next lapse scan measures the pairs');
  }
  const chosen = chooseThresholds(measurement.grid, targetPrecision);
  if (!chosen) {
    return fixed(
      `no pair of the calibration grid reached precision ${targetPrecision} in the backtest`,
    );
  }
  return {
    factor: chosen.factor,
    minDays: chosen.minDays,
    source: 'calibrated',
    measured: { flagged: chosen.flagged, precision: chosen.precision, recall: chosen.recall },
  };
}

/** The program with the thresholds in force: what the lapse scan flags by. */
export const programInForce = (program: Program, thresholds: ThresholdPair): Program => ({
  ...program,
  lapse: { ...program.lapse, factor: thresholds.factor, minDays: thresholds.minDays },
});

export const samePair = (a: ThresholdPair, b: ThresholdPair) =>
  a.factor === b.factor && a.minDays === b.minDays;

function figuresOf(
  pair: ThresholdPair,
  measurement: Measurement | undefined,
): FlagQuality | undefined {
  if (!measurement || measurement.insufficientData) return undefined;
  const found =
    measurement.grid?.find((c) => samePair(c, pair)) ??
    (samePair(measurement.flag, pair) ? measurement.flag : undefined);
  if (!found || found.precision === undefined || found.recall === undefined) return undefined;
  return { flagged: found.flagged ?? 0, precision: found.precision, recall: found.recall };
}

/**
 * Whether the job announces a change (a `program.lapse-calibrated` event): the pair in
 * force differs from the one the last run left, and calibration is involved (it chose the
 * pair, or it had chosen the last one). A merchant's own change in fixed mode is not one.
 */
export function calibrationChanged(last: InForce, now: Thresholds): boolean {
  if (last.source === 'fixed' && now.source === 'fixed') return false;
  return !samePair(last, now) || last.source !== now.source;
}
