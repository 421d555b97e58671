/**
 * The bulk importer behind `npm run import`: streams customers.csv and purchases.csv into
 * the admin import routes (POST /v1/imports/customers, then POST /v1/imports/purchases) in
 * batches, several at a time, retrying what can be retried with the batch's own
 * Idempotency-Key (and the items a batch answered `service-unavailable` in a batch of their
 * own, before later batches of their customers), and writes the rows that could not be
 * imported to a CSV with the reason.
 * Rerunning the same import is safe: customers come back as `existing`, receipts already
 * recorded as duplicates.
 */
import { inspectCsv } from './csvRows.ts';
import { CUSTOMER_COLUMNS, importCustomers } from './customers.ts';
import type { ImportOptions, ImportSummary } from './options.ts';
import { checkPurchaseColumns, importPurchases, PURCHASE_COLUMNS } from './purchases.ts';
import { RejectedFile } from './rejected.ts';
import { type ImportContext, settingsOf } from './settings.ts';

/**
 * Imports customers.csv, then purchases.csv. Both files are read once up front (row counts
 * for progress, header checks, so a bad file fails before anything is sent). Purchases of
 * one customer reach the API in file order: a batch waits while an earlier batch in flight
 * has a purchase of one of its customers. Throws on anything that is not a row's fault
 * (a refused key, a whole batch refused, the API unreachable after retries).
 */
export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const settings = settingsOf(options);
  const customersCsv = options.customersFile
    ? await inspectCsv(options.customersFile, CUSTOMER_COLUMNS)
    : undefined;
  const purchasesCsv = options.purchasesFile
    ? await inspectCsv(options.purchasesFile, PURCHASE_COLUMNS)
    : undefined;
  if (purchasesCsv) checkPurchaseColumns(purchasesCsv, options.storeId);

  const summary: ImportSummary = {
    customers: { rows: customersCsv?.rows ?? 0, created: 0, existing: 0, rejected: 0 },
    purchases: { rows: purchasesCsv?.rows ?? 0, imported: 0, duplicates: 0, rejected: 0 },
    seconds: 0,
    interrupted: false,
  };
  const rejected = new RejectedFile(options.rejectedFile);
  const context: ImportContext = {
    ...settings,
    rejected,
    customerIds: new Map(),
    programCurrency: undefined,
    heldBack: new Set(),
  };
  try {
    if (customersCsv) {
      summary.interrupted = await importCustomers(context, customersCsv, summary.customers);
    }
    if (purchasesCsv && !summary.interrupted) {
      summary.interrupted = await importPurchases(context, purchasesCsv, summary.purchases);
    }
  } finally {
    rejected.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  if (rejected.count > 0) summary.rejectedFile = options.rejectedFile;
  return summary;
}
