import { type BgNbdParams, expectedPurchases, pAlive } from './bgnbd.ts';
import type { Cadence } from './cadence.ts';
import { dayStart } from './days.ts';

/** The BG/NBD parameters the lapse-scan job last fitted on the programme's customers. */
export interface ModelParams extends BgNbdParams {
  fittedAt: string;
  customers: number;
  logLikelihood: number;
}

const WEEK_MS = 7 * 86_400_000;

/**
 * A customer in BG/NBD terms, in weeks (the unit of the published CDNOW fit): x repeat
 * purchase days, t_x the time from the first to the last purchase day, T from the first
 * purchase day to `asOf`. Undefined before the first purchase.
 */
export function summaryOf(cadence: Cadence | undefined, asOf: Date) {
  if (!cadence || cadence.days.length === 0) return undefined;
  const first = dayStart(cadence.firstDay);
  const last = dayStart(cadence.days.at(-1) as string);
  return {
    x: cadence.dayCount - 1,
    tx: (last - first) / WEEK_MS,
    T: Math.max((asOf.getTime() - first) / WEEK_MS, (last - first) / WEEK_MS),
  };
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
