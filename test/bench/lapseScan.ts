/**
 * `npm run bench:lapse [-- --customers N] [--due-percent P] [--no-ledger] [--seed N]`
 *   `[--concurrency N] [--scan-segments N]`
 *
 * Shows that the lapse-scan job reads what grows with the customers due, not with the
 * table. Over an in-memory DynamoDB Local it loads N customers (default 100,000) straight
 * into the table with BatchWriteItem, each a realistic state built by the domain code
 * (newCustomer + 3-6 purchases at a regular gap through PointsChange, so it has cadence,
 * lots, spend and its LapseWatch key; stored with customerItem), about 1% of them lapse-due at a
 * fixed asOf, plus (unless --no-ledger) one ledger item per purchase. Then it measures:
 * - a full-table Scan, the naive alternative, finding the due customers itself. It is a
 *   parallel Scan (--scan-segments, default 64): the same read units as one segment, but
 *   DynamoDB Local pages a single segment in time quadratic in its size (a 1-segment Scan of
 *   the 100,000-customer table took 24 minutes; 64 segments, 19 s);
 * - runJob('lapse-scan', asOf): the LapseWatch index queries (one per gap band and shard), the consistent BatchGetItem of
 *   the customers due and one TransactWriteItems per customer flagged;
 * - a second runJob (must flag 0);
 * - fitModel(asOf), the rest of the daily lapse scan, bounded by its sample size.
 * Capacity units are those DynamoDB Local reports (ReturnConsumedCapacity=INDEXES is added
 * to every call of the measured phases) and, as a check, computed from item sizes by
 * DynamoDB's rules. Ends with one JSON line; exits non-zero if a check fails.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BatchWriteCommand, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { lapseDueAt } from '../../lib/domain/cadence.ts';
import { type CustomerState, newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { newId } from '../../lib/ids.ts';
import { type DynamoLocal, ensureTable, startDynamoLocal } from '../../lib/local/dynamo.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { customerItem, ledgerItem } from '../../lib/store/customers.ts';
import { allLapsed } from '../../lib/store/lapsed.ts';
import { putProgram } from '../../lib/store/program.ts';
import { runJob } from '../../lib/usecases/jobs.ts';
import { fitModel, MODEL_SAMPLE } from '../../lib/usecases/lapse.ts';
import { itemSize } from './itemSize.ts';
import { prng } from './workload.ts';

// ---------------------------------------------------------------- arguments

const { values: args } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    'due-percent': { type: 'string', default: '1' },
    ledger: { type: 'boolean', default: true },
    seed: { type: 'string', default: '42' },
    concurrency: { type: 'string', default: '8' },
    'scan-segments': { type: 'string', default: '64' },
  },
  allowNegative: true,
  strict: true,
});

function positiveNumber(name: string, text: string, integer = true): number {
  const n = Number(text);
  if (!(n > 0) || (integer && !Number.isSafeInteger(n))) {
    console.error(`bench:lapse: --${name} must be a positive ${integer ? 'integer' : 'number'}`);
    process.exit(2);
  }
  return n;
}

const customers = positiveNumber('customers', args.customers);
const duePercent = positiveNumber('due-percent', args['due-percent'], false);
const withLedger = args.ledger;
const seed = positiveNumber('seed', args.seed);
const concurrency = positiveNumber('concurrency', args.concurrency);
const scanSegments = positiveNumber('scan-segments', args['scan-segments']);
if (scanSegments > 1_000_000) {
  console.error('bench:lapse: --scan-segments must be at most 1000000');
  process.exit(2);
}
/** Segments of the parallel Scan read at a time. */
const SCAN_WORKERS = 8;

const ASOF = new Date('2025-06-01T00:00:00.000Z');
const DAY_MS = 86_400_000;
const TABLE = 'loyalty-bench-lapse';

// ---------------------------------------------------------------- helpers

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const seconds = (since: number) => (performance.now() - since) / 1000;
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped customer id (as newId makes) from the seeded PRNG, so shards repeat. */
function customerId(createdAt: number, random: () => number): string {
  let time = '';
  for (let t = createdAt, i = 0; i < 10; i++, t = Math.floor(t / 32)) {
    time = CROCKFORD[t % 32] + time;
  }
  let rest = '';
  for (let i = 0; i < 16; i++) rest += CROCKFORD[Math.floor(random() * 32)];
  return `cus_${time}${rest}`;
}

// ---------------------------------------------------------------- the data

type Item = Record<string, unknown>;

interface Built {
  item: Item;
  ledger: Item[];
  due: boolean;
}

/**
 * One customer, built by the domain code as the purchase route would: `n` purchases,
 * `gap` days apart, the last one `k` days (and a few hours) before asOf, where `k` puts
 * lapseDueAt (last purchase + max(minDays, factor x gap)) before asOf for a due customer
 * and after it for the others.
 */
function buildCustomer(i: number, due: boolean, program: Program, random: () => number): Built {
  const { factor, minDays } = program.lapse;
  const n = 3 + Math.floor(random() * 4);
  const gap = 7 + Math.floor(random() * 29);
  const threshold = Math.ceil(Math.max(minDays, factor * gap));
  const k = due
    ? threshold + 1 + Math.floor(random() * 60)
    : 1 + Math.floor(random() * (threshold - 1));
  const hourMs = (8 + random() * 12) * 3_600_000;
  const last = ASOF.getTime() - k * DAY_MS + Math.floor(hourMs);
  const first = last - (n - 1) * gap * DAY_MS;
  const createdAt = first - Math.floor(random() * 60 * DAY_MS) - 60_000;
  const id = customerId(createdAt, random);
  let state: CustomerState = newCustomer(
    id,
    { externalId: `bench-${String(i).padStart(7, '0')}`, email: `customer${i}@example.com` },
    program,
    new Date(createdAt),
  );
  const ledger: Item[] = [];
  for (let p = 0; p < n; p++) {
    const occurredAt = new Date(first + p * gap * DAY_MS + Math.floor(random() * 600_000));
    // Log-normal amounts, median $35, at least $1.
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const amount = Math.max(100, Math.round(Math.exp(Math.log(3500) + 0.7 * normal)));
    const change = new PointsChange(state, program, occurredAt).settle();
    change.purchase({
      amount,
      occurredAt,
      availableAt: new Date(occurredAt.getTime() + program.pendingDays * DAY_MS),
      purchaseId: newId('pur', occurredAt.getTime()),
    });
    if (withLedger) {
      for (const { version, entry } of change.entries) ledger.push(ledgerItem(id, version, entry));
    }
    state = change.customer;
  }
  const dueAt = lapseDueAt(state.purchases, state.lastPurchaseAt, state.cadence, program);
  const isDue = dueAt !== undefined && dueAt < ASOF.toISOString();
  if (isDue !== due || state.lapseWatch === undefined) {
    throw new Error(`customer ${i}: lapseDueAt ${dueAt} but meant to be due=${due}`);
  }
  return { item: customerItem(state), ledger, due };
}

// ---------------------------------------------------------------- DynamoDB accounting

type Phase = 'setup' | 'load' | 'scan' | 'job' | 'rerun' | 'change' | 'fit' | 'verify';

interface Units {
  reported: number;
  computed: number;
}

/** What one phase asked of DynamoDB. */
class Usage {
  calls = new Map<string, number>();
  /** Read units by what was read (an index, customer items, the program...). */
  reads = new Map<string, Units>();
  /** Write units: table (reported and computed) and the indexes (reported only). */
  tableWrites: Units = { reported: 0, computed: 0 };
  indexWrites = 0;
  indexWritesBy = new Map<string, number>();
  itemsRead = 0;
  /** Items read, by what was read. */
  itemsBy = new Map<string, number>();
  /** Calls without ConsumedCapacity in the answer. */
  unreported = 0;
  /** Wall time of the calls (ms, SDK retries included), by label. */
  ms = new Map<string, number>();

  get totalCalls() {
    let total = 0;
    for (const n of this.calls.values()) total += n;
    return total;
  }

  read(category: string, reported: number, computed: number, items: number) {
    this.itemsRead += items;
    this.itemsBy.set(category, (this.itemsBy.get(category) ?? 0) + items);
    const u = this.reads.get(category) ?? { reported: 0, computed: 0 };
    u.reported += reported;
    u.computed += computed;
    this.reads.set(category, u);
  }

  get readUnits(): Units {
    const total = { reported: 0, computed: 0 };
    for (const u of this.reads.values()) {
      total.reported += u.reported;
      total.computed += u.computed;
    }
    return total;
  }
}

const usage = {} as Record<Phase, Usage>;
for (const p of ['setup', 'load', 'scan', 'job', 'rerun', 'change', 'fit', 'verify'] as const) {
  usage[p] = new Usage();
}
let phase: Phase = 'setup';
const measured = () => phase !== 'load' && phase !== 'setup';

const readUnits = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

interface Consumed {
  TableName?: string;
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

const consumedOf = (output: any): Consumed[] => {
  const c = output?.ConsumedCapacity;
  return c === undefined ? [] : Array.isArray(c) ? c : [c];
};
const sum = (list: Consumed[], pick: (c: Consumed) => number | undefined) =>
  list.reduce((total, c) => total + (pick(c) ?? 0), 0);

const keyOf = (input: any) => String(input?.Key?.PK ?? '');

const labelOf = (command: string, input: any) => {
  const name = command.replace(/Command$/, '');
  return name === 'Query' || name === 'Scan' ? `${name} (${input?.IndexName ?? 'table'})` : name;
};

function account(command: string, input: any, output: any): void {
  if (!measured()) {
    usage[phase].calls.set(command, (usage[phase].calls.get(command) ?? 0) + 1);
    return;
  }
  const u = usage[phase];
  const name = command.replace(/Command$/, '');
  const label = labelOf(command, input);
  u.calls.set(label, (u.calls.get(label) ?? 0) + 1);
  if (output === undefined) return; // a failed call: counted, nothing read
  const consumed = consumedOf(output);
  if (consumed.length === 0) u.unreported++;
  const reported = sum(consumed, (c) => c.CapacityUnits);
  switch (name) {
    case 'Query':
    case 'Scan': {
      const items: Item[] = output.Items ?? [];
      const bytes = items.reduce((s, i) => s + itemSize(i), 0);
      const what = input.IndexName ? `${input.IndexName} index` : 'table';
      u.read(what, reported, readUnits(bytes, input.ConsistentRead === true), items.length);
      break;
    }
    case 'BatchGetItem': {
      let computed = 0;
      let items = 0;
      let what = 'other items';
      for (const [table, request] of Object.entries<any>(input.RequestItems ?? {})) {
        const found: Item[] = output.Responses?.[table] ?? [];
        const unprocessed = output.UnprocessedKeys?.[table]?.Keys?.length ?? 0;
        const missing = (request.Keys?.length ?? 0) - unprocessed - found.length;
        const consistent = request.ConsistentRead === true;
        for (const item of found) computed += readUnits(itemSize(item), consistent);
        computed += missing * readUnits(0, consistent);
        items += found.length;
        if (String(request.Keys?.[0]?.PK ?? '').startsWith('CUS#')) what = 'customer items';
      }
      u.read(what, reported, computed, items);
      break;
    }
    case 'GetItem': {
      const what = keyOf(input).startsWith('CUS#')
        ? 'customer items'
        : keyOf(input) === 'PROGRAM'
          ? 'program item'
          : 'other items';
      u.read(
        what,
        reported,
        readUnits(output.Item ? itemSize(output.Item) : 0, input.ConsistentRead === true),
        output.Item ? 1 : 0,
      );
      break;
    }
    case 'TransactWriteItems':
    case 'PutItem':
    case 'BatchWriteItem': {
      const factor = name === 'TransactWriteItems' ? 2 : 1;
      const puts: Item[] =
        name === 'PutItem'
          ? [input.Item]
          : name === 'TransactWriteItems'
            ? (input.TransactItems ?? []).map((op: any) => op.Put?.Item).filter(Boolean)
            : Object.values<any[]>(input.RequestItems ?? {}).flatMap((rs) =>
                rs.map((r) => r.PutRequest?.Item).filter(Boolean),
              );
      for (const item of puts) u.tableWrites.computed += factor * Math.ceil(itemSize(item) / 1024);
      const table = sum(consumed, (c) => c.Table?.CapacityUnits);
      const indexes = sum(consumed, (c) =>
        Object.values(c.GlobalSecondaryIndexes ?? {}).reduce(
          (s, i) => s + (i.CapacityUnits ?? 0),
          0,
        ),
      );
      // Without a breakdown, the total is the table's.
      u.tableWrites.reported += table || indexes ? table : reported;
      u.indexWrites += indexes;
      for (const c of consumed) {
        for (const [index, v] of Object.entries(c.GlobalSecondaryIndexes ?? {})) {
          u.indexWritesBy.set(index, (u.indexWritesBy.get(index) ?? 0) + (v.CapacityUnits ?? 0));
        }
      }
      break;
    }
  }
}

/**
 * Asks DynamoDB Local for the capacity of every call of the measured phases, and times
 * every call (the same client the use cases use; lib/ is not changed).
 */
function instrumentClient(): void {
  db().middlewareStack.add(
    (next, context) => async (request) => {
      const u = usage[phase];
      const input = request.input as Record<string, unknown>;
      const label = labelOf(context.commandName ?? 'unknown', input);
      const start = performance.now();
      try {
        if (!measured() || input.ReturnConsumedCapacity !== undefined) return await next(request);
        return await next({ ...request, input: { ...input, ReturnConsumedCapacity: 'INDEXES' } });
      } finally {
        u.ms.set(label, (u.ms.get(label) ?? 0) + performance.now() - start);
      }
    },
    { step: 'initialize', name: 'benchInstrument' },
  );
}

/** Calls by label with their total time: "Query (LapseDue) 4 (0.01 s), ...". */
const callsOf = (u: Usage) =>
  [...u.calls]
    .map(([k, v]) => `${k} ${v} (${((u.ms.get(k) ?? 0) / 1000).toFixed(2)} s)`)
    .join(', ');

// ---------------------------------------------------------------- phases

async function load(program: Program) {
  const random = prng(seed);
  const dueWanted = Math.round((customers * duePercent) / 100);
  const stats = {
    due: 0,
    ledgerItems: 0,
    customerBytes: 0,
    customerMax: 0,
    ledgerBytes: 0,
    calls: 0,
    retries: 0,
    built: 0,
  };
  function* requests(): Generator<Item> {
    for (let i = 0; i < customers; i++) {
      // Evenly spread, exactly dueWanted in all.
      const due =
        Math.floor(((i + 1) * dueWanted) / customers) > Math.floor((i * dueWanted) / customers);
      const built = buildCustomer(i, due, program, random);
      stats.built++;
      if (built.due) stats.due++;
      const size = itemSize(built.item);
      stats.customerBytes += size;
      stats.customerMax = Math.max(stats.customerMax, size);
      yield built.item;
      for (const entry of built.ledger) {
        stats.ledgerItems++;
        stats.ledgerBytes += itemSize(entry);
        yield entry;
      }
    }
  }
  const source = requests();
  let written = 0;
  let nextReport = 0.1;
  const started = performance.now();
  const write = async (batch: Item[]) => {
    let pending = batch.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        stats.retries++;
        await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
      }
      if (attempt > 10) throw new Error('BatchWriteItem left items unprocessed');
      stats.calls++;
      const { UnprocessedItems } = await db().send(
        new BatchWriteCommand({ RequestItems: { [TABLE]: pending } }),
      );
      pending = (UnprocessedItems?.[TABLE] as typeof pending | undefined) ?? [];
    }
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const batch: Item[] = [];
        while (batch.length < 25) {
          const next = source.next();
          if (next.done) break;
          batch.push(next.value);
        }
        if (batch.length === 0) return;
        await write(batch);
        written += batch.length;
        if (stats.built / customers >= nextReport) {
          const s = seconds(started);
          console.error(
            `  ... ${stats.built} customers, ${written} items written in ${s.toFixed(0)} s (${(written / s).toFixed(0)} items/s)`,
          );
          nextReport += 0.1;
        }
      }
    }),
  );
  return { ...stats, items: written };
}

/** The naive alternative: read the whole table (eventually consistent) and apply the rule. */
async function fullScan(segments: number, program: Program = defaultProgram) {
  const asOf = ASOF.toISOString();
  let items = 0;
  let pages = 0;
  let due = 0;
  let nextSegment = 0;
  const scanSegment = async (segment: number) => {
    let start: Record<string, unknown> | undefined;
    do {
      const page: ScanCommandOutput = await db().send(
        new ScanCommand({
          TableName: tableName(),
          ReturnConsumedCapacity: 'INDEXES',
          ...(segments > 1 && { Segment: segment, TotalSegments: segments }),
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      pages++;
      for (const item of page.Items ?? []) {
        items++;
        if (item.SK !== 'PROFILE' || item.status !== 'active') continue;
        const c = item as unknown as CustomerState;
        const dueAt = lapseDueAt(c.purchases, c.lastPurchaseAt, c.cadence, program);
        if (dueAt !== undefined && dueAt < asOf) due++;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  };
  await Promise.all(
    Array.from({ length: Math.min(SCAN_WORKERS, segments) }, async () => {
      while (nextSegment < segments) await scanSegment(nextSegment++);
    }),
  );
  return { items, pages, due };
}

// ---------------------------------------------------------------- the run

async function main(): Promise<number> {
  const started = performance.now();
  let local: DynamoLocal | undefined;
  let unsubscribe: (() => void) | undefined;
  const stop = async () => {
    const running = local;
    local = undefined;
    unsubscribe?.();
    await running?.stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`bench:lapse: ${signal}, stopping DynamoDB Local`);
    stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    local = await startDynamoLocal();
    process.env.DYNAMODB_ENDPOINT = local.endpoint;
    process.env.LOYALTY_TABLE = TABLE;
    await ensureTable(local.endpoint, TABLE);
    if (tableName() !== TABLE) throw new Error(`config points at ${tableName()}, not ${TABLE}`);
    unsubscribe = onDynamoCall(account);
    instrumentClient();
    const program = defaultProgram;
    await putProgram(program);
    const { factor, minDays, minPurchases } = program.lapse;

    console.log(
      'Lapse-scan benchmark: do the reads grow with the customers due or with the table?',
    );
    console.log(
      `  asOf ${ASOF.toISOString()}; lapse rule: >= ${minPurchases} purchases and silence > max(${minDays} d, ${factor} x typical gap)`,
    );
    console.log(
      `  DynamoDB Local in memory (${local.endpoint}); seed ${seed}; ${concurrency} BatchWriteItem calls in flight`,
    );

    // ------------------------------------------------ load
    phase = 'load';
    let t = performance.now();
    const loaded = await load(program);
    const loadSeconds = seconds(t);
    console.log(
      `load: ${customers} customers (${loaded.due} lapse-due at asOf = ${((100 * loaded.due) / customers).toFixed(2)}%, the rest due later)` +
        ` + ${loaded.ledgerItems} ledger items${withLedger ? ' (--ledger, on by default: one per purchase, so the Scan reads them too)' : ' (--no-ledger)'}` +
        ` = ${loaded.items} items in ${loadSeconds.toFixed(1)} s (${(loaded.items / loadSeconds).toFixed(0)} items/s,` +
        ` ${loaded.calls} BatchWriteItem calls, ${loaded.retries} retries of unprocessed items)`,
    );
    console.log(
      `  each customer: newCustomer + 3-6 purchases 7-35 days apart through PointsChange, stored with customerItem;` +
        ` customer item avg ${(loaded.customerBytes / customers).toFixed(0)} B (max ${loaded.customerMax} B)` +
        (loaded.ledgerItems > 0
          ? `, ledger item avg ${(loaded.ledgerBytes / loaded.ledgerItems).toFixed(0)} B`
          : ''),
    );

    // ------------------------------------------------ the naive alternative: a full Scan
    phase = 'scan';
    t = performance.now();
    const scan = await fullScan(scanSegments);
    const scanSeconds = seconds(t);
    const s = usage.scan;
    const scanRead = s.readUnits;
    console.log('');
    console.log(
      `full-table Scan (the naive alternative; eventually consistent, 1 MB pages` +
        `${scanSegments > 1 ? `, parallel: ${scanSegments} segments, ${Math.min(SCAN_WORKERS, scanSegments)} at a time` : ''}):` +
        ` ${scan.items} items in ${scan.pages} pages, ${scanSeconds.toFixed(1)} s;` +
        ` ${scan.due} lapse-due customers found among them`,
    );
    console.log(
      `  read units ${fmt(scanRead.reported)} (reported by DynamoDB Local; computed from item sizes: ${fmt(scanRead.computed)})`,
    );

    // ------------------------------------------------ the job
    phase = 'job';
    t = performance.now();
    const job = await runJob('lapse-scan', ASOF);
    const jobSeconds = seconds(t);
    const j = usage.job;
    const jobRead = j.readUnits;
    console.log('');
    console.log(
      `lapse-scan job (runJob('lapse-scan', asOf)): ${job.customers} flagged of ${loaded.due} due in ${jobSeconds.toFixed(1)} s` +
        ` (complete: ${job.complete})`,
    );
    console.log(`  calls: ${callsOf(j)} = ${j.totalCalls}`);
    console.log('  read units          reported   computed   items read');
    for (const [what, units] of [...j.reads].sort((a, b) => b[1].reported - a[1].reported)) {
      console.log(
        `    ${what.padEnd(16)}${fmt(units.reported).padStart(9)}${fmt(units.computed).padStart(11)}${String(j.itemsBy.get(what) ?? 0).padStart(13)}`,
      );
    }
    console.log(
      `    ${'total'.padEnd(16)}${fmt(jobRead.reported).padStart(9)}${fmt(jobRead.computed).padStart(11)}${String(j.itemsRead).padStart(13)}`,
    );
    console.log(
      `  write units: table ${fmt(j.tableWrites.reported)} reported (computed: ${fmt(j.tableWrites.computed)} = 2 x ceil(size / 1 KB) per Put:` +
        ` the customer and its customer.lapsed event), + ${fmt(j.indexWrites)} on the indexes (reported: ${[...j.indexWritesBy].map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`,
    );
    console.log(
      `  per customer due: ${(jobRead.reported / Math.max(1, loaded.due)).toFixed(2)} read units, ${(j.totalCalls / Math.max(1, loaded.due)).toFixed(2)} calls`,
    );
    const ratio = scanRead.reported / Math.max(jobRead.reported, Number.EPSILON);
    console.log('');
    console.log(
      `ratio: full Scan read units / job read units = ${fmt(scanRead.reported)} / ${fmt(jobRead.reported)} = ${ratio.toFixed(1)}` +
        ` (computed: ${(scanRead.computed / Math.max(jobRead.computed, Number.EPSILON)).toFixed(1)}); Scan ${(scanSeconds / Math.max(jobSeconds, 0.001)).toFixed(1)}x the job's time, which includes its writes`,
    );

    // ------------------------------------------------ a second run flags nothing
    phase = 'rerun';
    t = performance.now();
    const rerun = await runJob('lapse-scan', ASOF);
    const rerunSeconds = seconds(t);
    const r = usage.rerun;
    console.log(
      `second run: ${rerun.customers} flagged, ${r.totalCalls} calls (${callsOf(r)}),` +
        ` ${fmt(r.readUnits.reported)} read units (computed ${fmt(r.readUnits.computed)}: an empty Query is charged the 0.5 minimum), ${rerunSeconds.toFixed(2)} s`,
    );
    console.log(
      `  the same ${customers} customers with none due cost ${fmt(r.readUnits.reported)} read units; with ${loaded.due} due, ${fmt(jobRead.reported)}:` +
        ' the job reads what is due, not the table',
    );

    // ------------------------------------------------ a change of thresholds
    // factor 2 -> 1.9: more customers are due. The index key holds no threshold, so the
    // change needs no write to any customer: the next run finds the newly due by itself.
    phase = 'verify';
    const changedProgram: Program = { ...program, lapse: { ...program.lapse, factor: 1.9 } };
    await putProgram(changedProgram);
    const changeDue = (await fullScan(scanSegments, changedProgram)).due;
    phase = 'change';
    t = performance.now();
    const changed = await runJob('lapse-scan', ASOF);
    const changeSeconds = seconds(t);
    const c = usage.change;
    console.log('');
    console.log(
      `after PUT /v1/program with factor ${changedProgram.lapse.factor} (was ${factor}): ${changed.customers} flagged of ${changeDue} now due` +
        ` (a Scan under the new rule counts them), ${c.totalCalls} calls (${callsOf(c)}), ${changeSeconds.toFixed(1)} s`,
    );
    console.log(
      `  read units ${fmt(c.readUnits.reported)} (${[...c.reads].map(([k, v]) => `${k} ${fmt(v.reported)}`).join(', ')});` +
        ` write units ${fmt(c.tableWrites.reported)} (table) + ${fmt(c.indexWrites)} (indexes): only the customers flagged.` +
        ` A due-time index would first rewrite every active customer (${customers - loaded.due} Puts)`,
    );
    await putProgram(program);

    // ------------------------------------------------ the model fit
    phase = 'fit';
    t = performance.now();
    const { model } = await fitModel(ASOF);
    const fitSeconds = seconds(t);
    const f = usage.fit;
    const fitRead = f.readUnits;
    const sampleIds = f.itemsBy.get('Customers index') ?? 0;
    const fitDbSeconds = [...f.ms.values()].reduce((a, b) => a + b, 0) / 1000;
    const fitCustomers = f.itemsBy.get('customer items') ?? 0;
    console.log('');
    console.log(
      `model fit (fitModel(asOf), the rest of runLapseScan): ${fitCustomers} customers read` +
        ` (${sampleIds} ids from whole shards of the Customers index), ${model?.customers ?? 0} fitted, ${fitSeconds.toFixed(1)} s` +
        ` (${fitDbSeconds.toFixed(1)} s in DynamoDB calls, the rest the BG/NBD fit's compute)`,
    );
    console.log(
      `  read units ${fmt(fitRead.reported)} (computed ${fmt(fitRead.computed)}): ${[...f.reads]
        .map(([k, v]) => `${k} ${fmt(v.reported)}`)
        .join(', ')}; calls: ${callsOf(f)}`,
    );
    console.log(
      `  bounded by the sample size (MODEL_SAMPLE = ${MODEL_SAMPLE} customers, read as whole shards), not by the table: the same at 1 million customers` +
        (customers <= MODEL_SAMPLE
          ? ' (this table is smaller than the sample, so here it reads every customer)'
          : ''),
    );

    // ------------------------------------------------ verification
    phase = 'verify';
    const lapsed = (await allLapsed()).length;
    const checks: [string, boolean][] = [
      [
        `flagged (${job.customers}) === customers due (${loaded.due})`,
        job.customers === loaded.due,
      ],
      [`Scan found the same due customers (${scan.due})`, scan.due === loaded.due],
      [
        `Lapsed index holds them and those the change flagged (${lapsed})`,
        lapsed === loaded.due + changed.customers,
      ],
      [`second run flags 0 (${rerun.customers})`, rerun.customers === 0],
      [
        `after the threshold change, flagged (${changed.customers}) === newly due (${changeDue})`,
        changed.customers === changeDue && changeDue > 0,
      ],
      ['all runs complete', job.complete && rerun.complete && changed.complete],
      [
        `DynamoDB Local reported capacity for every measured call (${usage.scan.unreported + j.unreported + r.unreported + f.unreported} without)`,
        usage.scan.unreported + j.unreported + r.unreported + f.unreported === 0,
      ],
    ];
    console.log('');
    for (const [what, ok] of checks) console.log(`verification: ${ok ? 'OK  ' : 'FAIL'} ${what}`);
    const ok = checks.every(([, passed]) => passed);
    console.log(`total run time ${seconds(started).toFixed(1)} s`);
    console.log(
      JSON.stringify({
        customers,
        due: loaded.due,
        flagged: job.customers,
        jobReadUnits: jobRead.reported,
        jobWriteUnits: j.tableWrites.reported,
        jobCalls: j.totalCalls,
        scanReadUnits: scanRead.reported,
        scanItems: scan.items,
        ratio: round(ratio, 1),
        fitReadUnits: fitRead.reported,
        fitCustomers,
        loadSeconds: round(loadSeconds, 1),
        jobSeconds: round(jobSeconds, 2),
        scanSeconds: round(scanSeconds, 2),
        jobIndexWriteUnits: j.indexWrites,
        thresholdChange: {
          flagged: changed.customers,
          readUnits: c.readUnits.reported,
          writeUnits: c.tableWrites.reported,
          calls: c.totalCalls,
          seconds: round(changeSeconds, 2),
        },
        ledgerItems: loaded.ledgerItems,
        capacityUnits: 'reported by DynamoDB Local',
        computed: {
          jobReadUnits: jobRead.computed,
          jobWriteUnits: j.tableWrites.computed,
          scanReadUnits: scanRead.computed,
          fitReadUnits: fitRead.computed,
        },
        ok,
      }),
    );
    return ok ? 0 : 1;
  } finally {
    await stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(
      `bench:lapse: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
    );
    process.exitCode = 1;
  },
);
