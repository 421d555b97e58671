/**
 * The benchmark's workload: CDNOW purchase files (both layouts) or a seeded synthetic
 * workload of the same shape.
 */
import { readFileSync } from 'node:fs';
import { dayKey } from '../../lib/domain/days.ts';
import {
  dollarsToCents,
  type PurchaseRow,
  parseCdnow,
  type Workload,
} from '../../lib/import/cdnow.ts';

// The parsing lives with the importer's CDNOW converter; the benchmarks import it from here.
export {
  dollarsToCents,
  noonUtc,
  type PurchaseRow,
  parseCdnow,
  type Workload,
} from '../../lib/import/cdnow.ts';

/** A CDNOW file (either layout), read and parsed. */
export function loadCdnow(path: string): Workload {
  return parseCdnow(readFileSync(path, 'utf8'), path);
}

/** mulberry32: a small, seeded PRNG with uniform output in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * CDNOW-shaped synthetic purchases: per customer a geometric number of purchases (mean 3,
 * at most 60), log-normal amounts (median $25, sigma 0.8, at least $1), days uniform over
 * the 18 months ending yesterday, a customer's purchases in date order (as in CDNOW files).
 */
export function synthetic(options: { customers: number; seed: number; now?: Date }): Workload {
  const random = prng(options.seed);
  const now = options.now ?? new Date();
  const yesterday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1);
  const first = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 18, now.getUTCDate());
  const days = Math.round((yesterday - first) / 86_400_000) + 1;
  const geometric = (p: number) => 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - p));
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const width = Math.max(5, String(options.customers).length);
  const rows: PurchaseRow[] = [];
  for (let c = 1; c <= options.customers; c++) {
    const customer = String(c).padStart(width, '0');
    const count = Math.min(60, geometric(1 / 3));
    const dates = Array.from({ length: count }, () =>
      dayKey(new Date(first + Math.floor(random() * days) * 86_400_000)),
    ).sort();
    for (const date of dates) {
      const dollars = Math.max(1, Math.exp(Math.log(25) + 0.8 * normal())).toFixed(2);
      rows.push({
        index: rows.length,
        customer,
        date,
        cds: Math.min(20, geometric(0.6)),
        cents: dollarsToCents(dollars),
      });
    }
  }
  return { rows, format: 'synthetic' };
}
