/**
 * The purchases phase: purchases.csv's columns, its rows' customers found by externalId,
 * the rows made into items and imported.
 */
import { type Entry, entryOf, sendPhase } from './batches.ts';
import { type CheckedCsv, cell, chunksOf, rowsOf, type SourceRow, wholeNumber } from './csvRows.ts';
import { fetchProgramCurrency, lookUpCustomer } from './http.ts';
import type { ImportSummary } from './options.ts';
import { phaseProgress } from './progress.ts';
import type { ImportContext } from './settings.ts';

/** The columns purchases.csv may have (any subset, in any order; some are required). */
export const PURCHASE_COLUMNS = [
  'customerExternalId',
  'customerId',
  'storeId',
  'receiptId',
  'occurredAt',
  'amount',
  'currency',
] as const;

/** What purchases.csv must have besides optional columns, checked before anything is sent. */
export function checkPurchaseColumns(csv: CheckedCsv, storeId: string | undefined): void {
  const has = (column: string) => csv.columns.includes(column);
  const missing = [
    !has('customerExternalId') && !has('customerId') && 'customerExternalId or customerId',
    !has('storeId') && storeId === undefined && 'storeId (or give a store for every row)',
    !has('receiptId') && 'receiptId',
    !has('occurredAt') && 'occurredAt',
    !has('amount') && 'amount',
  ].filter((column) => column !== false);
  if (missing.length > 0) throw new Error(`${csv.file}: missing column ${missing.join(', ')}`);
}

/** An item of POST /v1/imports/purchases. */
interface PurchaseItem {
  customerId: string;
  storeId: string;
  receiptId: string;
  occurredAt: string;
  total: { amount: number; currency: string };
}

/**
 * Imports purchases.csv. Rows are read a batch's worth at a time, so the externalIds the
 * customers phase did not learn are looked up together (GET /v1/customers?externalId=,
 * once each) before their rows are made into items.
 */
export async function importPurchases(
  context: ImportContext,
  csv: CheckedCsv,
  counts: ImportSummary['purchases'],
): Promise<boolean> {
  const progress = phaseProgress(context, 'purchases', csv.rows, counts);
  const path = '/v1/imports/purchases';
  const reject = (row: SourceRow, code: string, detail: string) => {
    context.rejected.add(row, code, detail);
    counts.rejected++;
    progress.add(1);
  };
  async function* entries(): AsyncGenerator<Entry<PurchaseItem>> {
    for await (const rows of chunksOf(rowsOf(csv), context.batchSize)) {
      if (context.signal?.aborted) return;
      await lookUpCustomers(context, rows);
      const currency = rows.some((row) => cell(row, 'currency') === undefined)
        ? await programCurrency(context)
        : '';
      for (const row of rows) {
        const item = purchaseItem(row, context, currency);
        if ('code' in item) reject(row, item.code, item.detail);
        else yield item;
      }
    }
  }
  return sendPhase(context, progress, path, entries(), counts, (_batch, body) => {
    const answer = body as { imported?: unknown; duplicates?: unknown };
    if (typeof answer.imported !== 'number' || typeof answer.duplicates !== 'number') {
      throw new Error(`POST ${path}: unexpected answer ${JSON.stringify(body)}`);
    }
    counts.imported += answer.imported;
    counts.duplicates += answer.duplicates;
  });
}

/** Looks up, a few at a time, the externalIds of `rows` not known yet; remembers the answers. */
async function lookUpCustomers(context: ImportContext, rows: SourceRow[]): Promise<void> {
  const unknown = [
    ...new Set(
      rows.flatMap((row) => {
        const externalId = cell(row, 'customerExternalId');
        return externalId !== undefined && !context.customerIds.has(externalId) ? [externalId] : [];
      }),
    ),
  ];
  const next = () => unknown.pop();
  const worker = async () => {
    for (let externalId = next(); externalId !== undefined; externalId = next()) {
      context.customerIds.set(externalId, await lookUpCustomer(context.connection, externalId));
    }
  };
  await Promise.all(Array.from({ length: context.concurrency }, worker));
}

function programCurrency(context: ImportContext): Promise<string> {
  context.programCurrency ??= fetchProgramCurrency(context.connection);
  return context.programCurrency;
}

/**
 * A purchases.csv row as an entry, or why it cannot be one. `currency` is the default for
 * rows without one. A YYYY-MM-DD occurredAt means noon UTC that day; other values go as
 * written, for the API to judge.
 */
function purchaseItem(
  row: SourceRow,
  context: ImportContext,
  currency: string,
): Entry<PurchaseItem> | { code: string; detail: string } {
  const invalid = (detail: string) => ({ code: 'validation-failed', detail });
  if (row.problem) return invalid(row.problem);
  const customer = customerIdOf(row, context.customerIds);
  if (typeof customer !== 'string') return customer;
  const storeId = cell(row, 'storeId') ?? context.storeId;
  const receiptId = cell(row, 'receiptId');
  const occurredAt = cell(row, 'occurredAt');
  const amountText = cell(row, 'amount');
  if (storeId === undefined) return invalid('no storeId (and no store given for every row)');
  if (receiptId === undefined) return invalid('no receiptId');
  if (occurredAt === undefined) return invalid('no occurredAt');
  if (amountText === undefined) return invalid('no amount');
  const amount = wholeNumber(amountText);
  if (amount === undefined) {
    return invalid(`amount ${JSON.stringify(amountText)} is not a whole number of minor units`);
  }
  const at = instantOf(occurredAt);
  if (at === undefined) return invalid(`occurredAt ${occurredAt} is not a real YYYY-MM-DD day`);
  const total = { amount, currency: cell(row, 'currency') ?? currency };
  return entryOf(
    row,
    { customerId: customer, storeId, receiptId, occurredAt: at, total },
    customer,
  );
}

/** The row's customer id: its customerId, or its customerExternalId's; else a rejection. */
function customerIdOf(
  row: SourceRow,
  customerIds: Map<string, string | null>,
): string | { code: string; detail: string } {
  const customerId = cell(row, 'customerId');
  const externalId = cell(row, 'customerExternalId');
  if (customerId !== undefined && externalId !== undefined) {
    return { code: 'validation-failed', detail: 'give customerId or customerExternalId, not both' };
  }
  if (customerId !== undefined) return customerId;
  if (externalId === undefined) {
    return { code: 'validation-failed', detail: 'no customerExternalId or customerId' };
  }
  const found = customerIds.get(externalId);
  if (typeof found === 'string') return found;
  return { code: 'not-found', detail: `no customer has externalId ${externalId}` };
}

/** "YYYY-MM-DD" -> noon UTC that day (undefined if no such day); anything else as it is. */
function instantOf(occurredAt: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(occurredAt)) return occurredAt;
  const noon = new Date(`${occurredAt}T12:00:00.000Z`);
  if (Number.isNaN(noon.getTime()) || noon.toISOString().slice(0, 10) !== occurredAt) {
    return undefined;
  }
  return noon.toISOString();
}
