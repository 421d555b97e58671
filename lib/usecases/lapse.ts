import { fitBgNbd } from '../domain/bgnbd.ts';
import { type Cadence, type LapseReason, typicalGapDays, valueAtRisk } from '../domain/cadence.ts';
import type { CustomerState } from '../domain/customer.ts';
import { DAY_MS, isKeepableInstant } from '../domain/days.ts';
import { backtest, HORIZON_DAYS, summariesBefore, trustProblem } from '../domain/lapseQuality.ts';
import { type ModelParams, modelScores, summaryOf } from '../domain/model.ts';
import { money } from '../domain/money.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import { annualSpend } from '../domain/tiers.ts';
import { DomainError, notFound } from '../errors.ts';
import { ID_PATTERN } from '../ids.ts';
import { customerFromItem, getCustomerConsistent } from '../store/customers.ts';
import { keys } from '../store/keys.ts';
import { allLapsed, type LapsedCustomer, lapsedPage, sampleCustomerIds } from '../store/lapsed.ts';
import { getLapseQuality, getModel, putLapseQuality, putModel } from '../store/model.ts';
import { decodeCursor, encodeCursor } from '../store/pagination.ts';
import { getProgram } from '../store/program.ts';
import { batchGet } from '../store/reads.ts';
import { changeCustomers, write } from './change.ts';
import { runJob } from './lifecycle.ts';

/** The model is fitted on at most this many customers (whole shards of the Customers index). */
export const MODEL_SAMPLE = 20_000;
/** Fewer customers with a purchase than this, and there is no model yet. */
export const MODEL_MIN_CUSTOMERS = 30;

export interface LapseScanResult {
  asOf: string;
  flagged: number;
  complete: boolean;
  model: (Omit<ModelParams, 'fittedAt'> & { fittedAt: string }) | null;
}

/**
 * The daily lapse scan: flags the customers the lapse rule says have lapsed by `asOf`
 * (read from the LapseDue index: only those due), then refits the BG/NBD model on a
 * sample of up to MODEL_SAMPLE customers.
 */
export async function runLapseScan(
  asOf: Date,
  options: {
    deadline?: number;
    /** Count who would be flagged; flag nobody and leave the model as it is. */
    dryRun?: boolean;
    shouldStop?: () => boolean;
    pageSize?: number;
  } = {},
): Promise<LapseScanResult> {
  const flagged = await runJob('lapse-scan', asOf, options);
  // The fit and the backtest take seconds to tens of seconds on a large sample: a run with
  // less than FIT_BUDGET_MS left (the route's, after a long flagging) leaves them to the
  // scheduled run, which has minutes.
  const time = options.deadline === undefined || options.deadline - Date.now() > FIT_BUDGET_MS;
  const model =
    flagged.complete && !options.dryRun && time
      ? await fitModel(asOf)
      : ((await getModel()) ?? null);
  return {
    asOf: asOf.toISOString(),
    flagged: flagged.customers,
    complete: flagged.complete,
    model,
  };
}

/** What a run must have left to fit the model and backtest the flag (see runLapseScan). */
export const FIT_BUDGET_MS = 20_000;

/**
 * Fits BG/NBD (weeks) on the sample's customers with a purchase and stores it; then
 * backtests the lapse flag on the same sample (measureLapseQuality).
 */
export async function fitModel(asOf: Date): Promise<ModelParams | null> {
  const ids = await sampleCustomerIds(MODEL_SAMPLE);
  const summaries = [];
  const cadences: Cadence[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const items = await batchGet(ids.slice(i, i + 100).map((id) => keys.customer(id)));
    for (const item of items) {
      const cadence = customerFromItem(item)?.cadence;
      const summary = summaryOf(cadence, asOf);
      if (summary && cadence) {
        summaries.push(summary);
        cadences.push(cadence);
      }
    }
  }
  await measureLapseQuality(cadences, asOf);
  if (summaries.length < MODEL_MIN_CUSTOMERS) return (await getModel()) ?? null;
  const fit = fitBgNbd(summaries);
  const model: ModelParams = {
    ...fit.params,
    logLikelihood: fit.logLikelihood,
    customers: summaries.length,
    // What the trust check reads (model.ts modelTrusted).
    repeatCustomers: summaries.filter((c) => c.x >= 1).length,
    historyDays: Math.round(Math.max(...summaries.map((c) => c.T)) * 7),
    fittedAt: asOf.toISOString(),
  };
  await putModel(model);
  return model;
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

/**
 * What a sorted list orders by, highest first: value at risk (minor units), or churnRisk
 * in millionths (integers, so the cursor holds it exactly; no score sorts last).
 */
const sortKeys = {
  valueAtRisk: (v: LapsedView) => v.valueAtRisk.amount,
  churnRisk: (v: LapsedView) => (v.churnRisk === undefined ? -1 : Math.round(v.churnRisk * 1e6)),
};

type LapsedView = ReturnType<typeof lapsedView>;

/**
 * Lapsed customers, most recently lapsed first; with `sort=valueAtRisk`, by annual spend
 * x (1 - pAlive), highest first (ties by id); with `sort=churnRisk`, by the probability of
 * no purchase in the next 90 days. That order is computed over all lapsed customers (the
 * Lapsed index: lapsed ones only) as of the first page, which the cursor carries with the
 * sort, so later pages continue the same order.
 */
export async function listLapsedCustomers(
  query: { limit: number; cursor?: string; sort?: 'lapsedAt' | 'valueAtRisk' | 'churnRisk' },
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
  const key = sortKeys[sort];
  const after = query.cursor ? decodeRiskCursor(query.cursor, sort) : undefined;
  const asOf = after ? new Date(after.asOf) : now;
  const all = (await allLapsed())
    .map((c) => lapsedView(c, model, program.currency, asOf))
    .sort((x, y) => key(y) - key(x) || x.customerId.localeCompare(y.customerId));
  const startAt = after
    ? all.findIndex(
        (v) => key(v) < after.risk || (key(v) === after.risk && v.customerId > after.id),
      )
    : 0;
  const rest = startAt < 0 ? [] : all.slice(startAt);
  const items = rest.slice(0, query.limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor:
      rest.length > query.limit && last
        ? encodeCursor({
            asOf: asOf.toISOString(),
            ...(sort === 'churnRisk' && { sort }),
            risk: key(last),
            id: last.customerId,
          })
        : null,
  };
}

/** A cursor of this sort (valueAtRisk's carry no `sort`, as before churnRisk existed). */
const decodeRiskCursor = (cursor: string, sort: 'valueAtRisk' | 'churnRisk') =>
  decodeCursor<{ asOf: string; risk: number; id: string; sort?: string }>(
    cursor,
    (v) =>
      (v.sort ?? 'valueAtRisk') === sort &&
      typeof v.asOf === 'string' &&
      isKeepableInstant(Date.parse(v.asOf)) &&
      Number.isSafeInteger(v.risk) &&
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
      if (customer.status !== 'lapsed') {
        throw new DomainError('invalid-state', 'Only a lapsed customer has a lapse reason');
      }
      const change = new PointsChange(customer, program, now);
      change.recordLapseReason(input.reason, input.note);
      return write({
        changes: [change],
        result: { customerId: id, lapsedAt: customer.lapsedAt, ...change.customer.lapseReason },
      });
    },
  });
}

/**
 * The nightly backtest (contract section 13): what the lapse flag in force and the scores
 * said at asOf - 90 days about the sample's customers, against who bought since; the model
 * it scores churnRisk with is fitted on the history before that day only. Stored for GET
 * /v1/reports/lapse-quality, with the reason when the figures are not to be trusted yet.
 */
export async function measureLapseQuality(cadences: Cadence[], asOf: Date): Promise<void> {
  const program = await getProgram();
  const cutoff = new Date(asOf.getTime() - HORIZON_DAYS * DAY_MS);
  const customers = cadences.map((cadence) => ({ cadence }));
  const before = summariesBefore(customers, cutoff);
  const problem =
    trustProblem({
      repeatCustomers: before.filter((c) => c.x >= 1).length,
      historyDays: before.length === 0 ? 0 : Math.max(...before.map((c) => c.T)) * 7,
    }) ?? undefined;
  const model = before.length >= MODEL_MIN_CUSTOMERS ? fitBgNbd(before).params : undefined;
  const result = backtest(customers, asOf, {
    rule: program.lapse,
    ...(model && { model }),
    grid: [],
  });
  const { factor, minDays, precision, recall } = result.flag;
  await putLapseQuality({
    asOf: result.asOf,
    horizonDays: result.horizonDays,
    evaluated: result.evaluated,
    cameBack: result.cameBack,
    flag: problem
      ? { factor, minDays, precision: null, recall: null }
      : { factor, minDays, precision, recall },
    auc: problem ? { silence: null, cadenceRatio: null, churnRisk: null } : result.auc,
    ...(problem && { insufficientData: problem }),
  });
}

/** `GET /v1/reports/lapse-quality`: the last backtest, or why there is none yet. */
export async function lapseQualityReport() {
  const stored = await getLapseQuality();
  if (stored) return stored;
  const program = await getProgram();
  return {
    asOf: null,
    horizonDays: HORIZON_DAYS,
    evaluated: 0,
    cameBack: 0,
    flag: {
      factor: program.lapse.factor,
      minDays: program.lapse.minDays,
      precision: null,
      recall: null,
    },
    auc: { silence: null, cadenceRatio: null, churnRisk: null },
    insufficientData: 'the lapse-scan job has not measured the flag yet (it runs nightly)',
  };
}
