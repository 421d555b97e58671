import { type BgNbdParams, expectedPurchases, pAlive } from './bgnbd.ts';
import type { Cadence } from './cadence.ts';
import { DAY_MS, dayStart } from './days.ts';

/** The BG/NBD parameters the lapse-scan job last fitted on the programme's customers. */
export interface ModelParams extends BgNbdParams {
  fittedAt: string;
  customers: number;
  logLikelihood: number;
}

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

/** pAlive and expected purchases in the next 90 days; null without a model or a purchase. */
export function modelScores(
  customer: { cadence?: Cadence },
  model: ModelParams | undefined,
  asOf: Date,
): { pAlive: number | null; expectedPurchases90d: number | null } {
  const summary = summaryOf(customer.cadence, asOf);
  if (!model || !summary) return { pAlive: null, expectedPurchases90d: null };
  return {
    pAlive: round(pAlive(model, summary), 4),
    expectedPurchases90d: round(expectedPurchases(model, summary, 90 / 7), 3),
  };
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;
