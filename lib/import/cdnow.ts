/**
 * CDNOW purchase files (both layouts): parsing, and their conversion to the import CSVs
 * (customers.csv, purchases.csv) that `npm run import` reads. The benchmark's workload
 * (test/bench/workload.ts) parses them with the same functions.
 */
import { stringify } from 'csv-stringify/sync';
import { DAY_MS, dayKey, dayStart } from '../domain/days.ts';

/** One CDNOW purchase line. */
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

/** A file's purchases, in file order, and which layout (or generator) they came from. */
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
  if (!/^\d{8}$/.test(date) || Number.isNaN(at.getTime()) || dayKey(at) !== date) {
    throw new Error(`not a YYYYMMDD date: ${date}`);
  }
  return at.toISOString();
}

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

/** A workload written as the two import CSVs, and what they hold. */
export interface CdnowCsv {
  /** `externalId` header, one row per distinct CDNOW customer id, in first-seen order. */
  customersCsv: string;
  /** `customerExternalId,receiptId,occurredAt,amount,currency` header, one row per purchase. */
  purchasesCsv: string;
  customers: number;
  purchases: number;
  /** The first and last purchase days written, YYYY-MM-DD (after any shift). */
  firstDay: string;
  lastDay: string;
  /** Whole days every date moved by (0 without `ending`). */
  shiftDays: number;
}

/**
 * Writes a CDNOW workload as import CSVs: receipt ids `cdnow-<n>` (n the purchase's 1-based
 * position among purchase lines, so a rerun finds them again), purchases at noon UTC, amounts
 * in cents, currency USD. With `ending` (YYYY-MM-DD) every date moves by the same whole number
 * of days so the last purchase falls on that day: real histories made recent, so the lapse
 * model has something to say about them today.
 */
export function cdnowToCsv(workload: Workload, options: { ending?: string } = {}): CdnowCsv {
  if (workload.rows.length === 0) throw new Error('no purchases to convert');
  const days = workload.rows.map((row) => row.date).sort();
  const first = days[0] as string;
  const last = days[days.length - 1] as string;
  const shiftDays =
    options.ending === undefined ? 0 : daysBetween(last, compactDay(options.ending));
  const shifted = (date: string) => new Date(Date.parse(noonUtc(date)) + shiftDays * DAY_MS);
  const customers = [...new Set(workload.rows.map((row) => row.customer))];
  const purchases = workload.rows.map((row) => [
    row.customer,
    `cdnow-${row.index + 1}`,
    shifted(row.date).toISOString(),
    String(row.cents),
    'USD',
  ]);
  return {
    customersCsv: stringify([['externalId'], ...customers.map((id) => [id])]),
    purchasesCsv: stringify([
      ['customerExternalId', 'receiptId', 'occurredAt', 'amount', 'currency'],
      ...purchases,
    ]),
    customers: customers.length,
    purchases: purchases.length,
    firstDay: shifted(first).toISOString().slice(0, 10),
    lastDay: shifted(last).toISOString().slice(0, 10),
    shiftDays,
  };
}

/** "YYYY-MM-DD" -> "YYYYMMDD", refusing anything that is not a real calendar day. */
function compactDay(day: string): string {
  const compact = day.replaceAll('-', '');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || dayKey(new Date(dayStart(compact))) !== compact) {
    throw new Error(`not a YYYY-MM-DD date: ${day}`);
  }
  return compact;
}

/** Whole days from one YYYYMMDD day to another (negative when `to` is earlier). */
const daysBetween = (from: string, to: string): number =>
  Math.round((dayStart(to) - dayStart(from)) / DAY_MS);
