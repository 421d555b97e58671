/**
 * The import's settings (its options checked and completed with their defaults), and the
 * context its two phases share.
 */
import type { Connection } from './http.ts';
import type { ImportOptions, ImportProgress } from './options.ts';
import type { RejectedFile } from './rejected.ts';

/** The most items the import routes take in one request. */
export const MAX_BATCH_SIZE = 500;

/** The options checked and completed with their defaults. */
export interface Settings {
  connection: Connection;
  batchSize: number;
  concurrency: number;
  storeId?: string;
  signal?: AbortSignal;
  onProgress: (progress: ImportProgress) => void;
}

/** Everything the two phases share. */
export interface ImportContext extends Settings {
  rejected: RejectedFile;
  /** externalId -> customerId, or null when the API has no such customer. */
  customerIds: Map<string, string | null>;
  /** The program's currency (GET /v1/program), fetched once when a row needs it. */
  programCurrency: Promise<string> | undefined;
  /**
   * Customers with a purchase that could not be imported even when sent again: their later
   * purchases are not sent, so that a rerun applies them all in order.
   */
  heldBack: Set<string>;
}

export function settingsOf(options: ImportOptions): Settings {
  const batchSize = options.batchSize ?? MAX_BATCH_SIZE;
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new Error(`batch size ${batchSize}: expected a whole number from 1 to ${MAX_BATCH_SIZE}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency ${concurrency}: expected a whole number of at least 1`);
  }
  if (!options.customersFile && !options.purchasesFile) {
    throw new Error('nothing to import: give a customers file, a purchases file or both');
  }
  return {
    connection: {
      base: apiBase(options.url),
      key: options.key,
      fetch: options.fetch ?? fetch,
    },
    batchSize,
    concurrency,
    storeId: options.storeId,
    signal: options.signal,
    onProgress: options.onProgress ?? (() => {}),
  };
}

/** The API's root without a trailing slash or /v1, so paths can start with /v1/. */
function apiBase(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}
