/**
 * `npm run bench:reports [-- --sizes 10000,100000] [--lapsed-percent 20] [--concurrency 4]
 *   [--tolerance 10] [--seed 14]`
 *
 * Do the reports cost the same at any size (issue 14)? In one run, over an in-memory
 * DynamoDB Local behind the real local HTTP API (startLocalApi), it builds ONE programme
 * and grows it through the sizes (default 10,000, then 100,000 customers), each time with
 * the same share lapsed (default 20%):
 * - customers through POST /v1/imports/customers and their histories through
 *   POST /v1/imports/purchases, batches of up to 500, several in flight; instants are
 *   placed relative to now: most customers get one purchase in the last 30 days, the
 *   lapsed share three purchases at a steady rhythm (7-30 days apart) that stopped long
 *   enough ago for the lapse rule to hold, so that
 * - POST /v1/jobs/lapse-scan flags exactly them (checked; the share is printed);
 * - GET /v1/reports/retention and GET /v1/reports/daily (the 366 days to today) are
 *   measured before and after POST /v1/jobs/roll-up-reports: DynamoDB calls, items read
 *   and read units, computed from item sizes by DynamoDB's rules (test/bench/usage.ts)
 *   and, as a cross-check, as DynamoDB Local reports them. Each report is asked once just
 *   before it is measured, so the per-container caches (program, authorizer) are warm;
 *   the authorizer's key lookup, which API Gateway caches per key, is never counted;
 * - and what the retention report read before this change, for comparison: every lapsed
 *   customer (a full Query of the Lapsed index, allLapsed) plus a year of the outbox's
 *   events (read whole, as DynamoDB charges a Query: a projection does not make it cheaper).
 * Prints a side-by-side table and, last, one JSON line (readUnits are the after-roll-up
 * figures); exits non-zero when a report reads more than --tolerance % more at the largest
 * size than at the smallest, or a check fails.
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { encodeTime } from 'ulid';
import { addDays, utcDay } from '../../lib/domain/dayStats.ts';
import { DAY_MS, yearBefore } from '../../lib/domain/days.ts';
import { defaultProgram } from '../../lib/domain/program.ts';
import { type LocalApi, startLocalApi } from '../../lib/local/runtime.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { EVENT_PREFIX, EVENTS_PARTITION } from '../../lib/store/keys.ts';
import { allLapsed } from '../../lib/store/lapsed.ts';
import { queryPages } from '../../lib/store/pagination.ts';
import { account, label, pad, pool, round, Usage } from './usage.ts';
import { prng } from './workload.ts';

// ---------------------------------------------------------------- arguments

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    'lapsed-percent': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '4' },
    tolerance: { type: 'string', default: '10' },
    seed: { type: 'string', default: '14' },
  },
  strict: true,
});

function fail(message: string): never {
  console.error(`bench:reports: ${message}`);
  process.exit(2);
}

const sizes = args.sizes.split(',').map((s) => Number(s.trim()));
if (
  sizes.length < 2 ||
  sizes.some((n, i) => !Number.isSafeInteger(n) || n < 100 || (i > 0 && n <= (sizes[i - 1] ?? 0)))
) {
  fail('--sizes must be two or more increasing customer counts, each at least 100');
}
const lapsedPercent = Number(args['lapsed-percent']);
if (!(lapsedPercent > 0 && lapsedPercent < 100)) fail('--lapsed-percent must be in (0, 100)');
const concurrency = Number(args.concurrency);
if (!Number.isSafeInteger(concurrency) || concurrency < 1) fail('--concurrency must be >= 1');
const tolerance = Number(args.tolerance);
if (!(tolerance >= 0)) fail('--tolerance must be a percentage >= 0');
const seed = Number(args.seed);
if (!Number.isSafeInteger(seed)) fail('--seed must be an integer');

const ADMIN_KEY = 'bench-reports-admin-key-0123456789abcdef';
/** Customers per import request (the routes take at most 500). */
const BATCH = 500;
/** The daily report's span: today and the 365 days before it. */
const DAILY_DAYS = 366;

const seconds = (since: number) => (performance.now() - since) / 1000;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const units = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(1));

// ---------------------------------------------------------------- DynamoDB accounting

/** What the calls of one measured step read. */
class Tally {
  usage = new Usage();
  itemsRead = 0;
  /** Read units DynamoDB Local reported (ReturnConsumedCapacity). */
  reported = 0;
  /** Calls whose answer carried no ConsumedCapacity. */
  unreported = 0;
  /** Calls left out (the authorizer's key lookup), by label. */
  excluded = new Map<string, number>();
  /** Calls, items and read units by what was read: "Query (day counts, by shard)"... */
  reads = new Map<string, { calls: number; items: number; units: number }>();

  constructor(readonly askCapacity: boolean) {}
}

/** Left out of every measurement: API Gateway caches the authorizer's answer per key. */
const EXCLUDED = new Set(['GetItem (api key, authorizer)']);

let current: Tally | undefined;

const plain = (v: unknown): unknown =>
  typeof v === 'object' && v !== null && 'S' in v ? (v as { S: unknown }).S : v;

/** A read's label, with what a Query read: an index, or the partition's kind. */
function readLabel(command: string, input: any): string {
  const name = command.replace(/Command$/, '');
  if (name === 'GetItem' && String(plain(input?.Key?.PK)).startsWith('DAILY')) {
    return `GetItem (${plain(input?.Key?.PK) === 'DAILY' ? 'a rolled-up day' : "a rolled-up day's totals"})`;
  }
  if (name === 'BatchGetItem') {
    const [request] = Object.values<any>(input?.RequestItems ?? {});
    const pk = String(plain(request?.Keys?.[0]?.PK) ?? '');
    const consistent = request?.ConsistentRead === true ? ', consistent' : '';
    return pk === 'REPORTS' ? `BatchGetItem (roll-up state${consistent})` : 'BatchGetItem';
  }
  if (name !== 'Query') return label(command, input);
  if (input?.IndexName) return `Query (${input.IndexName} index)`;
  const pk = String(plain(input?.ExpressionAttributeValues?.[':pk']) ?? '');
  const kind = pk.split('#')[0] as string;
  return `Query (${
    {
      DAYS: 'day counts, by shard',
      DAILY: 'rolled-up days',
      DAILYTOTALS: 'rolled-up totals',
      EVENTS: 'events',
    }[kind] ?? kind
  })`;
}

function itemsIn(command: string, output: any): number {
  switch (command.replace(/Command$/, '')) {
    case 'Query':
    case 'Scan':
      return (output?.Items ?? []).length;
    case 'GetItem':
      return output?.Item ? 1 : 0;
    case 'BatchGetItem':
      return Object.values<unknown[]>(output?.Responses ?? {}).reduce((s, l) => s + l.length, 0);
    case 'TransactGetItems':
      return (output?.Responses ?? []).filter((r: any) => r?.Item).length;
    default:
      return 0;
  }
}

function consumedUnits(output: any): number | undefined {
  const c = output?.ConsumedCapacity;
  if (c === undefined) return undefined;
  return (Array.isArray(c) ? c : [c]).reduce((s: number, x: any) => s + (x?.CapacityUnits ?? 0), 0);
}

/** What building the programme asked of DynamoDB (counted cheaply: no item sizes). */
interface BuildCounts {
  calls: number;
  transactions: number;
  itemsWritten: number;
  /** Calls that failed (a cancelled transaction, retried by the use case). */
  failed: number;
}

let building: BuildCounts | undefined;

function listen(command: string, input: any, output: any): void {
  if (building) {
    building.calls++;
    if (output === undefined) building.failed++;
    if (command === 'TransactWriteItemsCommand') {
      building.transactions++;
      if (output !== undefined) building.itemsWritten += (input?.TransactItems ?? []).length;
    }
    return;
  }
  const t = current;
  if (!t) return;
  const name = readLabel(command, input);
  if (EXCLUDED.has(name)) {
    t.excluded.set(name, (t.excluded.get(name) ?? 0) + 1);
    return;
  }
  const before = t.usage.rcu;
  account(t.usage, command, input, output);
  const items = itemsIn(command, output);
  t.itemsRead += items;
  const read = t.reads.get(name) ?? { calls: 0, items: 0, units: 0 };
  read.calls++;
  read.items += items;
  read.units += t.usage.rcu - before;
  t.reads.set(name, read);
  if (!t.askCapacity) return;
  const reported = consumedUnits(output);
  if (reported === undefined) t.unreported++;
  else t.reported += reported;
}

/** Asks DynamoDB Local for the capacity of the measured calls (the use cases' own client). */
function askForCapacity(): void {
  db().middlewareStack.add(
    (next) => async (request) => {
      const input = request.input as Record<string, unknown>;
      if (!current?.askCapacity || input.ReturnConsumedCapacity !== undefined) return next(request);
      return next({ ...request, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
    },
    { step: 'initialize', name: 'benchReportsCapacity' },
  );
}

async function measured<T>(
  askCapacity: boolean,
  work: () => Promise<T>,
): Promise<{ value: T; tally: Tally; seconds: number }> {
  const tally = new Tally(askCapacity);
  current = tally;
  const started = performance.now();
  try {
    const value = await work();
    return { value, tally, seconds: seconds(started) };
  } finally {
    current = undefined;
  }
}

/** What one measured read cost. */
interface Reading {
  calls: number;
  items: number;
  readUnits: number;
  reportedReadUnits: number;
  unreported: number;
  ms: number;
  /** Calls, items and read units by what was read. */
  breakdown: Map<string, { calls: number; items: number; units: number }>;
}

const readingOf = (t: Tally, s: number): Reading => ({
  calls: t.usage.totalCalls,
  items: t.itemsRead,
  readUnits: t.usage.rcu,
  reportedReadUnits: t.reported,
  unreported: t.unreported,
  ms: round(s * 1000, 1),
  breakdown: t.reads,
});

// ---------------------------------------------------------------- the programme

/** Exactly `percent` % of any prefix of the customers, spread evenly: is customer i lapsed? */
const isLapsed = (i: number) =>
  Math.floor(((i + 1) * lapsedPercent) / 100) > Math.floor((i * lapsedPercent) / 100);

const lapsedAmong = (n: number) => Math.floor((n * lapsedPercent) / 100);

/** Log-normal amounts in cents, median $35, at least $1. */
function amount(random: () => number): number {
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.max(100, Math.round(Math.exp(Math.log(3500) + 0.7 * normal)));
}

interface PurchaseInput {
  customerId: string;
  storeId: string;
  receiptId: string;
  occurredAt: string;
  total: { amount: number; currency: string };
}

/**
 * Customer i's history, placed relative to `now`. An active customer: one purchase in the
 * last 30 days. A lapsed one: three purchases `gap` days apart (7-30), the last `k` days
 * ago, with k past the lapse rule's max(minDays, factor x gap) by at least a day and the
 * first purchase within the last 360 days, so lapses spread over the daily report's year.
 * The purchases of one customer are whole days apart, so the UTC-day gaps are exact
 * whatever the hour.
 */
function historyOf(i: number, customerId: string, storeId: string, now: number): PurchaseInput[] {
  const random = prng(seed * 1_000_003 + i);
  const { factor, minDays } = defaultProgram.lapse;
  const currency = defaultProgram.currency;
  const purchase = (p: number, at: number): PurchaseInput => ({
    customerId,
    storeId,
    receiptId: `bench-reports-${i}-${p}`,
    occurredAt: new Date(at).toISOString(),
    total: { amount: amount(random), currency },
  });
  if (!isLapsed(i)) {
    return [purchase(0, now - 3_600_000 - Math.floor(random() * 29 * DAY_MS))];
  }
  const gap = 7 + Math.floor(random() * 24);
  const threshold = Math.ceil(Math.max(minDays, factor * gap));
  const latest = 360 - 2 * gap;
  const k = threshold + 1 + Math.floor(random() * (latest - threshold));
  const last = now - k * DAY_MS - Math.floor(random() * DAY_MS * 0.9);
  return [0, 1, 2].map((p) => purchase(p, last - (2 - p) * gap * DAY_MS));
}

// ---------------------------------------------------------------- the run

interface Call {
  status: number;
  body: any;
  ms: number;
}

interface SizeResult {
  customers: number;
  build: { seconds: number; customersPerSecond: number; purchases: number };
  lapse: { flagged: number; runs: number; seconds: number; lapsed: number; share: number };
  rollUp: { runs: number; rolledDays: number; seconds: number; calls: number; wcu: number };
  before: { retention: Reading; daily: Reading };
  after: { retention: Reading; daily: Reading };
  old: { lapsedIndex: Reading; events: Reading; lapsed: number; eventCount: number };
  retention: { customers: number; lapsed: number; active: number };
  dailyRows: number;
}

async function main(): Promise<number> {
  const started = performance.now();
  let api: LocalApi | undefined;
  const unsubscribe = onDynamoCall(listen);
  let key = 0;
  /** Requests sent again (a 5xx, 429 or a key in use), over the whole run. */
  let retried = 0;
  const checks: [string, boolean][] = [];
  const check = (what: string, ok: boolean) => {
    checks.push([what, ok]);
    if (!ok) console.log(`  CHECK FAILED: ${what}`);
  };
  try {
    api = await startLocalApi({ port: 0, adminKey: ADMIN_KEY });
    askForCapacity();
    const url = api.url;
    /** One request; a POST carries an Idempotency-Key. */
    const request = async (
      method: 'GET' | 'POST',
      path: string,
      body?: unknown,
      idempotencyKey?: string,
    ): Promise<Call> => {
      const t0 = performance.now();
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          'x-api-key': ADMIN_KEY,
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: response.status, body: json, ms: performance.now() - t0 };
    };
    /**
     * A GET, or a POST retried as `npm run import` retries one (lib/import/http.ts): on a
     * network error, 429, 5xx or its key still in use (409), with the same Idempotency-Key,
     * so a batch that timed out but went on is answered, not applied twice.
     */
    const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Call> => {
      if (method === 'GET') return request(method, path, body);
      const idempotencyKey = `bench-reports-${key++}`;
      const started = performance.now();
      for (let attempt = 1; ; attempt++) {
        let answer: Call | undefined;
        try {
          answer = await request(method, path, body, idempotencyKey);
        } catch (error) {
          if (attempt >= 8) throw error;
        }
        if (answer) {
          const retryable =
            answer.status === 429 ||
            answer.status >= 500 ||
            (answer.status === 409 && answer.body?.code === 'idempotency-key-in-use');
          const waitingForKey = answer.status === 409 && performance.now() - started < 120_000;
          if (!retryable || (attempt >= 8 && !waitingForKey)) {
            return { ...answer, ms: performance.now() - started };
          }
        }
        retried++;
        const ceiling = Math.min(20_000, 250 * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, ceiling / 2 + (Math.random() * ceiling) / 2));
      }
    };
    const ok200 = (what: string, answer: Call, status = 200) => {
      if (answer.status !== status) {
        throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 500)}`);
      }
      return answer.body;
    };

    const { factor, minDays, minPurchases } = defaultProgram.lapse;
    const loadAtStart = loadavg()[0] as number;
    console.log('Reports benchmark: do the reports read more as the programme grows?');
    console.log(
      `  one programme grown to ${sizes.map(int).join(', then ')} customers, ${lapsedPercent}% lapsed;` +
        ` imports of ${BATCH} a request, ${concurrency} in flight; DynamoDB Local in memory, the API in this process`,
    );
    console.log(
      `  lapse rule: >= ${minPurchases} purchases and silence > max(${minDays} d, ${factor} x typical gap);` +
        ` active customers: 1 purchase in the last 30 days; lapsed: 3 purchases 7-30 days apart, stopped 15-346 days ago`,
    );
    console.log(
      `  ${availableParallelism()} CPUs; load average ${loadAtStart.toFixed(1)} at the start (other work on the machine slows the build, not the reads)`,
    );
    const store = ok200(
      'POST /v1/stores',
      await call('POST', '/v1/stores', { name: 'Bench' }),
      201,
    );
    const storeId: string = store.id;

    const results: SizeResult[] = [];
    let built = 0;
    let purchasesSoFar = 0;
    for (const size of sizes) {
      console.log('');
      console.log(`== ${int(size)} customers`);

      // ------------------------------------------------ grow the programme to `size`
      const now = Date.now();
      const from = built;
      const chunks: number[] = [];
      for (let i = from; i < size; i += BATCH) chunks.push(i);
      let done = 0;
      let purchases = 0;
      let nextReport = 0.1;
      /** Time in requests of each import route (summed over the requests in flight). */
      const requestMs = { customers: 0, purchases: 0 };
      /** Items an import route asked to be sent again (503), and were. */
      const resent = { customers: 0, purchases: 0 };
      const counts: BuildCounts = { calls: 0, transactions: 0, itemsWritten: 0, failed: 0 };
      building = counts;
      const buildStarted = performance.now();
      /**
       * Sends `items` to an import route, and again those it answers 503 for (a batch
       * that ran out of time, or kept meeting other writers): as `npm run import` does.
       */
      const importAll = async (kind: 'customers' | 'purchases', items: readonly unknown[]) => {
        let pending = items.map((item, index) => ({ item, index }));
        const created = new Map<number, string>();
        let imported = 0;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt >= 10) throw new Error(`${kind}: items still refused after 10 attempts`);
          if (attempt > 0) resent[kind] += pending.length;
          const answer = await call('POST', `/v1/imports/${kind}`, {
            items: pending.map((p) => p.item),
          });
          requestMs[kind] += answer.ms;
          const body = ok200(`POST /v1/imports/${kind}`, answer);
          const again: typeof pending = [];
          for (const e of body.errors) {
            if (e.code !== 'service-unavailable') {
              throw new Error(`${kind}: ${JSON.stringify(e)}`);
            }
            again.push(pending[e.index] as (typeof pending)[number]);
          }
          // A retried batch whose first attempt created some finds them by their externalId.
          const found = [
            ...(body.createdCustomers ?? []),
            ...(body.existing ?? []).filter((c: any) => c.matchedBy === 'externalId'),
          ];
          for (const c of found) {
            created.set((pending[c.index] as (typeof pending)[number]).index, c.customerId);
          }
          imported += body.imported ?? 0;
          pending = again;
        }
        return { created, imported };
      };
      await pool(chunks, concurrency, async (first) => {
        const count = Math.min(BATCH, size - first);
        const { created } = await importAll(
          'customers',
          Array.from({ length: count }, (_, j) => ({ externalId: `bench-reports-${first + j}` })),
        );
        if (created.size !== count)
          throw new Error(`customers ${first}..: ${created.size} created`);
        // Batches of at most 500 purchases, cut between customers, sent one after another:
        // a customer's purchases are never in two requests at once.
        let batch: PurchaseInput[] = [];
        const send = async () => {
          if (batch.length === 0) return;
          const items = batch;
          batch = [];
          const { imported } = await importAll('purchases', items);
          if (imported !== items.length) {
            throw new Error(`purchases: ${imported} of ${items.length} imported`);
          }
          purchases += items.length;
        };
        // In date order, as a till's export comes: the import packs customers into
        // transactions in the order sent, and customers whose purchases share days share
        // the days' count items too (sent in customer order, most transactions would carry
        // one count item per purchase, and overflow into a second, near-empty transaction).
        const histories = Array.from({ length: count }, (_, j) =>
          historyOf(first + j, created.get(j) as string, storeId, now),
        ).sort(
          (a, b) =>
            a.length - b.length ||
            (a[0] as PurchaseInput).occurredAt.localeCompare((b[0] as PurchaseInput).occurredAt),
        );
        for (const history of histories) {
          if (batch.length + history.length > BATCH) await send();
          batch.push(...history);
        }
        await send();
        done += count;
        if (done / (size - from) >= nextReport - 1e-9) {
          const s = seconds(buildStarted);
          console.log(
            `  ... ${int(from + done)} / ${int(size)} customers (${int(purchases)} purchases) in ${s.toFixed(0)} s:` +
              ` ${(done / s).toFixed(0)} customers/s, ${(purchases / s).toFixed(0)} purchases/s`,
          );
          while (nextReport <= done / (size - from) + 1e-9) nextReport += 0.1;
        }
      });
      const buildSeconds = seconds(buildStarted);
      building = undefined;
      built = size;
      purchasesSoFar += purchases;
      console.log(
        `built: ${int(size - from)} customers with ${int(purchases)} purchases in ${buildSeconds.toFixed(1)} s` +
          ` (${((size - from) / buildSeconds).toFixed(0)} customers/s); request time: customers` +
          ` ${(requestMs.customers / 1000).toFixed(0)} s, purchases ${(requestMs.purchases / 1000).toFixed(0)} s`,
      );
      console.log(
        `  DynamoDB: ${int(counts.calls)} calls, ${int(counts.transactions)} TransactWriteItems` +
          ` of ${(counts.itemsWritten / Math.max(1, counts.transactions)).toFixed(1)} items on average` +
          ` (${int(counts.itemsWritten)} items written, ${(counts.itemsWritten / buildSeconds).toFixed(0)}/s),` +
          ` ${int(counts.failed)} failed calls (cancelled transactions, retried);` +
          ` items an import answered 503 for, sent again: ${int(resent.customers)} customers, ${int(resent.purchases)} purchases;` +
          ` requests retried (5xx, 429, key in use) so far: ${retried}`,
      );

      // ------------------------------------------------ lapse-scan flags the lapsed share
      const lapseStarted = performance.now();
      const retriedBefore = retried;
      let flagged = 0;
      let runs = 0;
      for (let complete = false; !complete; runs++) {
        if (runs >= 200) throw new Error('lapse-scan did not complete in 200 runs');
        const run = ok200('lapse-scan', await call('POST', '/v1/jobs/lapse-scan', {}));
        flagged += run.flagged ?? 0;
        complete = run.complete !== false;
        console.log(
          `  ... lapse-scan run ${runs + 1}: ${int(flagged)} flagged in ${seconds(lapseStarted).toFixed(0)} s` +
            `${complete ? ' (complete; the model refitted)' : ''}`,
        );
      }
      // A run that overran the route's 29 s is answered 503 and sent again, while the local
      // server lets the first go on: its flags are in no answer, and it may still be
      // flagging. Done when a dry run finds nobody due.
      for (let waits = 0; ; waits++) {
        const due = ok200(
          'lapse-scan dry run',
          await call('POST', '/v1/jobs/lapse-scan', { dryRun: true }),
        );
        if ((due.flagged ?? 0) === 0) break;
        if (waits >= 60) throw new Error(`${due.flagged} customers still due after lapse-scan`);
        await new Promise((r) => setTimeout(r, 2_000));
      }
      const lapseSeconds = seconds(lapseStarted);
      const expectedNew = lapsedAmong(size) - lapsedAmong(from);
      if (retried === retriedBefore) {
        check(
          `${int(size)}: lapse-scan flagged ${int(flagged)}, the ${int(expectedNew)} lapsed customers built`,
          flagged === expectedNew,
        );
      } else {
        console.log(
          `  (lapse-scan's answers count ${int(flagged)} of the ${int(expectedNew)} lapsed built: a run that overran the` +
            ' route was sent again; the Lapsed index and the retention report are checked below)',
        );
      }

      // ------------------------------------------------ the reports, before the roll-up
      // One instant for the size's reports, so that before and after the roll-up they cover
      // the same days even if a UTC midnight passes in between.
      const reportAt = new Date();
      const today = utcDay(reportAt);
      const retentionPath = `/v1/reports/retention?asOf=${reportAt.toISOString()}`;
      const dailyPath = `/v1/reports/daily?from=${addDays(today, -(DAILY_DAYS - 1))}&to=${today}`;
      const measureReport = async (path: string) => {
        ok200(`GET ${path}`, await call('GET', path)); // warms the program and authorizer caches
        const { value, tally, seconds: s } = await measured(true, () => call('GET', path));
        return { body: ok200(`GET ${path}`, value), reading: readingOf(tally, s) };
      };
      const retentionBefore = await measureReport(retentionPath);
      const dailyBefore = await measureReport(dailyPath);

      // ------------------------------------------------ the roll-up job
      const rollUp = await measured(false, async () => {
        let rolledDays = 0;
        let n = 0;
        for (let complete = false; !complete; n++) {
          if (n >= 100) throw new Error('roll-up-reports did not complete in 100 runs');
          const run = ok200('roll-up-reports', await call('POST', '/v1/jobs/roll-up-reports', {}));
          rolledDays += run.rolledDays ?? 0;
          complete = run.complete !== false;
          // Not complete: out of time, or another run (one that overran the route and was
          // sent again) holds the roll-up's lease: give it a moment.
          if (!complete) await new Promise((r) => setTimeout(r, 2_000));
        }
        return { runs: n, rolledDays };
      });
      console.log(
        `roll-up-reports: ${rollUp.value.rolledDays} days rolled up in ${rollUp.value.runs} run(s),` +
          ` ${rollUp.seconds.toFixed(1)} s (${rollUp.tally.usage.totalCalls} DynamoDB calls,` +
          ` ${units(rollUp.tally.usage.wcu)} write units, ${units(rollUp.tally.usage.rcu)} read units)`,
      );

      // ------------------------------------------------ the reports, after the roll-up
      const retention = await measureReport(retentionPath);
      const daily = await measureReport(dailyPath);
      const r = retention.body;
      const rows: any[] = daily.body.items ?? [];
      const share = r.customers > 0 ? r.lapsed / r.customers : 0;
      console.log(
        `retention report: ${int(r.customers)} customers, ${int(r.active)} active, ${int(r.lapsed)} lapsed` +
          ` = ${(100 * share).toFixed(2)}% flagged (wanted ${lapsedPercent}%);` +
          ` ${int(r.lapsedLast12Months)} lapsed in the last 12 months; value at risk ${r.valueAtRisk.amount / 100} ${r.valueAtRisk.currency}`,
      );
      check(
        `${int(size)}: the retention report counts ${int(size)} customers`,
        r.customers === size,
      );
      check(
        `${int(size)}: the retention report counts ${int(lapsedAmong(size))} lapsed (${lapsedPercent}%)`,
        r.lapsed === lapsedAmong(size),
      );
      check(
        `${int(size)}: the daily report has ${DAILY_DAYS} rows (${rows.length})`,
        rows.length === DAILY_DAYS,
      );
      check(
        `${int(size)}: the reports read the same before and after the roll-up (retention ${r.lapsed} = ${retentionBefore.body.lapsed} lapsed)`,
        JSON.stringify(retentionBefore.body) === JSON.stringify(r) &&
          JSON.stringify(dailyBefore.body) === JSON.stringify(daily.body),
      );
      const lastRow = rows.at(-1);
      check(
        `${int(size)}: the daily report's last row agrees with the retention report`,
        lastRow?.customers === r.customers && lastRow?.lapsed === r.lapsed,
      );

      // ------------------------------------------------ what the old retention report read
      const oldLapsed = await measured(true, () => allLapsed());
      const asOf = reportAt;
      const oldEvents = await measured(true, async () => {
        let count = 0;
        for await (const items of queryPages({
          TableName: tableName(),
          KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': EVENTS_PARTITION,
            ':from': `${EVENT_PREFIX}evt_${encodeTime(yearBefore(asOf).getTime(), 10)}`,
            ':to': `${EVENT_PREFIX}evt_${encodeTime(asOf.getTime(), 10)}`,
          },
        })) {
          count += items.length;
        }
        return count;
      });
      check(
        `${int(size)}: the Lapsed index holds the ${int(lapsedAmong(size))} lapsed (${int(oldLapsed.value.length)})`,
        oldLapsed.value.length === lapsedAmong(size),
      );
      console.log(
        `old retention report's reads: the Lapsed index ${int(oldLapsed.value.length)} items, ${units(oldLapsed.tally.usage.rcu)} read units` +
          ` (${oldLapsed.seconds.toFixed(1)} s); a year of events ${int(oldEvents.value)} items, ${units(oldEvents.tally.usage.rcu)} read units (${oldEvents.seconds.toFixed(1)} s)`,
      );

      results.push({
        customers: size,
        build: {
          seconds: buildSeconds,
          customersPerSecond: (size - from) / buildSeconds,
          purchases: purchasesSoFar,
        },
        lapse: { flagged, runs, seconds: lapseSeconds, lapsed: r.lapsed, share },
        rollUp: {
          ...rollUp.value,
          seconds: rollUp.seconds,
          calls: rollUp.tally.usage.totalCalls,
          wcu: rollUp.tally.usage.wcu,
        },
        before: { retention: retentionBefore.reading, daily: dailyBefore.reading },
        after: { retention: retention.reading, daily: daily.reading },
        old: {
          lapsedIndex: readingOf(oldLapsed.tally, oldLapsed.seconds),
          events: readingOf(oldEvents.tally, oldEvents.seconds),
          lapsed: oldLapsed.value.length,
          eventCount: oldEvents.value,
        },
        retention: { customers: r.customers, lapsed: r.lapsed, active: r.active },
        dailyRows: rows.length,
      });
    }

    // ------------------------------------------------ the table
    const first = results[0] as SizeResult;
    const last = results.at(-1) as SizeResult;
    const col = 30;
    console.log('');
    console.log(
      `${''.padEnd(34)}${results.map((x) => `${int(x.customers)} customers`.padStart(col)).join('')}   ratio ${int(last.customers)}/${int(first.customers)}`,
    );
    console.log(
      `${''.padEnd(34)}${results.map(() => `${pad('calls', 8)}${pad('items', 10)}${pad('read units', 12)}`).join('')}   (read units)`,
    );
    const oldTotal = (x: SizeResult): Reading => ({
      ...x.old.lapsedIndex,
      calls: x.old.lapsedIndex.calls + x.old.events.calls,
      items: x.old.lapsedIndex.items + x.old.events.items,
      readUnits: x.old.lapsedIndex.readUnits + x.old.events.readUnits,
      reportedReadUnits: x.old.lapsedIndex.reportedReadUnits + x.old.events.reportedReadUnits,
    });
    const lines: [string, (x: SizeResult) => Reading][] = [
      ['retention, before roll-up', (x) => x.before.retention],
      ['retention, after roll-up', (x) => x.after.retention],
      [`daily (${DAILY_DAYS} days), before roll-up`, (x) => x.before.daily],
      [`daily (${DAILY_DAYS} days), after roll-up`, (x) => x.after.daily],
      ['old retention: Lapsed index', (x) => x.old.lapsedIndex],
      ['old retention: + a year of events', (x) => x.old.events],
      ['old retention: total', oldTotal],
    ];
    for (const [name, pick] of lines) {
      const ratio = pick(last).readUnits / Math.max(pick(first).readUnits, Number.EPSILON);
      console.log(
        `  ${name.padEnd(32)}${results
          .map((x) => {
            const reading = pick(x);
            return `${pad(int(reading.calls), 8)}${pad(int(reading.items), 10)}${pad(units(reading.readUnits), 12)}`;
          })
          .join('')}   ${ratio.toFixed(2)}x`,
      );
    }
    console.log(
      '  read units computed from item sizes (usage.ts: ceil(bytes / 4 KB) per Query page, per item of a batch;' +
        ' x0.5 when eventually consistent); the authorizer key lookup left out',
    );
    console.log('');
    console.log(
      `where the reads go, after the roll-up${''.padEnd(14)}${results.map((x) => `${int(x.customers)}: calls / items / read units`.padStart(40)).join('')}`,
    );
    for (const report of ['retention', 'daily'] as const) {
      const names = [...new Set(results.flatMap((x) => [...x.after[report].breakdown.keys()]))];
      for (const name of names) {
        console.log(
          `  ${report.padEnd(10)}${name.padEnd(40)}${results
            .map((x) => {
              const r = x.after[report].breakdown.get(name) ?? { calls: 0, items: 0, units: 0 };
              return `${int(r.calls)} / ${int(r.items)} / ${units(r.units)}`.padStart(40);
            })
            .join('')}`,
        );
      }
    }
    for (const x of results) {
      const { retention: ret, daily: day } = x.after;
      console.log(
        `${int(x.customers)}: as DynamoDB Local reports them, retention ${units(ret.reportedReadUnits)} and daily ${units(day.reportedReadUnits)}` +
          ` read units after the roll-up (${ret.ms.toFixed(0)} and ${day.ms.toFixed(0)} ms); before it ${units(x.before.retention.reportedReadUnits)} and ${units(x.before.daily.reportedReadUnits)};` +
          ` the old report's ${units(x.old.lapsedIndex.reportedReadUnits)} + ${units(x.old.events.reportedReadUnits)}`,
      );
    }
    console.log('');
    for (const x of results) {
      const oldUnits = oldTotal(x).readUnits;
      console.log(
        `${int(x.customers)}: the old retention report read ${units(oldUnits)} read units` +
          ` (${int(x.old.lapsed)} lapsed customers from the Lapsed index, ${int(x.old.eventCount)} events of the last year),` +
          ` ${(oldUnits / Math.max(x.after.retention.readUnits, Number.EPSILON)).toFixed(1)}x what it reads now` +
          ` (${units(x.after.retention.readUnits)})`,
      );
    }
    console.log('');
    for (const x of results) {
      console.log(
        `${int(x.customers)}: built in ${x.build.seconds.toFixed(0)} s (${x.build.customersPerSecond.toFixed(0)} customers/s, ${int(x.build.purchases)} purchases in all);` +
          ` lapse-scan ${x.lapse.flagged} flagged in ${x.lapse.runs} run(s), ${x.lapse.seconds.toFixed(0)} s: ${(100 * x.lapse.share).toFixed(2)}% lapsed;` +
          ` roll-up ${x.rollUp.rolledDays} days, ${x.rollUp.seconds.toFixed(1)} s`,
      );
    }

    // ------------------------------------------------ verdict
    const limit = 1 + tolerance / 100;
    for (const report of ['retention', 'daily'] as const) {
      const a = first.after[report].readUnits;
      const b = last.after[report].readUnits;
      check(
        `${report}: ${units(b)} read units at ${int(last.customers)} customers <= ${units(a)} at ${int(first.customers)} + ${tolerance}%`,
        b <= a * limit,
      );
    }
    const unreported = results.reduce(
      (s, x) =>
        s +
        x.before.retention.unreported +
        x.before.daily.unreported +
        x.after.retention.unreported +
        x.after.daily.unreported,
      0,
    );
    check(
      `DynamoDB Local reported capacity for every measured report call (${unreported} without)`,
      unreported === 0,
    );
    console.log('');
    for (const [what, ok] of checks) console.log(`verification: ${ok ? 'OK  ' : 'FAIL'} ${what}`);
    const ok = checks.every(([, passed]) => passed);
    const total = seconds(started);
    const loadAtEnd = loadavg()[0] as number;
    console.log(
      `total run time ${total.toFixed(1)} s (load average ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end, on ${availableParallelism()} CPUs)`,
    );

    const bySize = <T>(pick: (x: SizeResult) => T) =>
      Object.fromEntries(results.map((x) => [String(x.customers), pick(x)]));
    const pair = (when: 'before' | 'after', get: (r: Reading) => number) =>
      bySize((x) => ({ retention: get(x[when].retention), daily: get(x[when].daily) }));
    console.log(
      JSON.stringify({
        readUnits: pair('after', (r) => r.readUnits),
        calls: pair('after', (r) => r.calls),
        itemsRead: pair('after', (r) => r.items),
        reportedReadUnits: pair('after', (r) => r.reportedReadUnits),
        beforeRollUp: {
          readUnits: pair('before', (r) => r.readUnits),
          calls: pair('before', (r) => r.calls),
          itemsRead: pair('before', (r) => r.items),
        },
        ratio: {
          retention: round(last.after.retention.readUnits / first.after.retention.readUnits, 3),
          daily: round(last.after.daily.readUnits / first.after.daily.readUnits, 3),
        },
        oldRetention: bySize((x) => ({
          readUnits: oldTotal(x).readUnits,
          lapsedIndexReadUnits: x.old.lapsedIndex.readUnits,
          eventsReadUnits: x.old.events.readUnits,
          lapsed: x.old.lapsed,
          events: x.old.eventCount,
        })),
        lapsedShare: bySize((x) => round(x.lapse.share, 4)),
        dailyDays: DAILY_DAYS,
        tolerancePercent: tolerance,
        buildCustomersPerSecond: bySize((x) => round(x.build.customersPerSecond, 0)),
        seconds: round(total, 1),
        loadAverage: { start: round(loadAtStart, 1), end: round(loadAtEnd, 1) },
        ok,
      }),
    );
    return ok ? 0 : 1;
  } finally {
    unsubscribe();
    await api?.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(
      `bench:reports: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
    );
    process.exitCode = 1;
  },
);
