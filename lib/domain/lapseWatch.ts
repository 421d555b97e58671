import { type Cadence, lapseThresholdMs, typicalGapDays } from './cadence.ts';
import type { Program } from './program.ts';

/**
 * How the lapse-scan job finds the customers due without its thresholds in the index key,
 * so a change of `lapse.factor` or `lapse.minDays` (by the merchant, or by calibration)
 * reaches every customer at the next run with no write to any of them.
 *
 * The lapse rule (cadence.ts): lapsed at T when T - lastPurchaseAt > max(minDays, factor x gap).
 * A key of "when due" would bake the thresholds in, and a change would have to rewrite
 * every active customer. Instead the LapseWatch index keeps each customer under
 * `<bucket>#<lastPurchaseAt>#<gap x 2>#<purchases>`: the bucket is a band of typical gaps
 * a quarter-octave wide (gaps from 6.73 up to 8 days share one), and within it customers sort by
 * their last purchase. For a band whose smallest gap is g0, every customer lapsed at T has
 * lastPurchaseAt < T - max(minDays, factor x g0): one Query per band and shard, with the
 * thresholds applied in the bound. The Query also returns customers of the band whose own
 * gap is larger and who are not due yet; their exact gap and purchases are in the key, so
 * they are dropped from the key alone, without reading the customer (their index entries
 * cost a few bytes each, for at most a fifth of their threshold).
 *
 * `lapse.minPurchases` decides who is in the index at all (the one-time buyers, most of a
 * shop's customers, are not), so a change to it reaches a customer at their next change;
 * a customer in the index below a raised minPurchases is dropped from it by the job.
 */

/** Bands per doubling of the gap. */
const BANDS_PER_OCTAVE = 4;
/** Bands of gaps from 1 day up to 2^12 = 4,096 days (the last band is open-ended). */
const OCTAVES = 12;

/**
 * The smallest gap of each band: band 0 holds the customers with no gap yet (every
 * purchase on one day: the threshold is minDays), band k >= 1 the gaps from 2^((k-1)/4)
 * days up to the next band's. Gaps are whole or half days of at least 1.
 */
export const BAND_FLOORS: readonly number[] = [
  0,
  ...Array.from({ length: OCTAVES * BANDS_PER_OCTAVE + 1 }, (_, k) => 2 ** (k / BANDS_PER_OCTAVE)),
];

/** The band of a typical gap (null: no gap yet): the last whose floor is at most the gap. */
export function bandOf(gap: number | null): number {
  if (gap === null || gap < 1) return 0;
  let lo = 1;
  let hi = BAND_FLOORS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((BAND_FLOORS[mid] as number) <= gap) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const bandCode = (band: number) => String(band).padStart(2, '0');

/**
 * The LapseWatch sort key of an active customer, or undefined when the rule cannot apply
 * (no purchase, or fewer than `minPurchases` purchases).
 */
export function lapseWatchOf(
  purchases: number,
  lastPurchaseAt: string | undefined,
  cadence: Cadence | undefined,
  minPurchases: number,
): string | undefined {
  if (lastPurchaseAt === undefined || purchases < minPurchases) return undefined;
  const gap = typicalGapDays(cadence);
  return `${bandCode(bandOf(gap))}#${lastPurchaseAt}#${gap === null ? 0 : gap * 2}#${purchases}`;
}

/** What a LapseWatch key says of its customer. */
export interface Watched {
  lastPurchaseAt: string;
  /** The typical gap in days (0: no gap yet). */
  gap: number;
  purchases: number;
}

export function parseLapseWatch(key: string): Watched | undefined {
  const [, lastPurchaseAt, gap2, purchases] = key.split('#');
  const gap = Number(gap2) / 2;
  const count = Number(purchases);
  if (lastPurchaseAt === undefined || !Number.isFinite(gap) || !Number.isSafeInteger(count)) {
    return undefined;
  }
  return { lastPurchaseAt, gap, purchases: count };
}

/**
 * The key range of one band that can hold customers lapsed at `asOf` under `rule`: last
 * purchase at or before asOf - the threshold of the band's smallest gap (rounded up to the
 * millisecond, as lapseDueAt rounds) - 1 ms. Null when no instant is that early.
 */
export function bandRange(
  band: number,
  asOf: Date,
  rule: Pick<Program['lapse'], 'factor' | 'minDays'>,
): { from: string; to: string } | null {
  const latest = asOf.getTime() - lapseThresholdMs(BAND_FLOORS[band] as number, rule) - 1;
  if (latest < 0) return null;
  const code = bandCode(band);
  // '~' sorts after the digits of the gap and purchases that follow the instant.
  return { from: `${code}#`, to: `${code}#${new Date(latest).toISOString()}#~` };
}

/** Whether the customer a key describes is lapsed at `asOf` under `rule` (lapseDueAt < asOf). */
export function watchedLapsed(watched: Watched, asOf: Date, rule: Program['lapse']): boolean {
  if (watched.purchases < rule.minPurchases) return false;
  return Date.parse(watched.lastPurchaseAt) + lapseThresholdMs(watched.gap, rule) < asOf.getTime();
}
