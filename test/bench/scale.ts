/**
 * `npm run bench:scale [-- --due N] [--lapsed N] [--before N] [--lapsed-list 10000,100000]`
 *
 * A day's due work at scale, on an in-memory DynamoDB Local: N customers (default 50,000)
 * due at once for expire-points (a lot bought 400 days ago under 365-day expiry),
 * expiry-reminders (a lot expiring in 10 days), review-tiers (silver by a purchase now out
 * of the 12-month window) and birthday-bonus (yesterday, with a birthday campaign live),
 * plus N newly lapsed (default 20,000: five purchases ten days apart, the last 60 days
 * ago). Each customer is built by the domain code (newCustomer and PointsChange, as the
 * routes build them) and stored with BatchWriteItem.
 *
 * Each job runs twice in the same run, on different customers of the same population:
 * `before`, the one-at-a-time path (runJob's oneAtATime: one transaction per customer, one
 * after another) on the first --before customers due (default 2,000), then `after`, the
 * packed path (several customers a transaction, 8 in flight) on all the rest. Per run:
 * customers per second, DynamoDB round trips per customer, and write units per customer
 * as DynamoDB bills them, from the items written by DynamoDB's rules (DynamoDB Local's own
 * figures for a transaction are not what DynamoDB bills): a KB of item is a unit, two in a
 * transaction, and each index entry added, rewritten or removed is one more per KB of it
 * (two when its key moved), an entry left as it was none.
 * Then, on the same table, what one page of the lapsed list sorted by value at risk costs
 * at 10,000 and 100,000 lapsed customers (test/bench/lapsedList.ts).
 *
 * Then what DynamoDB Local takes, one transaction at a time, for a transaction of one
 * customer Put and for an item in transactions of 40: packing saves the first, never the
 * second, which sets what a packed run can reach on DynamoDB Local.
 *
 * Ends with one JSON line; exits non-zero if a job's after is not 4x its before, or
 * takes more than 0.25 round trips a customer, or a list page costs 20% more at the
 * larger size.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BatchWriteCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type CustomerState, newCustomer } from '../../lib/domain/customer.ts';
import { DAY_MS } from '../../lib/domain/days.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { newId } from '../../lib/ids.ts';
import { type DynamoLocal, ensureTable, startDynamoLocal } from '../../lib/local/dynamo.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { customerItem } from '../../lib/store/customers.ts';
import { forgetCachedProgram, putProgram } from '../../lib/store/program.ts';
import { createCampaign } from '../../lib/usecases/campaigns.ts';
import { JOB_TRANSACTIONS_IN_FLIGHT } from '../../lib/usecases/jobPacks.ts';
import { type JobName, runJob } from '../../lib/usecases/jobs.ts';
import { inParallel } from '../../lib/usecases/parallel.ts';
import { itemSize } from './itemSize.ts';
import { indexUnits, round } from './usage.ts';

const { values: args } = parseArgs({
  options: {
    due: { type: 'string', default: '50000' },
    lapsed: { type: 'string', default: '20000' },
    before: { type: 'string', default: '2000' },
    'lapsed-list': { type: 'string', default: '10000,100000' },
  },
  strict: true,
});

function count(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`bench:scale: --${name} must be a whole number, got ${text}`);
    process.exit(2);
  }
  return n;
}
const DUE = count('due', args.due);
const LAPSED = count('lapsed', args.lapsed);
const BEFORE = count('before', args.before);
const LIST_SIZES = args['lapsed-list']
  .split(',')
  .filter(Boolean)
  .map((s) => count('lapsed-list', s));

const ASOF = new Date();
const daysAgo = (days: number) => new Date(ASOF.getTime() - days * DAY_MS);
const program: Program = { ...defaultProgram, pointsExpireAfterDays: 365 };
const TABLE = 'bench-scale';

// ---------------------------------------------------------------- the population

let n = 0;

function buy(state: CustomerState, when: Date, amount: number): CustomerState {
  const change = new PointsChange(state, program, when).settle();
  change.purchase({
    amount,
    occurredAt: when,
    availableAt: when,
    purchaseId: newId('pur', when.getTime()),
  });
  return change.customer;
}

/** Due for all four day jobs at ASOF (see the top of the file). */
function dueCustomer(): CustomerState {
  const yesterday = daysAgo(1);
  const monthDay = yesterday.toISOString().slice(5, 10);
  const enrolled = daysAgo(401);
  let state = newCustomer(
    newId('cus', enrolled.getTime()),
    { externalId: `scale-${++n}`, birthDate: `1990-${monthDay}` },
    program,
    enrolled,
  );
  // Last year's birthday credited: this year's, yesterday, is due.
  state = { ...state, birthdayYear: yesterday.getUTCFullYear() - 1 };
  state = buy(state, daysAgo(400), 60_000);
  return buy(state, daysAgo(355), 2_000);
}

/** Five purchases ten days apart, the last 60 days ago: lapsed at ASOF. */
function lapsedCustomer(): CustomerState {
  const enrolled = daysAgo(101);
  let state = newCustomer(
    newId('cus', enrolled.getTime()),
    { externalId: `lapse-${++n}` },
    program,
    enrolled,
  );
  for (const d of [100, 90, 80, 70, 60]) state = buy(state, daysAgo(d), 2_000);
  return state;
}

/** Builds and stores `total` customers, 8 BatchWriteItems in flight; returns their items. */
async function store(
  build: () => CustomerState,
  total: number,
): Promise<Record<string, unknown>[]> {
  const stored: Record<string, unknown>[] = [];
  const batches = Array.from({ length: Math.ceil(total / 25) }, (_, i) =>
    Math.min(25, total - i * 25),
  );
  await inParallel(batches, 8, async (size) => {
    const built = Array.from({ length: size }, () => customerItem(build()));
    stored.push(...built);
    let items = built.map((Item) => ({ PutRequest: { Item } }));
    while (items.length > 0) {
      const { UnprocessedItems } = await db().send(
        new BatchWriteCommand({ RequestItems: { [tableName()]: items } }),
      );
      items = (UnprocessedItems?.[tableName()] ?? []) as typeof items;
    }
  });
  return stored;
}

// ---------------------------------------------------------------- accounting

interface Tally {
  calls: number;
  writeUnits: number;
}
let tally: Tally = { calls: 0, writeUnits: 0 };
let measuring = false;
/** Time in DynamoDB calls while measuring, by operation (ms; calls in flight overlap). */
const callMs = new Map<string, number>();

/**
 * Write units of a Put as DynamoDB bills them: the item's size in KB, twice in a
 * transaction, and its index entries' (usage.ts indexUnits).
 */
function putUnits(item: Record<string, unknown>, transactional: boolean): number {
  return Math.max(1, Math.ceil(itemSize(item) / 1024)) * (transactional ? 2 : 1) + indexUnits(item);
}

const WRITES = new Set([
  'TransactWriteItems',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
]);

function account(command: string, input: any, output: unknown): void {
  const name = command.replace(/Command$/, '');
  if (measuring) tally.calls += 1;
  // A failed call wrote nothing.
  if (output === undefined || !WRITES.has(name)) return;
  const puts: { item: Record<string, unknown>; transactional: boolean }[] = [];
  let unsized = 0;
  if (name === 'TransactWriteItems') {
    for (const op of input.TransactItems ?? []) {
      if (op.Put) puts.push({ item: op.Put.Item, transactional: true });
      // An Update of a count (by day, by campaign): a small item, twice in a transaction.
      else unsized += 2;
    }
  } else if (name === 'PutItem') puts.push({ item: input.Item, transactional: false });
  else if (name === 'BatchWriteItem') {
    for (const requests of Object.values<any[]>(input.RequestItems ?? {})) {
      for (const r of requests)
        if (r.PutRequest) puts.push({ item: r.PutRequest.Item, transactional: false });
    }
  } else unsized += 1;
  for (const { item, transactional } of puts) {
    const written = putUnits(item, transactional);
    if (measuring) tally.writeUnits += written;
  }
  if (measuring) tally.writeUnits += unsized;
}

/** Times every call while measuring (not the store's concern). */
function timeCalls(): void {
  db().middlewareStack.add(
    (next, context) => async (request) => {
      const start = performance.now();
      try {
        return await next(request);
      } finally {
        const name = String(context.commandName).replace(/Command$/, '');
        if (measuring) callMs.set(name, (callMs.get(name) ?? 0) + performance.now() - start);
      }
    },
    { step: 'initialize', name: 'benchTiming' },
  );
}

interface Figures {
  customersPerSecond: number;
  roundTripsPerCustomer: number;
  writeUnitsPerCustomer: number;
}

async function measure(
  name: JobName,
  options: Parameters<typeof runJob>[2],
): Promise<{ customers: number; figures: Figures; seconds: number }> {
  tally = { calls: 0, writeUnits: 0 };
  callMs.clear();
  measuring = true;
  const start = performance.now();
  const result = await runJob(name, ASOF, options);
  const seconds = (performance.now() - start) / 1000;
  measuring = false;
  const customers = result.customers;
  if (process.env.BENCH_CALL_MS)
    console.error(
      name,
      Math.round(seconds * 1000),
      Object.fromEntries([...callMs].map(([k, v]) => [k, Math.round(v)])),
    );
  return {
    customers,
    seconds,
    figures: {
      customersPerSecond: round(customers / seconds, 1),
      roundTripsPerCustomer: round(tally.calls / Math.max(1, customers), 3),
      writeUnitsPerCustomer: round(tally.writeUnits / Math.max(1, customers), 2),
    },
  };
}

// ---------------------------------------------------------------- DynamoDB Local's own rate

/**
 * What DynamoDB Local takes a transaction of `size` customer Puts (each conditional on
 * its version, as a job writes them), one transaction at a time: ms per item. Measured on
 * customers of their own, so the jobs' figures are not touched.
 */
async function transactionCost(size: number, count: number): Promise<number> {
  const items = await store(lapsedCustomer, count);
  const start = performance.now();
  for (let i = 0; i < items.length; i += size) {
    await db().send(
      new TransactWriteCommand({
        TransactItems: items.slice(i, i + size).map((item) => ({
          Put: {
            TableName: tableName(),
            Item: { ...item, version: (item.version as number) + 1 },
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': item.version },
          },
        })),
      }),
    );
  }
  return (performance.now() - start) / items.length;
}

// ---------------------------------------------------------------- main

const JOBS: JobName[] = [
  'expire-points',
  'expiry-reminders',
  'review-tiers',
  'birthday-bonus',
  'lapse-scan',
];

let local: DynamoLocal | undefined;
const stop = async () => {
  const running = local;
  local = undefined;
  await running?.stop();
};
process.once('SIGINT', () => stop().finally(() => process.exit(130)));

try {
  local = await startDynamoLocal();
  process.env.DYNAMODB_ENDPOINT = local.endpoint;
  process.env.LOYALTY_TABLE = TABLE;
  await ensureTable(local.endpoint, TABLE);
  onDynamoCall(account);
  timeCalls();
  await putProgram(program);
  forgetCachedProgram();
  await createCampaign(
    { name: 'Birthday', type: 'birthday', points: 250, startsAt: daysAgo(30).toISOString() },
    { scope: 'bench', key: 'birthday', requestHash: 'h' },
    ASOF,
  );
  console.log(
    `Scale benchmark: a day's due work on DynamoDB Local (in memory), asOf ${ASOF.toISOString()}`,
  );
  const t = performance.now();
  await store(dueCustomer, DUE);
  await store(lapsedCustomer, LAPSED);
  console.log(
    `load: ${DUE} customers due for four day jobs, ${LAPSED} newly lapsed, in ${round((performance.now() - t) / 1000, 1)} s`,
  );
  console.log(
    `  before: one transaction per customer, one after another, on the first ${BEFORE} due;` +
      ` after: packed, ${JOB_TRANSACTIONS_IN_FLIGHT} transactions in flight, on the rest`,
  );
  console.log(
    `${'job'.padEnd(17)} ${'customers'.padStart(9)}  ${'cust/s before → after'.padStart(24)}  ${'round trips/cust'.padStart(18)}  ${'WCU/cust'.padStart(14)}`,
  );
  const jobs: Record<string, unknown> = {};
  const failures: string[] = [];
  for (const name of JOBS) {
    // Before: stop once BEFORE customers are done (pages of 100).
    let pages = 0;
    const before = await measure(name, {
      oneAtATime: true,
      pageSize: 100,
      shouldStop: () => pages++ >= Math.ceil(BEFORE / 100),
    });
    const after = await measure(name, {});
    const total = before.customers + after.customers;
    jobs[name] = { customers: total, before: before.figures, after: after.figures };
    const speedup = after.figures.customersPerSecond / before.figures.customersPerSecond;
    console.log(
      `${name.padEnd(17)} ${String(total).padStart(9)}  ${`${before.figures.customersPerSecond} → ${after.figures.customersPerSecond} (${round(speedup, 1)}x)`.padStart(24)}  ${`${before.figures.roundTripsPerCustomer} → ${after.figures.roundTripsPerCustomer}`.padStart(18)}  ${`${before.figures.writeUnitsPerCustomer} → ${after.figures.writeUnitsPerCustomer}`.padStart(14)}`,
    );
    if (speedup < 4) failures.push(`${name}: after is ${round(speedup, 2)}x before, not 4x`);
    if (after.figures.roundTripsPerCustomer > 0.25) {
      failures.push(`${name}: ${after.figures.roundTripsPerCustomer} round trips a customer`);
    }
    const expected = name === 'lapse-scan' ? LAPSED : DUE;
    if (total !== expected) failures.push(`${name}: changed ${total} customers, not ${expected}`);
    if ((await runJob(name, ASOF)).customers !== 0) failures.push(`${name}: a rerun changed some`);
  }
  // What DynamoDB Local takes per transaction and per item written: packing saves the
  // first, never the second, which sets what the packed runs above can reach here.
  const alone = await transactionCost(1, 300);
  const packedItem = await transactionCost(40, 2_000);
  console.log(
    `  DynamoDB Local itself, one transaction at a time: ${round(alone, 2)} ms for a transaction of one customer Put, ${round(packedItem, 2)} ms an item in transactions of 40 customer Puts`,
  );
  // In AWS: a page of 200 is one Query, one or two BatchGetItems and one wave of packed
  // transactions in flight; at ~10 ms a read and ~30 ms a transaction of ~30 customers:
  const awsPageMs = 10 + 2 * 10 + 30;
  console.log(
    `  expected in AWS (no DynamoDB Local write lock): a page of 200 in ~${awsPageMs} ms, ~${Math.round((200 * 1000) / awsPageMs)} customers/s per run`,
  );

  // The lapsed list on a table of its own (its own DynamoDB Local, so the customers flagged
  // above are not counted in its sizes): test/bench/lapsedList.ts, one JSON row per size.
  const lapsedListUnits: Record<string, number> = {};
  if (LIST_SIZES.length > 0) {
    const listed = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'test/bench/lapsedList.ts', '--sizes', LIST_SIZES.join(',')],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    for (const line of listed.split('\n').filter((l) => l.startsWith('{'))) {
      const row = JSON.parse(line) as {
        lapsed: number;
        valueAtRisk: number;
        churnRisk: number;
        wholeListBefore: number;
      };
      lapsedListUnits[String(row.lapsed)] = round(Math.max(row.valueAtRisk, row.churnRisk), 2);
      console.log(
        `lapsed list at ${row.lapsed} lapsed: a page of 50 reads ${row.valueAtRisk} units by value at risk, ${row.churnRisk} by churn risk (the whole list read before: ${row.wholeListBefore})`,
      );
    }
  }
  const unitsSeen = Object.values(lapsedListUnits);
  if (unitsSeen.length > 1 && Math.max(...unitsSeen) > 1.2 * Math.min(...unitsSeen)) {
    failures.push(`lapsed list: ${JSON.stringify(lapsedListUnits)} read units differ over 20%`);
  }
  for (const f of failures) console.error(`FAIL ${f}`);
  console.log(JSON.stringify({ jobs, lapsedListReadUnits: lapsedListUnits }));
  process.exitCode = failures.length > 0 ? 1 : 0;
} finally {
  await stop();
}
