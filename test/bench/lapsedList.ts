/**
 * What one page of the lapsed list sorted by value at risk or by churnRisk reads, at a
 * given number of lapsed customers (issue 27: it must not grow with them). For a bench
 * that has already pointed the store at a DynamoDB Local table (LOYALTY_TABLE,
 * DYNAMODB_ENDPOINT, as the other benches in test/bench do) and stored a program:
 *
 *   const units = await lapsedListReadUnits(10_000); // then (100_000), on the same table
 *
 * It stores lapsed customers straight into the table with BatchWriteItem (no API: each a
 * realistic state built by the domain code, 3-6 purchases at a steady gap then a silence
 * past the lapse rule, flagged by PointsChange and stored by the store's own
 * scoredCustomerItem under the model in force, as a change would write it), then lists one
 * page of 50 in each order through the use case (listLapsedCustomers), asking DynamoDB
 * Local for the capacity every call of the page consumed (ReturnConsumedCapacity=TOTAL).
 * The program and the model are read once before, as a warm container has them cached.
 *
 * Run directly (`npx tsx test/bench/lapsedList.ts [-- --sizes 10000,100000]`), it starts an
 * in-memory DynamoDB Local, stores the default program and a trusted model (the published
 * CDNOW fit, so churnRisk varies), prints the units of both orders at each size, with what
 * a sorted page read before the orders were stored (every lapsed customer: allLapsed),
 * and exits non-zero when the largest size costs more than 20% over the smallest.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type CustomerState, newCustomer } from '../../lib/domain/customer.ts';
import { DAY_MS } from '../../lib/domain/days.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { newId } from '../../lib/ids.ts';
import { ensureTable, startDynamoLocal } from '../../lib/local/dynamo.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { type RiskScoring, scoredCustomerItem } from '../../lib/store/customers.ts';
import { allLapsed } from '../../lib/store/lapsed.ts';
import { getModel, putModel } from '../../lib/store/model.ts';
import { getProgram, putProgram } from '../../lib/store/program.ts';
import { listLapsedCustomers } from '../../lib/usecases/lapse.ts';
import { pool } from './usage.ts';
import { prng } from './workload.ts';

/** The page measured: the merchant console's call list asks for 50. */
export const PAGE_LIMIT = 50;

/**
 * The read units of one page of 50 of the lapsed list, the larger of its two sorted
 * orders (valueAtRisk, churnRisk: see lapsedListPageUnits for both), once the table holds
 * `lapsedCount` lapsed customers written by this module (it writes the difference, so a
 * bench can call it at 10,000 then 100,000 on one table).
 */
export async function lapsedListReadUnits(lapsedCount: number): Promise<number> {
  const units = await lapsedListPageUnits(lapsedCount);
  return Math.max(units.valueAtRisk, units.churnRisk);
}

/** The read units of one page of 50 in each sorted order (see lapsedListReadUnits). */
export async function lapsedListPageUnits(
  lapsedCount: number,
): Promise<{ valueAtRisk: number; churnRisk: number }> {
  await writeLapsedCustomers(lapsedCount - (written.get(tableName()) ?? 0));
  return {
    valueAtRisk: await pageUnits('valueAtRisk'),
    churnRisk: await pageUnits('churnRisk'),
  };
}

/** Lapsed customers this module has written, by table. */
const written = new Map<string, number>();

/**
 * Stores `count` lapsed customers (none for 0 or less), built and scored as a change
 * would write them as of now; returns their ids.
 */
export async function writeLapsedCustomers(count: number, seed = 27): Promise<string[]> {
  if (count <= 0) return [];
  const [program, model] = await Promise.all([getProgram(), getModel()]);
  const now = new Date();
  const scoring: RiskScoring = { model, at: now };
  const random = prng(seed + (written.get(tableName()) ?? 0));
  const ids: string[] = [];
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < count; i += 25) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + 25); k++) {
      const customer = lapsedCustomer(program, now, random);
      ids.push(customer.id);
      batch.push(scoredCustomerItem(customer, scoring));
    }
    batches.push(batch);
  }
  await pool(batches, 8, storeBatch);
  written.set(tableName(), (written.get(tableName()) ?? 0) + count);
  return ids;
}

/**
 * A customer who bought 3-6 times `gap` days apart (log-normal amounts, median $35) and
 * then fell silent for longer than the lapse rule allows: flagged lapsed as of `now`.
 */
export function lapsedCustomer(program: Program, now: Date, random: () => number): CustomerState {
  const { factor, minDays } = program.lapse;
  const purchases = Math.max(program.lapse.minPurchases, 3 + Math.floor(random() * 4));
  const gap = 7 + Math.floor(random() * 29);
  const silence = Math.ceil(Math.max(minDays, factor * gap)) + 1 + Math.floor(random() * 300);
  const last = now.getTime() - silence * DAY_MS - Math.floor(random() * DAY_MS);
  const first = last - (purchases - 1) * gap * DAY_MS;
  const createdAt = new Date(first - Math.floor(random() * 30 * DAY_MS) - 60_000);
  let state = newCustomer(newId('cus', createdAt.getTime()), {}, program, createdAt);
  for (let p = 0; p < purchases; p++) {
    const occurredAt = new Date(first + p * gap * DAY_MS);
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const amount = Math.max(100, Math.round(Math.exp(Math.log(3500) + 0.7 * normal)));
    const change = new PointsChange(state, program, occurredAt).settle();
    change.purchase({
      amount,
      occurredAt,
      availableAt: new Date(occurredAt.getTime() + program.pendingDays * DAY_MS),
      purchaseId: newId('pur', occurredAt.getTime()),
    });
    state = change.customer;
  }
  const flag = new PointsChange(state, program, now);
  if (!flag.flagLapse()) throw new Error(`customer ${state.id} was meant to be lapsed`);
  return flag.customer;
}

async function storeBatch(items: Record<string, unknown>[]): Promise<void> {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 8) throw new Error('BatchWriteItem left items unprocessed');
    if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    const { UnprocessedItems } = await db().send(
      new BatchWriteCommand({ RequestItems: { [tableName()]: pending } }),
    );
    pending = (UnprocessedItems?.[tableName()] ?? []) as typeof pending;
  }
}

/** Read units of one page of PAGE_LIMIT in `sort` order, as DynamoDB Local reports them. */
async function pageUnits(sort: 'valueAtRisk' | 'churnRisk'): Promise<number> {
  // Warm: the program and the model are cached per container, as in a warm Lambda.
  await listLapsedCustomers({ limit: 1, sort });
  return measured(async () => {
    const page = await listLapsedCustomers({ limit: PAGE_LIMIT, sort });
    if (page.items.length === 0) throw new Error('no lapsed customer listed');
  });
}

/** The read units `run` consumes, as DynamoDB Local reports them. */
async function measured(run: () => Promise<unknown>): Promise<number> {
  measuring = true;
  instrument();
  let units = 0;
  const stop = onDynamoCall((_command, _input, output) => {
    const consumed = (output as { ConsumedCapacity?: unknown } | undefined)?.ConsumedCapacity;
    for (const c of [consumed ?? []].flat() as { CapacityUnits?: number }[]) {
      units += c.CapacityUnits ?? 0;
    }
  });
  try {
    await run();
  } finally {
    stop();
    measuring = false;
  }
  return units;
}

let measuring = false;
let instrumented = false;

/** Asks DynamoDB for the capacity each call consumed, while a page is measured. */
function instrument(): void {
  if (instrumented) return;
  instrumented = true;
  db().middlewareStack.add(
    (next) => async (request) => {
      const input = request.input as Record<string, unknown>;
      if (!measuring || input.ReturnConsumedCapacity !== undefined) return next(request);
      return next({ ...request, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
    },
    { step: 'initialize', name: 'lapsedListCapacity' },
  );
}

/** The check run by hand: both orders at each size, in one table grown through the sizes. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sizes: { type: 'string', default: '10000,100000' } },
    strict: true,
  });
  const sizes = values.sizes.split(',').map(Number);
  const local = await startDynamoLocal();
  try {
    process.env.DYNAMODB_ENDPOINT = local.endpoint;
    process.env.LOYALTY_TABLE = 'loyalty-bench-lapsed-list';
    await ensureTable(local.endpoint, tableName());
    await putProgram(defaultProgram);
    await putModel({
      ...{ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
      logLikelihood: 0,
      customers: 2357,
      repeatCustomers: 1000,
      historyDays: 540,
      fittedAt: new Date().toISOString(),
    });
    const rows = [];
    for (const size of sizes) {
      const started = Date.now();
      const units = await lapsedListPageUnits(size);
      const before = await measured(allLapsed);
      rows.push({
        lapsed: size,
        ...units,
        wholeListBefore: before,
        seconds: Math.round((Date.now() - started) / 1000),
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
    const first = rows[0];
    const last = rows.at(-1);
    if (!first || !last) return;
    for (const sort of ['valueAtRisk', 'churnRisk'] as const) {
      const growth = last[sort] / first[sort] - 1;
      console.log(
        `${sort}: ${first[sort]} -> ${last[sort]} read units (${(100 * growth).toFixed(1)}%)`,
      );
      if (growth > 0.2) process.exitCode = 1;
    }
  } finally {
    await local.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
