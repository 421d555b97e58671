/**
 * The benchmark's workload: CDNOW purchase files (both layouts) or a seeded synthetic
 * workload of the same shape.
 */
import { readFileSync } from 'node:fs';

export interface PurchaseRow {
  /** Position in the file (0-based): idempotency keys and receipt ids derive from it. */
  index: number;
  /** The CDNOW customer id, used as the customer's externalId. */
  customer: string;
  /** YYYYMMDD */
  date: string;
  cds: number;
  cents: number;
}

export interface Workload {
  rows: PurchaseRow[];
  format: 'CDNOW_sample' | 'CDNOW_master' | 'synthetic';
}

/**
 * "29.33" -> 2933, by string manipulation (no float error); more than two decimals are
 * rounded half away from zero ("0.125" -> 13, "-0.125" -> -13).
 */
export function dollarsToCents(text: string): number {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new Error(`not a dollar amount: ${JSON.stringify(text)}`);
  }
  const [, sign, whole = '', frac = ''] = match;
  const padded = frac.padEnd(3, '0');
  let cents = Number(whole || '0') * 100 + Number(padded.slice(0, 2));
  if (Number(padded[2]) >= 5) cents += 1;
  if (!Number.isSafeInteger(cents)) throw new Error(`amount out of range: ${text}`);
  return sign === '-' && cents !== 0 ? -cents : cents;
}

/** Noon UTC of a YYYYMMDD day, as RFC 3339. */
export function noonUtc(date: string): string {
  const at = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T12:00:00.000Z`);
  if (!/^\d{8}$/.test(date) || Number.isNaN(at.getTime()) || yyyymmdd(at) !== date) {
    throw new Error(`not a YYYYMMDD date: ${date}`);
  }
  return at.toISOString();
}

const yyyymmdd = (at: Date) => at.toISOString().slice(0, 10).replaceAll('-', '');

/**
 * CDNOW_sample.txt lines: `customer_id sample_id YYYYMMDD number_of_cds dollar_value`;
 * CDNOW_master.txt lines: `customer_id YYYYMMDD number_of_cds dollar_value`. The layout is
 * told by the column count; lines not starting with a number (headers) are skipped.
 */
export function parseCdnow(text: string, source = 'input'): Workload {
  const rows: PurchaseRow[] = [];
  let columns: number | undefined;
  const lines = text.split(/\r?\n/);
  for (const [n, line] of lines.entries()) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === '' || !/^\d+$/.test(fields[0] as string)) continue;
    columns ??= fields.length;
    if (fields.length !== columns || (columns !== 4 && columns !== 5)) {
      throw new Error(`${source}:${n + 1}: expected ${columns === 5 ? 5 : 4} columns, got ${line}`);
    }
    const [customer, date, cds, dollars] = (
      columns === 5 ? fields.slice(0, 1).concat(fields.slice(2)) : fields
    ) as [string, string, string, string];
    const cents = dollarsToCents(dollars);
    if (cents < 0)
      throw new Error(`${source}:${n + 1}: negative amount (refunds are not replayed)`);
    noonUtc(date);
    rows.push({ index: rows.length, customer, date, cds: Number(cds), cents });
  }
  if (columns === undefined) throw new Error(`${source}: no purchase lines`);
  return { rows, format: columns === 5 ? 'CDNOW_sample' : 'CDNOW_master' };
}

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
      yyyymmdd(new Date(first + Math.floor(random() * days) * 86_400_000)),
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
