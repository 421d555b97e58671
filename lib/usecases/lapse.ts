import { fitBgNbd } from '../domain/bgnbd.ts';
import { type Cadence, type LapseReason, typicalGapDays, valueAtRisk } from '../domain/cadence.ts';
import type { CustomerState } from '../domain/customer.ts';
import { DAY_MS, isKeepableInstant } from '../domain/days.ts';
import {
  calibrationChanged,
  type InForce,
  lapseInForce,
  type Measurement,
  programInForce,
  samePair,
  type Thresholds,
} from '../domain/lapseCalibration.ts';
import {
  backtest,
  backtestCutoff,
  HORIZON_DAYS,
  summariesBefore,
  trustProblem,
} from '../domain/lapseQuality.ts';
import { type ModelParams, modelScores, summaryOf } from '../domain/model.ts';
import { money } from '../domain/money.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import type { Program } from '../domain/program.ts';
import { annualSpend } from '../domain/tiers.ts';
import { DomainError, notFound } from '../errors.ts';
import { ID_PATTERN, newId } from '../ids.ts';
import { getCustomerConsistent } from '../store/customers.ts';
import {
  type LapsedCustomer,
  lapsedByRiskPage,
  lapsedPage,
  type RiskSort,
  sampleCustomerIds,
} from '../store/lapsed.ts';
import { getCustomers } from '../store/lookups.ts';
import {
  getLapseQuality,
  getLapseQualityItem,
  getModel,
  getModelItem,
  putLapseQuality,
  putModel,
} from '../store/model.ts';
import { decodeCursor, encodeCursor } from '../store/pagination.ts';
import { getProgram } from '../store/program.ts';
import { changeCustomers, refuseIfErased, write } from './change.ts';
import { runJob } from './jobs.ts';
import { refreshLapsedScores } from './lapsedScores.ts';
import { indexLapseWatch } from './lapseWatchIndex.ts';

/** The model is fitted on at most this many customers (whole shards of the Customers index). */
export const MODEL_SAMPLE = 20_000;

/** The longest history (T, weeks) of the summaries, 0 for none; never spread into arguments. */
const longestHistory = (summaries: readonly { T: number }[]) =>
  summaries.reduce((longest, c) => Math.max(longest, c.T), 0);
/** Fewer customers with a purchase than this, and there is no model yet. */
export const MODEL_MIN_CUSTOMERS = 30;

export interface LapseScanResult {
  asOf: string;
  flagged: number;
  complete: boolean;
  /** Whether this run fitted the model and backtested the flag on the data as it is. */
  fitted: boolean;
  /** Why it did not, when it did not. */
  notFitted?: NotFitted;
  /** The model after the run; `stale` when purchases were imported after its fit began. */
  model: (Omit<ModelParams, 'fittedAt'> & { fittedAt: string; stale: boolean }) | null;
  /** The thresholds the run flagged by at its end (lapseCalibration.ts). */
  thresholds: { factor: number; minDays: number; source: 'fixed' | 'calibrated' };
}

/** Why a lapse scan left the model and the quality report as they were. */
export type NotFitted =
  /** Asked to change nothing. */
  | 'dry-run'
  /** The flagging stopped at the run's time budget; the next run carries on, then fits. */
  | 'incomplete'
  /** Less than FIT_BUDGET_MS left after the flagging: the scheduled run fits. */
  | 'no-time'
  /**
   * asOf lies more than PAST_AS_OF_MS before the run: the customers kept now hold
   * purchases made after it, so a model and a backtest of then would use what was not
   * known then; the live model and report stay as they are.
   */
  | 'past-as-of'
  /** Fewer than MODEL_MIN_CUSTOMERS customers with a purchase: no model yet. */
  | 'too-few-customers';

/** How far before the run's clock an asOf is "in the past" (the future rule's 5 minutes). */
export const PAST_AS_OF_MS = 5 * 60_000;

/**
 * The daily lapse scan: moves customers stored before the LapseWatch index into it (once),
 * flags the customers the lapse rule says have lapsed by `asOf` under the thresholds in
 * force (read from the LapseWatch index: only those due), then refits the BG/NBD model on
 * a sample of up to MODEL_SAMPLE customers and backtests the flag on it. When the backtest
 * changes the thresholds in force (calibrated mode), it flags again by the new ones, so
 * the change reaches every customer in this run. A run as of the past flags, but fits and
 * measures nothing (NotFitted 'past-as-of'); the answer says whether this run fitted.
 */
export async function runLapseScan(
  asOf: Date,
  options: {
    deadline?: number;
    /** Count who would be flagged; flag nobody and leave the model as it is. */
    dryRun?: boolean;
    shouldStop?: () => boolean;
    pageSize?: number;
    /** The clock events and ledger entries are written at (tests). */
    clock?: () => Date;
  } = {},
): Promise<LapseScanResult> {
  const [program, measurement] = await Promise.all([getProgram(), getLapseQuality()]);
  const indexed =
    options.dryRun || (await indexLapseWatch(program.lapse.minPurchases, options.deadline));
  let thresholds = lapseInForce(program, measurement as Measurement | undefined);
  const flag = async () =>
    runJob('lapse-scan', asOf, { ...options, program: programInForce(program, thresholds) });
  const flagged = await flag();
  let { customers, complete } = flagged;
  complete &&= indexed;
  // The fit and the backtest take seconds to tens of seconds on a large sample: a run with
  // less than FIT_BUDGET_MS left (the route's, after a long flagging) leaves them to the
  // scheduled run, which has minutes.
  const time = options.deadline === undefined || options.deadline - Date.now() > FIT_BUDGET_MS;
  const now = options.clock?.() ?? new Date();
  const past = asOf.getTime() < now.getTime() - PAST_AS_OF_MS;
  let notFitted: NotFitted | undefined = options.dryRun
    ? 'dry-run'
    : past
      ? 'past-as-of'
      : !complete
        ? 'incomplete'
        : !time
          ? 'no-time'
          : undefined;
  if (notFitted === undefined) {
    const fitted = await fitModel(asOf, options.clock?.());
    if (!fitted.fitted) notFitted = 'too-few-customers';
    if (!samePair(fitted.thresholds, thresholds)) {
      thresholds = fitted.thresholds;
      const again = await flag();
      customers += again.customers;
      complete = again.complete;
    } else thresholds = fitted.thresholds;
  }
  // The lapsed list's sorted orders, rescored by the model now in force (lapsedScores.ts);
  // what the deadline leaves undone, the next run goes on with (a scheduled run at once:
  // the answer is then not complete).
  if (!options.dryRun) {
    complete &&= await refreshLapsedScores({
      ...(options.deadline !== undefined && { deadline: options.deadline }),
      ...(options.shouldStop && { shouldStop: options.shouldStop }),
      ...(options.clock && { clock: options.clock }),
    });
  }
  const { model, stale } = await getModelItem();
  return {
    asOf: asOf.toISOString(),
    flagged: customers,
    complete,
    fitted: notFitted === undefined,
    ...(notFitted !== undefined && { notFitted }),
    model: model ? { ...model, stale } : null,
    thresholds: {
      factor: thresholds.factor,
      minDays: thresholds.minDays,
      source: thresholds.source,
    },
  };
}

/** A customer as the backtest reads them: the cadence and purchases kept on their item. */
export interface KeptHistory {
  cadence: Cadence;
  /** The customer's purchases ever (its `purchases`). */
  purchaseCount?: number;
}

/** What a run must have left to fit the model and backtest the flag (see runLapseScan). */
export const FIT_BUDGET_MS = 20_000;

/**
 * Fits BG/NBD (weeks) on the sample's customers with a purchase and stores it, with the
 * import batches seen before reading them (so one that lands during the fit leaves the
 * model stale); then backtests the lapse flag on the same sample (measureLapseQuality).
 * Returns the model, whether this call fitted it (not below MODEL_MIN_CUSTOMERS), and the
 * thresholds in force after the backtest.
 */
export async function fitModel(
  asOf: Date,
  now = new Date(),
): Promise<{ model: ModelParams | null; fitted: boolean; thresholds: Thresholds }> {
  const { imports } = await getModelItem();
  const ids = await sampleCustomerIds(MODEL_SAMPLE);
  const summaries = [];
  const customers: KeptHistory[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    for (const customer of await getCustomers(ids.slice(i, i + 100))) {
      const cadence = customer.cadence;
      const summary = summaryOf(cadence, asOf);
      if (summary && cadence) {
        summaries.push(summary);
        customers.push({ cadence, purchaseCount: customer.purchases });
      }
    }
  }
  const { after: thresholds } = await measureLapseQuality(customers, asOf, now);
  if (summaries.length < MODEL_MIN_CUSTOMERS) {
    return { model: (await getModel()) ?? null, fitted: false, thresholds };
  }
  const fit = fitBgNbd(summaries);
  const model: ModelParams = {
    ...fit.params,
    logLikelihood: fit.logLikelihood,
    customers: summaries.length,
    // What the trust check reads (model.ts modelTrusted).
    repeatCustomers: summaries.filter((c) => c.x >= 1).length,
    historyDays: Math.round(longestHistory(summaries) * 7),
    fittedAt: asOf.toISOString(),
  };
  await putModel(model, imports);
  return { model, fitted: true, thresholds };
}

/** A lapsed customer as the list shows it. */
function lapsedView(
  c: LapsedCustomer,
  model: ModelParams | undefined,
  currency: string,
  now: Date,
) {
  const spend = annualSpend(c.spend ?? {}, now);
  const scores = modelScores(c, model, now);
  const risk = valueAtRisk(spend, scores.pAlive);
  return {
    customerId: c.id,
    lastPurchaseAt: c.lastPurchaseAt ?? null,
    typicalGapDays: typicalGapDays(c.cadence),
    daysSinceLastPurchase: c.lastPurchaseAt
      ? Math.floor((now.getTime() - Date.parse(c.lastPurchaseAt)) / DAY_MS)
      : null,
    lapsedAt: c.lapsedAt,
    annualSpend: money(spend, currency),
    valueAtRisk: money(risk, currency),
    ...(c.lapseReason && { reason: c.lapseReason.reason }),
    ...(c.lapseReason?.note !== undefined && { note: c.lapseReason.note }),
    ...(scores.pAlive !== null && { pAlive: scores.pAlive }),
    ...(scores.expectedPurchases90d !== null && {
      expectedPurchases90d: scores.expectedPurchases90d,
    }),
    ...(scores.churnRisk !== null && { churnRisk: scores.churnRisk }),
  };
}

type LapsedView = ReturnType<typeof lapsedView>;

/**
 * Lapsed customers, most recently lapsed first; with `sort=valueAtRisk`, by annual spend
 * x (1 - pAlive), highest first (ties by id); with `sort=churnRisk`, by the probability of
 * no purchase in the next 90 days (none last). A sorted page is read from the heads of
 * the order's shards (store/lapsed.ts lapsedByRiskPage), whatever the number of lapsed
 * customers; the order is by the scores as of each customer's last write or the daily
 * refresh (usecases/lapsedScores.ts), while the figures shown are as of now. The cursor
 * holds the last customer's score and id there.
 */
export async function listLapsedCustomers(
  query: { limit: number; cursor?: string; sort?: 'lapsedAt' | RiskSort },
  now = new Date(),
): Promise<{ items: LapsedView[]; nextCursor: string | null }> {
  const [program, model] = await Promise.all([getProgram(), getModel()]);
  if (query.sort === undefined || query.sort === 'lapsedAt') {
    const page = await lapsedPage(query.limit, query.cursor);
    return {
      items: page.items.map((c) => lapsedView(c, model, program.currency, now)),
      nextCursor: page.nextCursor,
    };
  }
  const sort = query.sort;
  const after = query.cursor ? decodeRiskCursor(query.cursor, sort) : undefined;
  const page = await lapsedByRiskPage(
    sort,
    query.limit,
    after && { score: after.risk, id: after.id },
  );
  const last = page.items.at(-1);
  return {
    items: page.items.map((c) => lapsedView(c, model, program.currency, now)),
    nextCursor:
      page.more && last
        ? encodeCursor({
            ...(sort === 'churnRisk' && { sort }),
            risk: last.score,
            id: last.id,
          })
        : null,
  };
}

/**
 * A cursor of this sort (valueAtRisk's carry no `sort`, as before churnRisk existed; the
 * `asOf` of cursors issued before the sorted orders were stored is accepted and unused).
 */
const decodeRiskCursor = (cursor: string, sort: RiskSort) =>
  decodeCursor<{ risk: number; id: string; sort?: string }>(
    cursor,
    (v) =>
      (v.sort ?? 'valueAtRisk') === sort &&
      (v.asOf === undefined ||
        (typeof v.asOf === 'string' && isKeepableInstant(Date.parse(v.asOf)))) &&
      Number.isSafeInteger(v.risk) &&
      (v.risk as number) >= -1 &&
      typeof v.id === 'string' &&
      ID_PATTERN.test(v.id),
  );

/** Records what the win-back call learned; the customer must be lapsed (409 otherwise). */
export async function recordLapseReason(
  id: string,
  input: { reason: LapseReason; note?: string | undefined },
  now = new Date(),
) {
  const program = await getProgram();
  return changeCustomers({
    clock: () => now,
    attempt: async () => {
      const customer: CustomerState | undefined = await getCustomerConsistent(id);
      if (!customer) throw notFound('Customer');
      refuseIfErased(customer);
      if (customer.status !== 'lapsed') {
        throw new DomainError('invalid-state', 'Only a lapsed customer has a lapse reason');
      }
      const change = new PointsChange(customer, program, now);
      change.recordLapseReason(input.reason, input.note);
      return write({
        changes: [change],
        result: {
          customerId: customer.id,
          lapsedAt: customer.lapsedAt,
          ...change.customer.lapseReason,
        },
      });
    },
  });
}

/**
 * The nightly backtest (GET /v1/reports/lapse-quality): what the lapse flag and the scores said at
 * the start of the UTC day 90 days before asOf's (backtestCutoff) about the sample's customers, against who bought since; the model it
 * scores churnRisk with is fitted on the history before that day only. It judges the
 * program's own thresholds and every pair of the calibration grid, so calibrated mode can
 * choose (lapseCalibration.ts). Stored for GET /v1/reports/lapse-quality with the reason
 * when the figures are not to be trusted yet; when the thresholds in force change with
 * calibration, a `program.lapse-calibrated` event is written in the same transaction.
 * Returns the thresholds in force before and after.
 */
export async function measureLapseQuality(
  customers: readonly KeptHistory[],
  asOf: Date,
  now = new Date(),
): Promise<{ before: Thresholds; after: Thresholds }> {
  const [program, { report: previous, runs }] = await Promise.all([
    getProgram(),
    getLapseQualityItem(),
  ]);
  const before = lapseInForce(program, previous as Measurement | undefined);
  const cutoff = backtestCutoff(asOf);
  const summaries = summariesBefore(customers, cutoff);
  const problem =
    trustProblem({
      repeatCustomers: summaries.filter((c) => c.x >= 1).length,
      historyDays: longestHistory(summaries) * 7,
    }) ?? undefined;
  const model = summaries.length >= MODEL_MIN_CUSTOMERS ? fitBgNbd(summaries).params : undefined;
  const result = backtest(customers, asOf, { rule: program.lapse, ...(model && { model }) });
  const { factor, minDays, precision, recall, flagged } = result.flag;
  const measurement = {
    asOf: result.asOf,
    horizonDays: result.horizonDays,
    evaluated: result.evaluated,
    cameBack: result.cameBack,
    flag: problem
      ? { factor, minDays, precision: null, recall: null }
      : { factor, minDays, precision, recall, flagged },
    auc: problem ? { silence: null, cadenceRatio: null, churnRisk: null } : result.auc,
    ...(problem ? { insufficientData: problem } : { grid: result.grid }),
  };
  const after = lapseInForce(program, measurement as Measurement);
  // What the last run left in force (a merchant's own change since shows as the previous);
  // before any run stored one, the program's own pair.
  const last: InForce = (previous as Measurement | undefined)?.inForce ?? {
    factor: program.lapse.factor,
    minDays: program.lapse.minDays,
    source: 'fixed',
  };
  const inForce: InForce = { factor: after.factor, minDays: after.minDays, source: after.source };
  const changed = calibrationChanged(last, after);
  // Of two overlapping runs, the first to store records the change; the other stores
  // nothing and goes on with what the first stored.
  const stored = await putLapseQuality(
    { ...measurement, inForce },
    changed ? calibratedEvent(now, program, last, after) : undefined,
    runs,
  );
  if (!stored) {
    const { report } = await getLapseQualityItem();
    return { before, after: lapseInForce(program, report as Measurement | undefined) };
  }
  return { before, after };
}

/** The `program.lapse-calibrated` event: the pair now in force and the one before. */
function calibratedEvent(now: Date, program: Program, previous: InForce, after: Thresholds) {
  return {
    id: newId('evt', now.getTime()),
    type: 'program.lapse-calibrated' as const,
    at: now.toISOString(),
    customerId: null,
    data: {
      factor: after.factor,
      minDays: after.minDays,
      source: after.source,
      targetPrecision: program.lapse.targetPrecision,
      backtest: after.measured
        ? { precision: after.measured.precision, recall: after.measured.recall }
        : null,
      ...(after.fallbackReason !== undefined && { fallbackReason: after.fallbackReason }),
      previous: { factor: previous.factor, minDays: previous.minDays, source: previous.source },
    },
  };
}

/** What measureLapseQuality stores besides what calibration reads (Measurement). */
interface StoredQuality {
  asOf: string;
  horizonDays: number;
  evaluated: number;
  cameBack: number;
  auc: { silence: number | null; cadenceRatio: number | null; churnRisk: number | null };
}

/** A share as the report shows it: 4 decimal places, null when unmeasured. */
const share = (x: number | null | undefined) =>
  x === null || x === undefined ? null : Math.round(x * 10_000) / 10_000;

/**
 * `GET /v1/reports/lapse-quality`: the last backtest, with the thresholds in force now
 * (the program's, or calibration's) and their figures; or why there is none yet.
 */
export async function lapseQualityReport() {
  const [stored, program] = await Promise.all([getLapseQuality(), getProgram()]);
  const measurement = stored as (Measurement & StoredQuality) | undefined;
  const thresholds = lapseInForce(program, measurement);
  const fixed = lapseInForce(
    { ...program, lapse: { ...program.lapse, mode: 'fixed' } },
    measurement,
  );
  const calibration = {
    mode: program.lapse.mode,
    targetPrecision: program.lapse.targetPrecision,
    source: thresholds.source,
    ...(thresholds.fallbackReason !== undefined && {
      fallbackReason: thresholds.fallbackReason,
    }),
    fixed: {
      factor: fixed.factor,
      minDays: fixed.minDays,
      precision: share(fixed.measured?.precision),
      recall: share(fixed.measured?.recall),
    },
  };
  const flag = {
    factor: thresholds.factor,
    minDays: thresholds.minDays,
    precision: share(thresholds.measured?.precision),
    recall: share(thresholds.measured?.recall),
  };
  if (measurement) {
    const { asOf, horizonDays, evaluated, cameBack, auc, insufficientData } = measurement;
    return {
      asOf,
      horizonDays,
      evaluated,
      cameBack,
      flag,
      auc: {
        silence: share(auc.silence),
        cadenceRatio: share(auc.cadenceRatio),
        churnRisk: share(auc.churnRisk),
      },
      ...(insufficientData !== undefined && { insufficientData }),
      calibration,
    };
  }
  return {
    asOf: null,
    horizonDays: HORIZON_DAYS,
    evaluated: 0,
    cameBack: 0,
    flag,
    auc: { silence: null, cadenceRatio: null, churnRisk: null },
    insufficientData: 'the lapse-scan job has not measured the flag yet (it runs nightly)',
    calibration,
  };
}
