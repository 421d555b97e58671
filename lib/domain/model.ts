import { type BgNbdParams, expectedPurchases, pAlive, pNoPurchase } from './bgnbd.ts';
import type { Cadence } from './cadence.ts';
import { DAY_MS, dayStart } from './days.ts';

/** The BG/NBD parameters the lapse-scan job last fitted on the programme's customers. */
export interface ModelParams extends BgNbdParams {
  fittedAt: string;
  customers: number;
  logLikelihood: number;
  /** Customers of the fit with 2 or more purchase days (absent: fitted before they were kept). */
  repeatCustomers?: number;
  /** Days from the fit's earliest first purchase to the fit. */
  historyDays?: number;
}

/**
 * The model's forward-looking figures are trusted (shown) only when it was
 * fitted on at least 500 customers with 2 or more purchase days and 180 days of history.
 */
export const MODEL_TRUST = { minRepeatCustomers: 500, minHistoryDays: 180 } as const;

export const modelTrusted = (model: ModelParams) =>
  (model.repeatCustomers ?? 0) >= MODEL_TRUST.minRepeatCustomers &&
  (model.historyDays ?? 0) >= MODEL_TRUST.minHistoryDays;

const WEEK_MS = 7 * DAY_MS;

/**
 * A customer in BG/NBD terms, in weeks (the unit of the published CDNOW fit): x repeat
 * purchase days, t_x the time from the first to the last purchase day, T from the first
 * purchase day to `asOf` (whole days). Undefined before the first purchase.
 */
export function summaryOf(cadence: Cadence | undefined, asOf: Date) {
  if (!cadence || cadence.days.length === 0) return undefined;
  const first = dayStart(cadence.firstDay);
  const last = dayStart(cadence.days.at(-1) as string);
  // Whole days (in weeks): customers then share (x, t_x, T) triples, which the fit groups,
  // so its cost follows the distinct triples, not the customers.
  const days = Math.max(Math.floor((asOf.getTime() - first) / DAY_MS), (last - first) / DAY_MS);
  return { x: cadence.dayCount - 1, tx: (last - first) / WEEK_MS, T: days / 7 };
}

/**
 * pAlive, expected purchases in the next 90 days, and churnRisk (the probability of no
 * purchase in the next 90 days); all null without a purchase, without a model, or while
 * the model is not trusted (modelTrusted: its figures are shown only
 * then). Without them a lapsed customer's value at risk is their whole annual spend.
 */
export function modelScores(
  customer: { cadence?: Cadence },
  model: ModelParams | undefined,
  asOf: Date,
): { pAlive: number | null; expectedPurchases90d: number | null; churnRisk: number | null } {
  const summary = summaryOf(customer.cadence, asOf);
  if (!model || !summary || !modelTrusted(model)) {
    return { pAlive: null, expectedPurchases90d: null, churnRisk: null };
  }
  return {
    pAlive: round(pAlive(model, summary), 4),
    expectedPurchases90d: round(expectedPurchases(model, summary, 90 / 7), 3),
    churnRisk: round(pNoPurchase(model, summary, 90 / 7), 4),
  };
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;
