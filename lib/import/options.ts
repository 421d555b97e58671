/**
 * The importer's public types: what `runImport` is given (ImportOptions), what it reports
 * as it goes (ImportProgress), and what it did (ImportSummary).
 */

/** What `runImport` is to import, where to, and how. */
export interface ImportOptions {
  /** The API's base URL, e.g. http://127.0.0.1:3000 (a trailing /v1 is allowed). */
  url: string;
  /** An admin API key. */
  key: string;
  customersFile?: string;
  purchasesFile?: string;
  /** The store of purchases.csv rows without a storeId cell. */
  storeId?: string;
  /** Rows per request: default and most 500. */
  batchSize?: number;
  /** Requests in flight at once: default 4. */
  concurrency?: number;
  /** Where rejected rows are written (created only when a row is rejected). */
  rejectedFile: string;
  /** Once aborted, no new batch is sent; batches in flight finish and are counted. */
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
}

/** Where an import stands: rows done (answered or rejected) of the phase's total. */
export interface ImportProgress {
  phase: 'customers' | 'purchases';
  done: number;
  total: number;
  rejected: number;
}

/** What an import did. */
export interface ImportSummary {
  customers: { rows: number; created: number; existing: number; rejected: number };
  purchases: { rows: number; imported: number; duplicates: number; rejected: number };
  seconds: number;
  /** Stopped by the signal before every row was sent: rerun the same import to finish. */
  interrupted: boolean;
  /** The file rejected rows were written to, when any were. */
  rejectedFile?: string;
}
