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
import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, openSync, rmSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Parser, parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';

/** The most items the import routes take in one request. */
export const MAX_BATCH_SIZE = 500;

/**
 * Batches are cut below this many bytes of JSON: the import routes refuse bodies over 1 MiB
 * (IMPORT_BODY_BYTES in routes.ts), and this leaves room to spare.
 */
const BATCH_MAX_BYTES = 1_000_000;

/** `{"items":[]}`: the bytes of a batch's body besides its items. */
const ENVELOPE_BYTES = 12;

/** Attempts per request before giving up (network errors, 429, 5xx, a key in use). */
const MAX_ATTEMPTS = 8;

/** The first retry's delay; each next one doubles, up to MAX_RETRY_DELAY_MS, with jitter. */
const BASE_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 20_000;

/** How long a batch whose Idempotency-Key is in use (409) is retried: past the API's 60 s mark. */
const KEY_IN_USE_PATIENCE_MS = 90_000;

/**
 * Times the items of a batch the API answered `service-unavailable` (not applied: the
 * database failed or was too busy) are sent again, with backoff, before they are rejected.
 */
const MAX_ITEM_RESENDS = 4;

/** The per-item code that says an item was not applied and may be sent again as it is. */
const SEND_AGAIN = 'service-unavailable';

/** A request not answered in this time counts as a network error (and is retried). */
const REQUEST_TIMEOUT_MS = 60_000;

/** The columns customers.csv may have (any subset, in any order). */
export const CUSTOMER_COLUMNS = [
  'externalId',
  'email',
  'phone',
  'name',
  'birthDate',
  'openingPoints',
] as const;

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

// ---------------------------------------------------------------- settings

/** The options checked and completed with their defaults. */
interface Settings {
  connection: Connection;
  batchSize: number;
  concurrency: number;
  storeId?: string;
  signal?: AbortSignal;
  onProgress: (progress: ImportProgress) => void;
}

/** Everything the two phases share. */
interface ImportContext extends Settings {
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

function settingsOf(options: ImportOptions): Settings {
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

// ---------------------------------------------------------------- reading CSV

/** A CSV file whose header was checked, and how many data rows it has. */
interface CheckedCsv {
  file: string;
  columns: string[];
  rows: number;
}

/** One data row: where it is in its file, and its cells by column name. */
interface SourceRow {
  file: string;
  /** 1-based line in the file where the row starts (the header is line 1). */
  line: number;
  /** Every column's cell, trimmed; '' for an empty cell. */
  cells: Record<string, string>;
  /** Set when the row cannot be read as the header says (a wrong number of fields). */
  problem?: string;
}

/** A streaming csv-parse over a file: BOM dropped, cells trimmed, empty lines skipped. */
function openCsv(file: string): Parser {
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
  });
  // pipe() does not pass on the file's errors (a missing file): the parser's reader gets them.
  return createReadStream(file)
    .on('error', (error) => parser.destroy(error))
    .pipe(parser);
}

/**
 * Reads a file through once: checks its header names only known columns, each once (so a
 * typo fails before anything is sent), and counts its data rows for the progress total.
 */
async function inspectCsv(file: string, known: readonly string[]): Promise<CheckedCsv> {
  let columns: string[] | undefined;
  let rows = 0;
  try {
    for await (const { record } of openCsv(file) as AsyncIterable<{ record: string[] }>) {
      if (columns === undefined) columns = checkedHeader(file, record, known);
      else rows++;
    }
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith(file) ? message : `${file}: ${message}`);
  }
  if (columns === undefined) throw new Error(`${file}: empty file (a header row is required)`);
  return { file, columns, rows };
}

function checkedHeader(file: string, header: string[], known: readonly string[]): string[] {
  for (const [i, column] of header.entries()) {
    if (!known.includes(column)) {
      throw new Error(
        `${file}: unknown column ${JSON.stringify(column)} in the header row (known columns: ${known.join(', ')})`,
      );
    }
    if (header.indexOf(column) !== i) throw new Error(`${file}: column ${column} appears twice`);
  }
  return header;
}

/** What purchases.csv must have besides optional columns, checked before anything is sent. */
function checkPurchaseColumns(csv: CheckedCsv, storeId: string | undefined): void {
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

/** The data rows of a checked file, in order, with their line numbers. */
async function* rowsOf(csv: CheckedCsv): AsyncGenerator<SourceRow> {
  let header = true;
  const records = openCsv(csv.file) as AsyncIterable<{ record: string[]; info: { lines: number } }>;
  for await (const { record, info } of records) {
    if (header) {
      header = false;
      continue;
    }
    const cells = Object.fromEntries(csv.columns.map((column, i) => [column, record[i] ?? '']));
    const row: SourceRow = { file: csv.file, line: startLine(record, info.lines), cells };
    if (record.length !== csv.columns.length) {
      row.problem = `expected ${csv.columns.length} fields as in the header, got ${record.length}`;
    }
    yield row;
  }
}

/** csv-parse tells the line a record ends on; a quoted cell may span lines. */
function startLine(record: string[], endLine: number): number {
  return endLine - record.reduce((breaks, cell) => breaks + cell.split('\n').length - 1, 0);
}

/** A row's cell, or undefined when it is empty or the file has no such column. */
function cell(row: SourceRow, column: string): string | undefined {
  const value = row.cells[column];
  return value === undefined || value === '' ? undefined : value;
}

/** Consecutive groups of up to `size` items. */
async function* chunksOf<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

// ---------------------------------------------------------------- rejected rows

/**
 * The rejected-rows CSV: `file,line,code,detail,row`, row being the original cells as a
 * JSON object. Any older file at the path is removed at the start, and a new one is
 * created on the first rejection, so the file present after a run is that run's.
 */
class RejectedFile {
  count = 0;
  private fd: number | undefined;

  constructor(private readonly path: string) {
    rmSync(path, { force: true });
  }

  add(row: SourceRow, code: string, detail: string): void {
    if (this.fd === undefined) {
      this.fd = openSync(this.path, 'w');
      writeSync(this.fd, stringify([['file', 'line', 'code', 'detail', 'row']]));
    }
    const record = [row.file, String(row.line), code, detail, JSON.stringify(row.cells)];
    writeSync(this.fd, stringify([record]));
    this.count++;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

// ---------------------------------------------------------------- HTTP

/** Where the API is and how to call it. */
interface Connection {
  base: string;
  key: string;
  fetch: typeof fetch;
}

/** An answer not worth retrying: its status and parsed JSON body (undefined if not JSON). */
interface Answer {
  status: number;
  body: unknown;
}

/**
 * One API call, retried on network errors, 429, 5xx and 409 idempotency-key-in-use with
 * exponential backoff and jitter, or after Retry-After when the API says how long; a POST
 * reuses its Idempotency-Key on every attempt, so a retry never applies a batch twice.
 */
async function call(
  connection: Connection,
  request: { method: 'GET' | 'POST'; path: string; body?: string; idempotencyKey?: string },
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-api-key': connection.key };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
  const what = `${request.method} ${request.path}`;
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    let answer: Answer;
    let retryAfterMs: number | undefined;
    try {
      const response = await connection.fetch(`${connection.base}${request.path}`, {
        method: request.method,
        headers,
        body: request.body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      answer = { status: response.status, body: await jsonBody(response) };
      retryAfterMs = retryAfter(response.headers.get('retry-after'));
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS) {
        throw new Error(`${what}: ${describeNetworkError(error)} (after ${attempt} attempts)`);
      }
      await sleep(backoff(attempt));
      continue;
    }
    if (!isRetryable(answer)) return answer;
    // A key in use is a batch still running (or one whose function died: its mark lapses
    // after a minute), so that answer is waited out longer than the others.
    const waitingForKey =
      answer.status === 409 && performance.now() - started < KEY_IN_USE_PATIENCE_MS;
    if (attempt >= MAX_ATTEMPTS && !waitingForKey) {
      throw new Error(`${what}: still ${describeProblem(answer)} after ${attempt} attempts`);
    }
    await sleep(retryAfterMs ?? backoff(attempt));
  }
}

async function jsonBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRetryable(answer: Answer): boolean {
  return (
    answer.status === 429 ||
    answer.status >= 500 ||
    (answer.status === 409 && problemCode(answer.body) === 'idempotency-key-in-use')
  );
}

/** Retry-After in milliseconds (seconds form only), plus a little jitter; else undefined. */
function retryAfter(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000 + Math.random() * BASE_RETRY_DELAY_MS;
}

/** The delay before attempt `attempt + 1`: doubling from the base, capped, half of it jitter. */
function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, BASE_RETRY_DELAY_MS * 2 ** (attempt - 1));
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

function problemCode(body: unknown): string | undefined {
  const code = (body as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "400 invalid-request: <detail>" from a problem+json answer (or as much as it has). */
function describeProblem(answer: Answer): string {
  const problem = (answer.body ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
  const code = typeof problem.code === 'string' ? ` ${problem.code}` : '';
  const text = problem.detail ?? problem.title;
  return `${answer.status}${code}${typeof text === 'string' ? `: ${text}` : ''}`;
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = cause?.code ?? cause?.message;
  const message = error instanceof Error ? error.message : String(error);
  return typeof detail === 'string' ? `${message} (${detail})` : message;
}

/** A fatal error for an answer that refuses a whole request. */
function refused(what: string, answer: Answer): Error {
  return new Error(`${what} refused: ${describeProblem(answer)}`);
}

/** POSTs one batch under a fresh Idempotency-Key; anything but 200 is fatal. */
async function postBatch(connection: Connection, path: string, items: unknown[]): Promise<unknown> {
  const answer = await call(connection, {
    method: 'POST',
    path,
    body: JSON.stringify({ items }),
    idempotencyKey: randomUUID(),
  });
  if (answer.status !== 200)
    throw refused(`POST ${path} (a batch of ${items.length} rows)`, answer);
  return answer.body;
}

/** The customer id for an externalId, or null when the API has none (404). */
async function lookUpCustomer(connection: Connection, externalId: string): Promise<string | null> {
  const path = `/v1/customers?externalId=${encodeURIComponent(externalId)}`;
  const answer = await call(connection, { method: 'GET', path });
  if (answer.status === 404) return null;
  const id = (answer.body as { id?: unknown } | undefined)?.id;
  if (answer.status !== 200 || typeof id !== 'string') throw refused(`GET ${path}`, answer);
  return id;
}

/** The program's currency, the default of purchase rows without one. */
async function fetchProgramCurrency(connection: Connection): Promise<string> {
  const answer = await call(connection, { method: 'GET', path: '/v1/program' });
  const currency = (answer.body as { currency?: unknown } | undefined)?.currency;
  if (answer.status !== 200 || typeof currency !== 'string') {
    throw refused('GET /v1/program', answer);
  }
  return currency;
}

// ---------------------------------------------------------------- batching

/** A row made into a request item: its JSON size, and the customer it is about (purchases). */
interface Entry<Item> {
  row: SourceRow;
  item: Item;
  bytes: number;
  customerId?: string;
}

function entryOf<Item>(row: SourceRow, item: Item, customerId?: string): Entry<Item> {
  return { row, item, customerId, bytes: Buffer.byteLength(JSON.stringify(item)) + 1 };
}

/**
 * Cuts entries into batches of at most `size` items and BATCH_MAX_BYTES of JSON. When a batch
 * is full and the next entry's customer is the one its last entries are about, those
 * entries move to the next batch with it: a file grouped by customer then never splits a
 * customer across batches, so consecutive batches share no customer and go out together.
 */
class Batcher<Item> {
  private entries: Entry<Item>[] = [];
  private bytes = ENVELOPE_BYTES;

  constructor(private readonly size: number) {}

  /** Adds an entry; returns the batch it completed, if it did. */
  add(entry: Entry<Item>): Entry<Item>[] | undefined {
    if (this.entries.length < this.size && this.bytes + entry.bytes <= BATCH_MAX_BYTES) {
      this.entries.push(entry);
      this.bytes += entry.bytes;
      return undefined;
    }
    const full = this.entries;
    const run = trailingRunOf(full, entry.customerId);
    const carried = run.length < full.length && bytesOf(run) + entry.bytes <= BATCH_MAX_BYTES;
    this.entries = carried ? [...run, entry] : [entry];
    this.bytes = bytesOf(this.entries);
    return carried ? full.slice(0, full.length - run.length) : full;
  }

  /** The last, partial batch (empty when there is none). */
  flush(): Entry<Item>[] {
    const batch = this.entries;
    this.entries = [];
    this.bytes = ENVELOPE_BYTES;
    return batch;
  }
}

function bytesOf(entries: Entry<unknown>[]): number {
  return entries.reduce((bytes, entry) => bytes + entry.bytes, ENVELOPE_BYTES);
}

/** The entries at the end of `entries` about `customerId` (none when it is undefined). */
function trailingRunOf<Item>(
  entries: Entry<Item>[],
  customerId: string | undefined,
): Entry<Item>[] {
  if (customerId === undefined) return [];
  let start = entries.length;
  while (start > 0 && entries[start - 1]?.customerId === customerId) start--;
  return entries.slice(start);
}

/** A batch sent and not answered yet: its customers, and its end (removed from the set then). */
interface InFlight {
  customers: ReadonlySet<string>;
  done: Promise<void>;
}

/**
 * Runs batches concurrently, at most `limit` at once, and never a batch while one in flight
 * shares a customer with it. The first failure stops new batches; `settle` waits for those
 * in flight whatever happens.
 */
class Dispatcher {
  private readonly inFlight = new Set<InFlight>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  /** Waits until a batch about `customers` may start; throws a failed batch's error. */
  async waitForTurn(customers: ReadonlySet<string>): Promise<void> {
    while (!this.failure && (this.inFlight.size >= this.limit || this.sharesCustomer(customers))) {
      await Promise.race([...this.inFlight].map((batch) => batch.done));
    }
    this.throwIfFailed();
  }

  /** Starts a batch (call after waitForTurn). */
  start(customers: ReadonlySet<string>, send: () => Promise<void>): void {
    const batch: InFlight = { customers, done: Promise.resolve() };
    batch.done = send()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.inFlight.delete(batch);
      });
    this.inFlight.add(batch);
  }

  /** Waits for every batch in flight to finish (never throws). */
  async settle(): Promise<void> {
    await Promise.all([...this.inFlight].map((batch) => batch.done));
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private sharesCustomer(customers: ReadonlySet<string>): boolean {
    for (const batch of this.inFlight) {
      for (const customer of customers) if (batch.customers.has(customer)) return true;
    }
    return false;
  }
}

/**
 * Sends the entries a phase produces, batch by batch, through a Dispatcher; stops sending
 * once the signal is aborted. Returns whether it stopped early (rows left unsent).
 */
async function sendAll<Item>(
  context: ImportContext,
  entries: AsyncIterable<Entry<Item>>,
  send: (batch: Entry<Item>[]) => Promise<void>,
): Promise<boolean> {
  const dispatcher = new Dispatcher(context.concurrency);
  const batcher = new Batcher<Item>(context.batchSize);
  const dispatch = async (batch: Entry<Item>[]): Promise<boolean> => {
    const customers = new Set(batch.flatMap((entry) => entry.customerId ?? []));
    await dispatcher.waitForTurn(customers);
    if (context.signal?.aborted) return false;
    dispatcher.start(customers, () => send(batch));
    return true;
  };
  try {
    for await (const entry of entries) {
      if (context.signal?.aborted) return true;
      const batch = batcher.add(entry);
      if (batch && !(await dispatch(batch))) return true;
    }
    if (context.signal?.aborted) return true;
    const last = batcher.flush();
    if (last.length > 0 && !(await dispatch(last))) return true;
    return false;
  } finally {
    await dispatcher.settle();
    dispatcher.throwIfFailed();
  }
}

/** The index-addressed answers of both import routes. */
interface IndexedError {
  index: number;
  code: string;
  detail: string;
}

function errorsOf(body: unknown, what: string): IndexedError[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) throw new Error(`${what}: unexpected answer ${JSON.stringify(body)}`);
  return errors as IndexedError[];
}

/** Writes a batch's per-item errors to the rejected file; returns how many there were. */
function rejectAnswered(
  context: ImportContext,
  batch: Entry<unknown>[],
  errors: IndexedError[],
): number {
  for (const error of errors) {
    const entry = batch[error.index];
    if (entry) context.rejected.add(entry.row, error.code, error.detail);
  }
  return errors.length;
}

/**
 * Sends a phase's entries to `path` batch by batch (sendAll); `tally` counts each batch's
 * answer, whose per-item errors go to the rejected file here. Items answered
 * `service-unavailable` are sent again (a smaller batch, after a backoff, up to
 * MAX_ITEM_RESENDS times) before the batch is done, so a later batch of their customers
 * waits for them; only what still fails then is rejected, and a customer's later purchases
 * are then held back (rejected unsent), so that a rerun applies the customer's purchases in
 * order. Reports progress at the start, after each batch and at the end. Returns whether it
 * stopped early.
 */
async function sendPhase<Item>(
  context: ImportContext,
  progress: ReturnType<typeof phaseProgress>,
  path: string,
  entries: AsyncIterable<Entry<Item>>,
  counts: { rejected: number },
  tally: (batch: Entry<Item>[], body: unknown) => void,
): Promise<boolean> {
  const send = async (batch: Entry<Item>[]) => {
    let pending = batch.filter((entry) => {
      if (entry.customerId === undefined || !context.heldBack.has(entry.customerId)) return true;
      context.rejected.add(
        entry.row,
        SEND_AGAIN,
        'not sent: an earlier purchase of this customer could not be imported; run the import again',
      );
      counts.rejected++;
      return false;
    });
    for (let resends = 0; pending.length > 0; resends++) {
      if (resends > 0) await sleep(backoff(resends));
      const body = await postBatch(
        context.connection,
        path,
        pending.map((entry) => entry.item),
      );
      tally(pending, body);
      const errors = errorsOf(body, `POST ${path}`);
      const again = errors.filter((e) => e.code === SEND_AGAIN && resends < MAX_ITEM_RESENDS);
      const final = errors.filter((e) => !again.includes(e));
      counts.rejected += rejectAnswered(context, pending, final);
      for (const error of final) {
        const customerId = pending[error.index]?.customerId;
        if (error.code === SEND_AGAIN && customerId !== undefined) context.heldBack.add(customerId);
      }
      pending = again
        .map((e) => e.index)
        .sort((a, b) => a - b)
        .flatMap((index) => pending[index] ?? []);
    }
    progress.add(batch.length);
    progress.report();
  };
  progress.report();
  const stopped = await sendAll(context, entries, send);
  progress.report();
  return stopped;
}

// ---------------------------------------------------------------- customers

/** An item of POST /v1/imports/customers. */
interface CustomerItem {
  externalId?: string;
  email?: string;
  phone?: string;
  name?: string;
  birthDate?: string;
  openingPoints?: number;
}

/** Imports customers.csv; learns each row's customer id by its externalId for purchases. */
async function importCustomers(
  context: ImportContext,
  csv: CheckedCsv,
  counts: ImportSummary['customers'],
): Promise<boolean> {
  const progress = phaseProgress(context, 'customers', csv.rows, counts);
  const path = '/v1/imports/customers';
  async function* entries(): AsyncGenerator<Entry<CustomerItem>> {
    for await (const row of rowsOf(csv)) {
      const item = customerItem(row);
      if (typeof item === 'string') {
        context.rejected.add(row, 'validation-failed', item);
        counts.rejected++;
        progress.add(1);
      } else {
        yield entryOf(row, item);
      }
    }
  }
  return sendPhase(context, progress, path, entries(), counts, (batch, body) => {
    const answer = body as { createdCustomers?: unknown; existing?: unknown };
    if (!Array.isArray(answer.createdCustomers) || !Array.isArray(answer.existing)) {
      throw new Error(`POST ${path}: unexpected answer ${JSON.stringify(body)}`);
    }
    const created = answer.createdCustomers as { index: number; customerId: string }[];
    const existing = answer.existing as {
      index: number;
      customerId: string;
      matchedBy?: string;
    }[];
    for (const { index, customerId } of created) {
      const externalId = batch[index]?.item.externalId;
      if (externalId !== undefined) context.customerIds.set(externalId, customerId);
    }
    for (const { index, customerId, matchedBy } of existing) {
      const entry = batch[index];
      const externalId = entry?.item.externalId;
      // Found by its email or phone, the customer is another one (its externalId is not
      // this row's): the row is refused, so that its purchases do not go to that customer.
      if (externalId === undefined || matchedBy === undefined || matchedBy === 'externalId') {
        counts.existing++;
        if (externalId !== undefined) context.customerIds.set(externalId, customerId);
      } else if (entry) {
        context.rejected.add(
          entry.row,
          'conflict',
          `its ${matchedBy} belongs to customer ${customerId}, whose externalId is not ${externalId}`,
        );
        counts.rejected++;
      }
    }
    counts.created += created.length;
  });
}

/** A customers.csv row as an item, or why it cannot be one. */
function customerItem(row: SourceRow): CustomerItem | string {
  if (row.problem) return row.problem;
  const item: CustomerItem = {};
  for (const column of ['externalId', 'email', 'phone', 'name', 'birthDate'] as const) {
    const value = cell(row, column);
    if (value !== undefined) item[column] = value;
  }
  const openingPoints = cell(row, 'openingPoints');
  if (openingPoints !== undefined) {
    const points = wholeNumber(openingPoints);
    if (points === undefined) {
      return `openingPoints ${JSON.stringify(openingPoints)} is not a whole number of points`;
    }
    item.openingPoints = points;
  }
  return item;
}

/** A non-negative integer written in decimal digits, or undefined. */
function wholeNumber(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

// ---------------------------------------------------------------- purchases

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
async function importPurchases(
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

// ---------------------------------------------------------------- progress

/** A phase's progress counter, reported through onProgress. */
function phaseProgress(
  context: ImportContext,
  phase: ImportProgress['phase'],
  total: number,
  counts: { rejected: number },
) {
  let done = 0;
  const report = () => context.onProgress({ phase, done, total, rejected: counts.rejected });
  return {
    report,
    /** Counts rows done (answered, or rejected before sending); `report` tells them. */
    add(rows: number) {
      done += rows;
    },
  };
}
