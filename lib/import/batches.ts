/**
 * Sending a phase's rows: rows made into entries, cut into batches (by count and bytes,
 * a customer's run kept together), run a few at a time (never two about one customer at
 * once), the items answered `service-unavailable` sent again, per-item errors rejected.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SourceRow } from './csvRows.ts';
import { backoff, postBatch } from './http.ts';
import type { phaseProgress } from './progress.ts';
import type { ImportContext } from './settings.ts';

/**
 * Batches are cut below this many bytes of JSON: the import routes refuse bodies over 1 MiB
 * (IMPORT_BODY_BYTES in routes.ts), and this leaves room to spare.
 */
const BATCH_MAX_BYTES = 1_000_000;

/** `{"items":[]}`: the bytes of a batch's body besides its items. */
const ENVELOPE_BYTES = 12;

/**
 * Times the items of a batch the API answered `service-unavailable` (not applied: the
 * database failed or was too busy) are sent again, with backoff, before they are rejected.
 */
const MAX_ITEM_RESENDS = 4;

/** The per-item code that says an item was not applied and may be sent again as it is. */
const SEND_AGAIN = 'service-unavailable';

/** A row made into a request item: its JSON size, and the customer it is about (purchases). */
export interface Entry<Item> {
  row: SourceRow;
  item: Item;
  bytes: number;
  customerId?: string;
}

export function entryOf<Item>(row: SourceRow, item: Item, customerId?: string): Entry<Item> {
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
export async function sendPhase<Item>(
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
