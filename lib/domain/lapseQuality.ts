import { type BgNbdParams, type CustomerSummary, pNoPurchase } from './bgnbd.ts';
import { addPurchaseDay, type Cadence, lapseDueAt, typicalGapDays } from './cadence.ts';
import { DAY_MS, dayKey, dayStart } from './days.ts';
import { MODEL_TRUST, summaryOf } from './model.ts';
import { defaultProgram, type Program } from './program.ts';

/**
 * How good is the lapse flag on this programme's own history (GET /v1/reports/lapse-quality)? Pure
 * functions, no I/O: the nightly lapse-scan job and `npm run eval:lapse` call the same ones.
 *
 * The class scored is "did not come back": no purchase in the `horizonDays` after the moment
 * the flag (or a score) was read. Flags are judged by precision and recall for that class;
 * scores by AUC, where a higher score means "more likely gone".
 */

/** How far the backtest looks back, and ahead from there: 90 days. */
export const HORIZON_DAYS = 90;

// ---------------------------------------------------------------- metrics

/**
 * Area under the ROC curve of `scores` for `positives`, by the Mann-Whitney rank formula:
 * the chance that a random positive scores above a random negative, tied pairs counted 1/2
 * (tied scores share their average rank). Null when either class is empty. Scores must be
 * numbers (NaN has no rank: RangeError); the arrays must be as long as each other.
 * O(n log n).
 */
export function auc(scores: readonly number[], positives: readonly boolean[]): number | null {
  if (scores.length !== positives.length) {
    throw new RangeError(`auc: ${scores.length} scores but ${positives.length} outcomes`);
  }
  if (scores.some(Number.isNaN)) throw new RangeError('auc: a score is NaN');
  const order = scores
    .map((_, i) => i)
    .sort((i, j) => (scores[i] as number) - (scores[j] as number));
  let rankSumPositive = 0;
  let nPositive = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    const value = scores[order[start] as number];
    while (end < order.length && scores[order[end] as number] === value) end++;
    const averageRank = (start + 1 + end) / 2; // ranks start+1 .. end
    for (let k = start; k < end; k++) {
      if (positives[order[k] as number]) {
        rankSumPositive += averageRank;
        nPositive++;
      }
    }
    start = end;
  }
  const nNegative = order.length - nPositive;
  if (nPositive === 0 || nNegative === 0) return null;
  return (rankSumPositive - (nPositive * (nPositive + 1)) / 2) / (nPositive * nNegative);
}

/** A flag judged for "did not come back". */
export interface FlagQuality {
  /** How many were flagged. */
  flagged: number;
  /** Share of the flagged who did not come back; null when nothing was flagged. */
  precision: number | null;
  /** Share of those who did not come back that were flagged; null when all came back. */
  recall: number | null;
}

/**
 * Precision and recall of a flag for the class "did not come back": `flagged[i]` is the
 * flag of customer i, `cameBack[i]` whether they bought within the horizon.
 */
export function flagQuality(
  flagged: readonly boolean[],
  cameBack: readonly boolean[],
): FlagQuality {
  if (flagged.length !== cameBack.length) {
    throw new RangeError(`flagQuality: ${flagged.length} flags but ${cameBack.length} outcomes`);
  }
  let nFlagged = 0;
  let lost = 0;
  let truePositive = 0;
  for (let i = 0; i < flagged.length; i++) {
    if (flagged[i]) nFlagged++;
    if (!cameBack[i]) {
      lost++;
      if (flagged[i]) truePositive++;
    }
  }
  return {
    flagged: nFlagged,
    precision: nFlagged === 0 ? null : truePositive / nFlagged,
    recall: lost === 0 ? null : truePositive / lost,
  };
}

// ---------------------------------------------------------------- calibration

/** The lapse rule's thresholds (of the program's `lapse`). */
export type LapseRule = Pick<Program['lapse'], 'factor' | 'minPurchases' | 'minDays'>;

export interface ThresholdPair {
  factor: number;
  minDays: number;
}

/** A grid point with its backtest figures. */
export interface CalibrationCandidate extends ThresholdPair, FlagQuality {}

const GRID_FACTORS = [1.5, 2, 2.5, 3, 4, 6] as const;
const GRID_MIN_DAYS = [14, 30, 45, 60, 90, 120, 180] as const;

/**
 * The (factor, minDays) pairs calibration chooses from: factor 1.5, 2, 2.5, 3, 4, 6 x
 * minDays 14, 30, 45, 60, 90, 120, 180; 42 pairs, factor-major (minPurchases stays the
 * program's). The factors run from "a little late" to "missed five purchases in a row" (the
 * range `npm run eval:lapse` compares); minDays from two weeks (the default program's) to half
 * a year, in steps a customer would notice. A pair can only be judged on silences the
 * backtest's cut-off can see: at the trust minimum (180 days of history) that is 90 days,
 * so minDays 120 and 180 come into play as the programme ages; until then they flag next to
 * nobody and are not chosen (MIN_FLAGGED). 42 pairs keep the backtest O(customers x 42).
 */
export const CALIBRATION_GRID: readonly ThresholdPair[] = GRID_FACTORS.flatMap((factor) =>
  GRID_MIN_DAYS.map((minDays) => ({ factor, minDays })),
);

/**
 * Fewest flagged customers a pair needs to be chosen: a precision measured on fewer is
 * mostly noise (its standard error is about 0.08 at 30 flagged and precision 0.75).
 */
export const MIN_FLAGGED = 30;

/**
 * The calibrated pair: among the candidates that flagged at least `minFlagged` customers
 * (default MIN_FLAGGED, at least 1) and reach `targetPrecision`, the one with the highest
 * recall; ties go to the higher precision, then the smaller minDays, then the smaller
 * factor. Undefined when none reaches the target (the caller keeps its fixed values).
 * Candidates with a null recall (nobody in the backtest failed to come back) never win
 * against one with a recall.
 */
export function chooseThresholds<C extends CalibrationCandidate>(
  candidates: readonly C[],
  targetPrecision: number,
  minFlagged = MIN_FLAGGED,
): C | undefined {
  if (!(targetPrecision >= 0 && targetPrecision <= 1)) {
    throw new RangeError(`targetPrecision must be within 0..1, got ${targetPrecision}`);
  }
  let best: C | undefined;
  for (const c of candidates) {
    if (c.precision === null || c.precision < targetPrecision) continue;
    if (c.flagged < Math.max(1, minFlagged)) continue;
    if (best === undefined || better(c, best)) best = c;
  }
  return best;
}

function better(c: CalibrationCandidate, than: CalibrationCandidate): boolean {
  const recall = c.recall ?? -1;
  const thanRecall = than.recall ?? -1;
  if (recall !== thanRecall) return recall > thanRecall;
  const precision = c.precision ?? -1;
  const thanPrecision = than.precision ?? -1;
  if (precision !== thanPrecision) return precision > thanPrecision;
  if (c.minDays !== than.minDays) return c.minDays < than.minDays;
  return c.factor < than.factor;
}

// ---------------------------------------------------------------- trust

/** Below these the model and the quality figures are not shown (model.ts MODEL_TRUST). */
export const TRUST = MODEL_TRUST;

/**
 * Why the model and the quality figures can't be trusted yet, in plain English, or
 * undefined when they can: `repeatCustomers` = customers with 2 or more purchase days,
 * `historyDays` = days since the programme's first purchase.
 */
export function trustProblem(data: {
  repeatCustomers: number;
  historyDays: number;
}): string | undefined {
  const problems: string[] = [];
  if (!(data.repeatCustomers >= TRUST.minRepeatCustomers)) {
    const n = Math.max(0, Math.floor(data.repeatCustomers || 0));
    problems.push(
      `only ${n} customer${n === 1 ? '' : 's'} with 2 or more purchase days` +
        ` (${TRUST.minRepeatCustomers} needed)`,
    );
  }
  if (!(data.historyDays >= TRUST.minHistoryDays)) {
    const n = Math.max(0, Math.floor(data.historyDays || 0));
    problems.push(`only ${n} day${n === 1 ? '' : 's'} of history (${TRUST.minHistoryDays} needed)`);
  }
  return problems.length === 0 ? undefined : problems.join(' and ');
}

// ---------------------------------------------------------------- backtest

/** A purchase's time: a "YYYYMMDD" UTC day, an ISO 8601 instant, a Date or epoch ms. */
export type PurchaseTime = string | Date | number;

/**
 * A customer as the backtest takes them: every purchase (one entry per purchase; entries on
 * one day count as purchases for minPurchases but as one purchase day), or the cadence kept
 * on the customer item with `purchaseCount`, the customer's purchases ever (its
 * `purchases`): the purchases before the cut-off are those less the ones on the days kept
 * after it, counted as the lapse rule counts them. Without `purchaseCount`, or on a cadence
 * kept before it counted purchases per day, purchase days stand in for purchases. Entries
 * may come in any order and may lie after the backtest's window (ignored).
 */
export type BacktestCustomer =
  | { purchases: readonly PurchaseTime[] }
  | { cadence: Cadence; purchaseCount?: number };

/** A customer's history before a cut-off: what the lapse rule and the model see there. */
export interface History {
  /** Purchases before the cut-off (purchase days for a cadence). */
  purchases: number;
  cadence: Cadence;
}

const YYYYMMDD = /^\d{8}$/;

function toDay(t: PurchaseTime): string {
  if (typeof t === 'string' && YYYYMMDD.test(t)) return t;
  const at = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(at.getTime())) throw new RangeError(`not a purchase time: ${String(t)}`);
  return dayKey(at);
}

/**
 * The customer's purchase days and purchases before `cutoff` (purchase days are whole UTC
 * days: a day belongs before the cut-off when it starts before it; the backtest's cut-off
 * is the start of a day, backtestCutoff), and whether they bought in [cutoff, cutoff +
 * horizonDays). History is undefined when there is no purchase before the cut-off, or
 * (cadence only) when the cadence no longer keeps the days before it (`unknown`: a cadence
 * kept before it kept CADENCE_WINDOW_DAYS, or a cut-off further back than that).
 */
function split(
  customer: BacktestCustomer,
  cutoff: number,
  horizonDays: number,
): { history: History | undefined; cameBack: boolean; unknown: boolean } {
  const end = cutoff + horizonDays * DAY_MS;
  const inWindow = (day: string) => {
    const start = dayStart(day);
    return start >= cutoff && start < end;
  };
  if ('cadence' in customer) {
    const { cadence, purchaseCount } = customer;
    const firstAfter = cadence.days.findIndex((d) => dayStart(d) >= cutoff);
    const at = firstAfter < 0 ? cadence.days.length : firstAfter;
    const before = cadence.days.slice(0, at);
    const cameBack = cadence.days.slice(at).some(inWindow);
    const dayCount = cadence.dayCount - (cadence.days.length - at);
    if (dayCount <= 0 || dayStart(cadence.firstDay) >= cutoff) {
      return { history: undefined, cameBack, unknown: false };
    }
    if (before.length === 0) return { history: undefined, cameBack, unknown: true };
    const purchases =
      cadence.purchases && purchaseCount !== undefined
        ? purchaseCount - cadence.purchases.slice(at).reduce((sum, n) => sum + n, 0)
        : dayCount;
    return {
      history: {
        purchases,
        cadence: {
          days: before,
          ...(cadence.purchases && { purchases: cadence.purchases.slice(0, at) }),
          dayCount,
          firstDay: cadence.firstDay,
        },
      },
      cameBack,
      unknown: false,
    };
  }
  const days = customer.purchases.map(toDay).sort();
  let cadence: Cadence | undefined;
  let purchases = 0;
  let cameBack = false;
  for (const day of days) {
    if (dayStart(day) < cutoff) {
      cadence = addPurchaseDay(cadence, new Date(dayStart(day)));
      purchases++;
    } else if (inWindow(day)) cameBack = true;
  }
  return { history: cadence && { purchases, cadence }, cameBack, unknown: false };
}

/** The customer's history before `cutoff` (see BacktestCustomer), or undefined without one. */
export function historyBefore(customer: BacktestCustomer, cutoff: Date): History | undefined {
  return split(customer, cutoff.getTime(), 0).history;
}

/**
 * The BG/NBD summaries (weeks) at `cutoff` of the customers with a history before it: what
 * the model the backtest scores with is fitted on (`fitBgNbd(summariesBefore(...))`), so it
 * sees nothing after the cut-off.
 */
export function summariesBefore(
  customers: Iterable<BacktestCustomer>,
  cutoff: Date,
): CustomerSummary[] {
  const summaries: CustomerSummary[] = [];
  for (const customer of customers) {
    const history = historyBefore(customer, cutoff);
    const summary = history && summaryOf(history.cadence, cutoff);
    if (summary) summaries.push(summary);
  }
  return summaries;
}

export interface BacktestOptions {
  /** The rule whose `flag` figures are reported: the program's lapse thresholds in force. */
  rule: LapseRule;
  /** Days looked back from asOf to the cut-off, and ahead from it for the truth; 90. */
  horizonDays?: number;
  /**
   * BG/NBD parameters (weeks) fitted on history before the cut-off only (summariesBefore);
   * without them `auc.churnRisk` is null.
   */
  model?: BgNbdParams;
  /**
   * The pairs to score for calibration, each with `rule.minPurchases`; CALIBRATION_GRID by
   * default, [] to skip.
   */
  grid?: readonly ThresholdPair[];
}

/**
 * Where the backtest reads the flag and the scores: the start of the UTC day `horizonDays`
 * before asOf's day. Purchase days are whole UTC days, so the cut-off is a day's start: a
 * purchase on its day, at whatever hour, is after it (a return), and the horizon since is
 * whole days, up to the start of asOf's day.
 */
export function backtestCutoff(asOf: Date, horizonDays = HORIZON_DAYS): Date {
  return new Date(dayStart(dayKey(asOf)) - horizonDays * DAY_MS);
}

export interface BacktestResult {
  asOf: string;
  /** The start of the day horizonDays before asOf's (backtestCutoff): where the flag and the scores are read. */
  cutoff: string;
  horizonDays: number;
  /** Customers with a purchase before the cut-off. */
  evaluated: number;
  /** Of them, those who bought in [cutoff, cutoff + horizonDays): up to asOf's day. */
  cameBack: number;
  /** Customers left out because a cadence kept none of their days before the cut-off. */
  unknownHistory: number;
  /** The rule's flag at the cut-off, judged for "did not come back". */
  flag: LapseRule & FlagQuality;
  /**
   * AUC of each score at the cut-off for "did not come back" (higher = more likely gone):
   * days of silence, silence / typical gap (SINGLE_DAY_GAP_DAYS for a single purchase day), and
   * churnRisk = P(no purchase in horizonDays) under `model`. Null when a class is empty.
   */
  auc: { silence: number | null; cadenceRatio: number | null; churnRisk: number | null };
  /** Every grid pair's flag at the cut-off, in grid order: chooseThresholds' candidates. */
  grid: CalibrationCandidate[];
}

/**
 * The gap the cadence ratio divides by for a customer with a single purchase day (no gap
 * yet): the default program's minDays. Fixed, not the rule's minDays, so the ratio's AUC
 * does not move with the thresholds being judged.
 */
export const SINGLE_DAY_GAP_DAYS = defaultProgram.lapse.minDays;

/** The program `lapseDueAt` reads the thresholds from. */
const withLapse = (lapse: LapseRule): Program => ({
  ...defaultProgram,
  lapse: { ...defaultProgram.lapse, ...lapse },
});

/**
 * Lapsed at `at` under the lapse rule (cadence.ts): lapseDueAt is defined and strictly
 * before `at`, exactly as the lapse-scan job flags (it flags when due < asOf).
 */
function lapsedAt(history: History, lastPurchaseAt: string, program: Program, at: number): boolean {
  const due = lapseDueAt(history.purchases, lastPurchaseAt, history.cadence, program);
  return due !== undefined && Date.parse(due) < at;
}

/**
 * What the lapse flag and the scores would have said at `asOf - horizonDays` (the cut-off:
 * the start of that UTC day, backtestCutoff), against who bought in the horizonDays since:
 * the backtest GET /v1/reports/lapse-quality reports.
 *
 * Each customer with a purchase before the cut-off is read there as the API would have
 * read them: a cadence of their purchase days before it, the last purchase at the start of
 * its day, the lapse rule by `lapseDueAt` (lapsed when due strictly before the cut-off),
 * silence in days, silence / typical gap, and churnRisk under `options.model` (which must
 * be fitted on history before the cut-off). "Came back" = a purchase day in
 * [cutoff, cutoff + horizonDays). Any subset of the customers (a sample) may be passed.
 * O(customers x grid), plus the sort of each score for its AUC.
 */
export function backtest(
  customers: Iterable<BacktestCustomer>,
  asOf: Date,
  options: BacktestOptions,
): BacktestResult {
  const horizonDays = options.horizonDays ?? HORIZON_DAYS;
  if (!(horizonDays > 0)) throw new RangeError(`horizonDays must be positive, got ${horizonDays}`);
  const cutoffDate = backtestCutoff(asOf, horizonDays);
  const cutoff = cutoffDate.getTime();
  const grid = options.grid ?? CALIBRATION_GRID;
  const { rule, model } = options;
  const ruleProgram = withLapse(rule);
  const gridPrograms = grid.map(({ factor, minDays }) => withLapse({ ...rule, factor, minDays }));

  const cameBack: boolean[] = [];
  const flags: boolean[] = [];
  const gridFlags: boolean[][] = grid.map(() => []);
  const silence: number[] = [];
  const ratio: number[] = [];
  const churnRisk: number[] = [];
  let unknownHistory = 0;

  for (const customer of customers) {
    const { history, cameBack: came, unknown } = split(customer, cutoff, horizonDays);
    if (unknown) unknownHistory++;
    if (!history) continue;
    const lastStart = dayStart(history.cadence.days.at(-1) as string);
    const lastPurchaseAt = new Date(lastStart).toISOString();
    const silenceDays = (cutoff - lastStart) / DAY_MS;
    cameBack.push(came);
    flags.push(lapsedAt(history, lastPurchaseAt, ruleProgram, cutoff));
    for (let g = 0; g < gridPrograms.length; g++) {
      (gridFlags[g] as boolean[]).push(
        lapsedAt(history, lastPurchaseAt, gridPrograms[g] as Program, cutoff),
      );
    }
    silence.push(silenceDays);
    ratio.push(silenceDays / (typicalGapDays(history.cadence) ?? SINGLE_DAY_GAP_DAYS));
    if (model) {
      const summary = summaryOf(history.cadence, cutoffDate) as CustomerSummary;
      churnRisk.push(pNoPurchase(model, summary, horizonDays / 7));
    }
  }

  const gone = cameBack.map((c) => !c);
  return {
    asOf: asOf.toISOString(),
    cutoff: cutoffDate.toISOString(),
    horizonDays,
    evaluated: cameBack.length,
    cameBack: cameBack.filter(Boolean).length,
    unknownHistory,
    flag: {
      factor: rule.factor,
      minPurchases: rule.minPurchases,
      minDays: rule.minDays,
      ...flagQuality(flags, cameBack),
    },
    auc: {
      silence: auc(silence, gone),
      cadenceRatio: auc(ratio, gone),
      churnRisk: model ? auc(churnRisk, gone) : null,
    },
    grid: grid.map(({ factor, minDays }, g) => ({
      factor,
      minDays,
      ...flagQuality(gridFlags[g] as boolean[], cameBack),
    })),
  };
}
