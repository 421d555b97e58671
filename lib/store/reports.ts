/**
 * Where the counts by day live (domain/dayStats.ts):
 * - `DAYS#<shard>` / `<day>`: what the changes of a day added, spread over DAY_SHARDS
 *   partitions (a transaction picks one at random), so busy tills do not contend on an
 *   item; a report reads a range of days with one Query per shard.
 * - `DAILY` / `<day>`: a rolled-up day: its counts and what a report shows of the running
 *   totals at its end (a few hundred bytes), written by the roll-up job once the day is
 *   a few days old, so a report reads one small item a day for older days (and the
 *   shards of the last few).
 * - `DAILYTOTALS` / `<day>`: the running totals themselves (spend at risk by reason and
 *   month...), read only as the start of the days counted after them.
 * - `REPORTS` / `ROLLED`: the last day rolled up.
 * - `REPORTS` / `BACKFILL`: once every customer stored before the counts existed is counted.
 * - `REPORTS` / `STALE#<shard>`: marks of changes written to a day more than RECENT_DAYS
 *   ago (a backdated purchase, a lapse dated when its rule started to hold, history
 *   imported): a count per day (`m<YYYY-MM-DD>`) for the last DAY_MARKS days, per month
 *   (`m<YYYY-MM>`) before. A day rolled up may have changed since, so rows from the
 *   earliest day marked on are computed again (by the report until the job has done it).
 *   The job takes the marks it acted on off (their attributes go), so the items stay small.
 * Everything under `REPORTS` is read with one consistent Query.
 */
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { encodeTime } from 'ulid';
import { addDays, type Counts, type DayStats, type Summary, utcDay } from '../domain/dayStats.ts';
import type { DomainEvent, LedgerEntry } from '../domain/ledger.ts';
import { db, tableName, writeIf } from './client.ts';
import { EVENT_PREFIX, EVENTS_PARTITION, keys, LEDGER_PREFIX } from './keys.ts';
import { queryPages } from './pagination.ts';

/**
 * Transactions touching one item at once conflict (and retry): at 100 purchases a second,
 * each day item takes about three a second. A report reads a range with one Query each.
 */
export const DAY_SHARDS = 32;

/**
 * Days this recent (today and the two before) are never stored as rows: reports read
 * their shards, so a change to one costs no mark. Older days are rolled up; a change to
 * one marks its day. Fewer recent days, fewer items a report reads (32 a day).
 */
export const RECENT_DAYS = 2;

/** Changes this many days back mark their day; older ones their month (years imported). */
export const DAY_MARKS = 62;

const dayShardKey = keys.dayStats;
const rowKey = keys.dailyRow;
const ROLLED_KEY = keys.rolledUp();
const staleKey = keys.staleMonths;

/** `ADD` of every count: one expression, its names and values. */
/** An Update's ADD of every count (`name: n`), with placeholder names and values. */
export function addCounts(counts: Counts) {
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
 * shard, chosen at random), and on the same shard's mark item a mark for each day older
 * than RECENT_DAYS (its month, past DAY_MARKS days).
 */
export function dayStatsItems(stats: DayStats, now = Date.now()) {
  const TableName = tableName();
  const shard = Math.floor(Math.random() * DAY_SHARDS);
  const today = utcDay(new Date(now));
  const recent = addDays(today, -RECENT_DAYS);
  const byDay = addDays(today, -DAY_MARKS);
  const items = [];
  const marks: Counts = {};
  for (const [day, counts] of stats) {
    if (Object.keys(counts).length === 0) continue;
    items.push({ Update: { TableName, Key: dayShardKey(shard, day), ...addCounts(counts) } });
    if (day < recent) marks[`m${day >= byDay ? day : day.slice(0, 7)}`] = 1;
  }
  if (Object.keys(marks).length > 0) {
    items.push({ Update: { TableName, Key: staleKey(shard), ...addCounts(marks) } });
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

/** Where the roll-up stands: the last day rolled up and the marks of changed days. */
export interface RollUpState {
  rolledThrough: string | undefined;
  /** Mark items by shard: count by `m<YYYY-MM-DD>` or `m<YYYY-MM>` (0 once taken off). */
  stale: Map<number, Counts>;
  /** The earliest day marked (a month's first day), if any. */
  staleFrom: string | undefined;
}

/** The first day a mark stands for. */
const markedFrom = (name: string) => (name.length === 8 ? `${name.slice(1)}-01` : name.slice(1));

/** `REPORTS`, whole, with one consistent Query (ROLLED, the marks, the lease, BACKFILL). */
export async function readRollUpState(): Promise<RollUpState> {
  const stale = new Map<number, Counts>();
  let rolledThrough: string | undefined;
  let staleFrom: string | undefined;
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': ROLLED_KEY.PK },
    ConsistentRead: true,
  })) {
    for (const item of items) {
      if (item.SK === ROLLED_KEY.SK) rolledThrough = item.through as string;
      if (!(item.SK as string).startsWith('STALE#')) continue;
      const { PK: _pk, SK, ...marks } = item as Record<string, number> & { PK: string; SK: string };
      stale.set(Number(SK.slice('STALE#'.length)), marks);
      for (const [name, n] of Object.entries(marks)) {
        const from = markedFrom(name);
        if (n > 0 && (staleFrom === undefined || from < staleFrom)) staleFrom = from;
      }
    }
  }
  return { rolledThrough, stale, staleFrom };
}

/** Attributes a mark item's update names at once (its expressions stay far under 4 KB). */
const MARKS_PER_UPDATE = 50;

/**
 * Takes the marks read off one mark item: their attributes go if none changed since;
 * if a change marked one meanwhile, only the counts read are taken off (its own stays,
 * the rest go at the next run).
 */
async function clearMarks(shard: number, marks: Counts): Promise<void> {
  const entries = Object.entries(marks);
  for (let i = 0; i < entries.length; i += MARKS_PER_UPDATE) {
    const part = entries.slice(i, i + MARKS_PER_UPDATE);
    const names = Object.fromEntries(part.map(([name], k) => [`#n${k}`, name]));
    const values = Object.fromEntries(part.map(([, n], k) => [`:v${k}`, n]));
    try {
      await db().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: staleKey(shard),
          UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
          ConditionExpression: part.map((_, k) => `#n${k} = :v${k}`).join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      const read = Object.fromEntries(part.filter(([, n]) => n > 0).map(([m, n]) => [m, -n]));
      if (Object.keys(read).length === 0) continue;
      await db().send(
        new UpdateCommand({ TableName: tableName(), Key: staleKey(shard), ...addCounts(read) }),
      );
    }
  }
}

/**
 * After a roll-up: the marks it read are taken off (a change marked meanwhile keeps its
 * own), and the last day rolled up is kept.
 */
export async function finishRollUp(state: RollUpState, through: string): Promise<void> {
  await Promise.all(
    [...state.stale]
      .filter(([, marks]) => Object.keys(marks).length > 0)
      .map(([shard, marks]) => clearMarks(shard, marks)),
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
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keys.rollUpLease(), token, until: now + ms },
      ConditionExpression: 'attribute_not_exists(PK) OR #until < :now',
      ExpressionAttributeNames: { '#until': 'until' },
      ExpressionAttributeValues: { ':now': now },
    }),
  );
}

export async function releaseRollUpLease(token: string): Promise<void> {
  await writeIf(
    new DeleteCommand({
      TableName: tableName(),
      Key: keys.rollUpLease(),
      ConditionExpression: '#token = :token',
      ExpressionAttributeNames: { '#token': 'token' },
      ExpressionAttributeValues: { ':token': token },
    }),
  );
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
      const event = item as unknown as DomainEvent & { customerId: string };
      if (seen.has(event.id)) continue;
      const list = into.get(event.customerId) ?? [];
      list.push(event);
      into.set(event.customerId, list);
    }
  }
}
