/**
 * Where the counts by day live (domain/dayStats.ts):
 * - `DAYS#<shard>` / `<day>`: what the changes of a day added, spread over DAY_SHARDS
 *   partitions (a transaction picks one at random), so busy tills do not contend on an
 *   item; a report reads a range of days with one Query per shard.
 * - `DAILY` / `<day>`: a rolled-up day: its counts and what a report shows of the running
 *   totals at its end (a few hundred bytes), written by the roll-up job once the day is
 *   RECENT_DAYS old, so a report reads one small item a day for older days (and the
 *   shards of the recent ones).
 * - `DAILYTOTALS` / `<day>`: the running totals themselves (spend at risk by reason and
 *   month...), read only as the start of the days counted after them.
 * - `REPORTS` / `ROLLED`: the last day rolled up.
 * - `REPORTS` / `BACKFILL`: once every customer stored before the counts existed is counted.
 * - `REPORTS` / `STALE#<shard>`: a count per month (`m<YYYY-MM>`) of changes written to a
 *   day more than RECENT_DAYS ago (history imported): a day rolled up may have changed
 *   since, so rows from that month on are computed again (by the report until the job
 *   has done it). A till's backdated purchase or a lapse dated yesterday needs no mark.
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { encodeTime } from 'ulid';
import { addDays, type Counts, type DayStats, type Summary, utcDay } from '../domain/dayStats.ts';
import type { DomainEvent, LedgerEntry } from '../domain/ledger.ts';
import { db, tableName } from './client.ts';
import { EVENT_PREFIX, EVENTS_PARTITION, keys, LEDGER_PREFIX } from './keys.ts';
import { queryPages } from './pagination.ts';
import { backoff } from './transactions.ts';

/**
 * Transactions touching one item at once conflict (and retry): at 100 purchases a second,
 * each day item takes about three a second. A report reads a range with one Query each.
 */
export const DAY_SHARDS = 32;

/**
 * Days this recent are never stored as rows: reports read their shards, so a change to
 * one (a purchase backdated up to the program's maxBackdateDays, 30 by default; a lapse
 * dated the day before the scan) costs no mark. Older days are rolled up.
 */
export const RECENT_DAYS = 35;

const dayShardKey = keys.dayStats;
const rowKey = keys.dailyRow;
const ROLLED_KEY = keys.rolledUp();
const staleKey = keys.staleMonths;

/** `ADD` of every count: one expression, its names and values. */
function addCounts(counts: Counts) {
  const names: Record<string, string> = {};
  const values: Record<string, number> = {};
  const parts = Object.entries(counts).map(([name, n], i) => {
    names[`#n${i}`] = name;
    values[`:v${i}`] = n;
    return `#n${i} :v${i}`;
  });
  return {
    UpdateExpression: `ADD ${parts.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * The transaction items that add a change's counts: one per day it counts on (on one
 * shard, chosen at random), and a mark for the months of days older than RECENT_DAYS.
 */
export function dayStatsItems(stats: DayStats, now = Date.now()) {
  const TableName = tableName();
  const shard = Math.floor(Math.random() * DAY_SHARDS);
  const recent = addDays(utcDay(new Date(now)), -RECENT_DAYS);
  const items = [];
  const staleMonths: Counts = {};
  for (const [day, counts] of stats) {
    if (Object.keys(counts).length === 0) continue;
    items.push({ Update: { TableName, Key: dayShardKey(shard, day), ...addCounts(counts) } });
    if (day < recent) staleMonths[`m${day.slice(0, 7)}`] = 1;
  }
  if (Object.keys(staleMonths).length > 0) {
    items.push({ Update: { TableName, Key: staleKey(shard), ...addCounts(staleMonths) } });
  }
  return items;
}

/** How many items dayStatsItems gives for `days` (at most one more for the mark). */
export const dayStatsItemCount = (stats: DayStats) =>
  [...stats.values()].filter((c) => Object.keys(c).length > 0).length;

/** What each day from `from` (or the first) to `to` added, summed over the shards. */
export async function readDays(from: string | undefined, to: string): Promise<DayStats> {
  const days: DayStats = new Map();
  await Promise.all(
    Array.from({ length: DAY_SHARDS }, async (_, shard) => {
      for await (const items of queryPages({
        TableName: tableName(),
        KeyConditionExpression:
          from === undefined ? 'PK = :pk AND SK <= :to' : 'PK = :pk AND SK BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': dayShardKey(shard, '').PK,
          ':to': to,
          ...(from !== undefined && { ':from': from }),
        },
        ConsistentRead: true,
      })) {
        for (const item of items) {
          const {
            PK: _pk,
            SK: day,
            ...counts
          } = item as Record<string, number> & {
            PK: string;
            SK: string;
          };
          const into = days.get(day) ?? {};
          for (const [name, n] of Object.entries(counts)) into[name] = (into[name] ?? 0) + n;
          days.set(day, into);
        }
      }
    }),
  );
  return days;
}

/** A day: what it added and what a report shows of the totals at its end. */
export interface DayRow {
  date: string;
  day: Counts;
  summary: Summary;
}

/** The rolled-up days from `from` to `to` (one Query). */
export async function readRows(from: string, to: string): Promise<DayRow[]> {
  const rows: DayRow[] = [];
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': rowKey('').PK, ':from': from, ':to': to },
  })) {
    for (const item of items) {
      rows.push({
        date: item.SK as string,
        day: item.day as Counts,
        summary: item.summary as Summary,
      });
    }
  }
  return rows;
}

/** The totals at the end of a day rolled up (none before the first). */
export async function readTotals(day: string): Promise<Counts | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.dailyTotals(day), ConsistentRead: true }),
  );
  return Item?.totals as Counts | undefined;
}

/**
 * Writes rolled-up days, each its row and its totals, 25 items to a BatchWriteItem (what
 * is left unprocessed is sent again).
 */
export async function writeRows(
  rows: (DayRow & { totals: Counts })[],
  rolledAt: Date,
): Promise<void> {
  const at = rolledAt.toISOString();
  const items = rows.flatMap((row) => [
    { ...rowKey(row.date), day: row.day, summary: row.summary, rolledAt: at },
    { ...keys.dailyTotals(row.date), totals: row.totals, rolledAt: at },
  ]);
  for (let i = 0; i < items.length; i += 25) {
    let requests: { PutRequest: { Item: Record<string, unknown> } }[] = items
      .slice(i, i + 25)
      .map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const { UnprocessedItems } = await db().send(
        new BatchWriteCommand({ RequestItems: { [tableName()]: requests } }),
      );
      requests = (UnprocessedItems?.[tableName()] ?? []) as typeof requests;
    }
  }
}

/** Where the roll-up stands: the last day rolled up and the marks of changed months. */
export interface RollUpState {
  rolledThrough: string | undefined;
  /** Marks by shard: count by `m<YYYY-MM>`. */
  stale: Map<number, Counts>;
  /** The first day of the earliest month marked, if any. */
  staleFrom: string | undefined;
}

export async function readRollUpState(): Promise<RollUpState> {
  const Keys = [ROLLED_KEY, ...Array.from({ length: DAY_SHARDS }, (_, i) => staleKey(i))];
  const Responses: Record<string, Record<string, unknown>[]> = { [tableName()]: [] };
  let request: Record<string, { Keys: object[]; ConsistentRead: true }> = {
    [tableName()]: { Keys, ConsistentRead: true },
  };
  for (let attempt = 0; Object.keys(request).length > 0; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const answer = await db().send(new BatchGetCommand({ RequestItems: request }));
    Responses[tableName()]?.push(...(answer.Responses?.[tableName()] ?? []));
    request = (answer.UnprocessedKeys ?? {}) as typeof request;
  }
  const stale = new Map<number, Counts>();
  let rolledThrough: string | undefined;
  let earliest: string | undefined;
  for (const item of Responses?.[tableName()] ?? []) {
    if (item.SK === 'ROLLED') {
      rolledThrough = item.through as string;
      continue;
    }
    const { PK: _pk, SK, ...marks } = item as Record<string, number> & { PK: string; SK: string };
    const counts: Counts = {};
    for (const [name, n] of Object.entries(marks)) {
      if (n <= 0) continue;
      counts[name] = n;
      const month = name.slice(1);
      if (earliest === undefined || month < earliest) earliest = month;
    }
    stale.set(Number(SK.slice('STALE#'.length)), counts);
  }
  return { rolledThrough, stale, staleFrom: earliest && `${earliest}-01` };
}

/**
 * After a roll-up: the marks it read are taken off (a change marked meanwhile keeps its
 * own), and the last day rolled up is kept.
 */
export async function finishRollUp(state: RollUpState, through: string): Promise<void> {
  await Promise.all(
    [...state.stale]
      .filter(([, counts]) => Object.keys(counts).length > 0)
      .map(([shard, counts]) =>
        db().send(
          new UpdateCommand({
            TableName: tableName(),
            Key: staleKey(shard),
            ...addCounts(Object.fromEntries(Object.entries(counts).map(([m, n]) => [m, -n]))),
          }),
        ),
      ),
  );
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: ROLLED_KEY,
      UpdateExpression: 'SET through = :through',
      ExpressionAttributeValues: { ':through': through },
    }),
  );
}

const BACKFILL_KEY = keys.reportsBackfill();

/**
 * One roll-up at a time (the schedule and the route, a retried invocation): a lease on
 * `REPORTS` / `LEASE` until `ms` from now; false if another run holds one.
 */
export async function takeRollUpLease(token: string, now: number, ms: number): Promise<boolean> {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...keys.rollUpLease(), token, until: now + ms },
        ConditionExpression: 'attribute_not_exists(PK) OR #until < :now',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':now': now },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

export async function releaseRollUpLease(token: string): Promise<void> {
  try {
    await db().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: keys.rollUpLease(),
        ConditionExpression: '#token = :token',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: { ':token': token },
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}

/** How far the counting of customers stored before the counts existed has got. */
export async function backfillState(): Promise<{ done: boolean; nextShard: number }> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: BACKFILL_KEY, ConsistentRead: true }),
  );
  return { done: Item?.done === true, nextShard: (Item?.nextShard as number | undefined) ?? 0 };
}

export async function saveBackfillState(
  state: { done: boolean; nextShard: number },
  at: Date,
): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: BACKFILL_KEY,
      UpdateExpression: 'SET done = :done, nextShard = :shard, savedAt = :at',
      ExpressionAttributeValues: {
        ':done': state.done,
        ':shard': state.nextShard,
        ':at': at.toISOString(),
      },
    }),
  );
}

/** A customer's whole ledger, oldest first. */
export async function wholeLedger(customerId: string): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ledger)',
    ExpressionAttributeValues: { ':pk': keys.customer(customerId).PK, ':ledger': LEDGER_PREFIX },
    ConsistentRead: true,
  })) {
    for (const item of items) {
      const { PK: _pk, SK: _sk, ...entry } = item;
      entries.push(entry as unknown as LedgerEntry);
    }
  }
  return entries;
}

/**
 * The outbox's `customer.reactivated` events (the lapses that ended) recorded from `since`
 * (epoch ms; ids are ULIDs, so they start with their time), added to `into` by customer,
 * each once.
 */
export async function addReactivations(
  into: Map<string, DomainEvent[]>,
  since: number,
): Promise<void> {
  const seen = new Set([...into.values()].flat().map((e) => e.id));
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND SK >= :from',
    FilterExpression: '#type = :type',
    ExpressionAttributeNames: { '#type': 'type' },
    ExpressionAttributeValues: {
      ':pk': EVENTS_PARTITION,
      ':from': `${EVENT_PREFIX}evt_${encodeTime(Math.max(0, since), 10)}`,
      ':type': 'customer.reactivated',
    },
    ConsistentRead: true,
  })) {
    for (const item of items) {
      const event = item as unknown as DomainEvent;
      if (seen.has(event.id)) continue;
      const list = into.get(event.customerId) ?? [];
      list.push(event);
      into.set(event.customerId, list);
    }
  }
}
