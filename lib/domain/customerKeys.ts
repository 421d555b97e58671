/**
 * The customer as PointsChange writes it: the keys of the item that are derived from the
 * rest of it, recomputed on every write rather than kept up to date by each change. They
 * are when the tier is next reviewed (reviewAt, tiers.ts), when the next birthday falls due
 * (birthdayAt, birthdays.ts) and, for an active customer, the LapseWatch index key
 * (lapseWatch.ts); a key with no value is left off the item, and a legacy lapseDueAt is
 * dropped.
 */
import { nextBirthdayAt } from './birthdays.ts';
import { type Cadence, valueAtRisk } from './cadence.ts';
import type { CustomerState } from './customer.ts';
import { lapseWatchOf } from './lapseWatch.ts';
import { type ModelParams, modelScores } from './model.ts';
import type { Program } from './program.ts';
import { annualSpend, type MonthlySpend, nextReviewAt } from './tiers.ts';

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

/** `customer` at `version`, its derived keys as they stand at `asOf`. */
export function withDerivedKeys(
  customer: CustomerState,
  version: number,
  program: Program,
  asOf: Date,
): CustomerState {
  const { reviewAt: _, lapseDueAt: __, lapseWatch: ____, birthdayAt: ___, ...rest } = customer;
  const c = customer;
  const gone = c.status === 'merged' || c.status === 'erased';
  return {
    ...rest,
    version,
    // A customer merged away or erased is due for nothing: in no due index.
    ...optional('reviewAt', gone ? undefined : nextReviewAt(c.tierId, c.spend, program, asOf)),
    ...optional(
      'birthdayAt',
      c.birthDate === undefined || gone
        ? undefined
        : nextBirthdayAt(c.birthDate, c.birthdayYear, c.createdAt),
    ),
    // The LapseWatch key (lapseWatch.ts); a legacy lapseDueAt is dropped by any write.
    ...optional(
      'lapseWatch',
      c.status === 'active'
        ? lapseWatchOf(c.purchases, c.lastPurchaseAt, c.cadence, program.lapse.minPurchases)
        : undefined,
    ),
  };
}

/**
 * What the lapsed list's two sorted orders rank a lapsed customer by, as integers so an
 * index key and a cursor hold them exactly: the value at risk (minor units: annual spend
 * x (1 - pAlive), the whole annual spend without a trusted model) and churnRisk in
 * millionths (of its 4-decimal figure; -1 without one, so it sorts last). Both move with
 * time (pAlive decays with the silence, months leave the annual window), so the indexes
 * hold them as of `asOf`: the customer's last write or the daily refresh
 * (usecases/lapsedScores.ts). Undefined for a customer not lapsed (merged and erased ones
 * included): they are in neither order.
 */
export function lapsedScores(
  customer: { status: CustomerState['status']; spend?: MonthlySpend; cadence?: Cadence },
  model: ModelParams | undefined,
  asOf: Date,
): { valueAtRisk: number; churnRisk: number } | undefined {
  if (customer.status !== 'lapsed') return undefined;
  const scores = modelScores(customer, model, asOf);
  return {
    valueAtRisk: valueAtRisk(annualSpend(customer.spend ?? {}, asOf), scores.pAlive),
    churnRisk: scores.churnRisk === null ? -1 : Math.round(scores.churnRisk * 1e6),
  };
}
