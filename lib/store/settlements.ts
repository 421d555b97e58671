/**
 * A partner's settlement totals (domain/settlement.ts): under `SETTLETOTALS#<partnerId>`,
 * one item per UTC day, hour and minute with captures and per shard, holding `count`,
 * `amount` and `points`, added to by the transaction that captures. A report reads the
 * items of its range and the captures of the partial minutes at its ends.
 *
 * Captures written before the totals sit under the legacy GSI1 partition `SETTLE#<id>`
 * and are in no totals; a partner whose captures may be there (one created before the
 * totals, until the one-off pass has moved them) is summed capture by capture, as before.
 */
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  bucketRange,
  bucketsOf,
  type SettlementPiece,
  settlementPieces,
  type TotalsLevel,
} from '../domain/settlement.ts';
import { db, tableName } from './client.ts';
import { indexKeys, keys } from './keys.ts';
import { queryPages } from './pagination.ts';
import { batchGet } from './reads.ts';
import { failedConditions, isTransactionConflict } from './transactions.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * Transactions touching one item at once conflict (and retry): each capture adds to one
 * shard, chosen at random, so a partner's tills spread over this many items per bucket. A
 * report reads every shard of its buckets, so more shards cost every report.
 */
export const SETTLEMENT_SHARDS = 4;

/** What a capture adds to its partner's totals. */
export interface SettledCapture {
  partnerId: string;
  capturedAt: string;
  amount: number;
  points: number;
}

/**
 * The transaction items that add a capture to its day's, hour's and minute's totals, on
 * one shard. Unconditional: they only fail when another transaction holds the item (a
 * conflict, retried from a fresh read), so the capture commits and counts, or neither.
 */
export function settlementTotalItems(capture: SettledCapture): TransactItem[] {
  const shard = Math.floor(Math.random() * SETTLEMENT_SHARDS);
  return bucketsOf(capture.capturedAt).map(({ level, bucket }) => ({
    Update: {
      TableName: tableName(),
      Key: keys.settlementTotals(capture.partnerId, `${level}#${bucket}#${shard}`),
      UpdateExpression: 'ADD #count :one, #amount :amount, #points :points',
      ExpressionAttributeNames: { '#count': 'count', '#amount': 'amount', '#points': 'points' },
      ExpressionAttributeValues: {
        ':one': 1,
        ':amount': capture.amount,
        ':points': capture.points,
      },
    },
  }));
}

/**
 * Sums as BigInt: DynamoDB adds exactly up to 38 digits, and the document client reads a
 * number past 2^53 as a bigint, so a total is never rounded; the caller decides what it
 * can answer.
 */
export interface SettlementTotals {
  count: bigint;
  amount: bigint;
  points: bigint;
}

const none = (): SettlementTotals => ({ count: 0n, amount: 0n, points: 0n });

/** A totals item: its count, amount and points (numbers, bigints past 2^53). */
const addTotals = (into: SettlementTotals, item: Record<string, unknown>) => {
  into.count += BigInt(item.count as number | bigint);
  into.amount += BigInt(item.amount as number | bigint);
  into.points += BigInt(item.points as number | bigint);
};

/** A capture: one, its amount (Money) and points. */
const addCapture = (into: SettlementTotals, item: Record<string, unknown>) => {
  into.count += 1n;
  into.amount += BigInt((item.amount as { amount: number }).amount);
  into.points += BigInt(item.points as number);
};

/** The partner, if it exists, and whether every capture at it is in its totals. */
export async function partnerSettlementState(
  partnerId: string,
): Promise<{ totalled: boolean } | undefined> {
  const { Item } = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: keys.partner(partnerId),
      ProjectionExpression: 'id, settlementTotals',
    }),
  );
  return Item && { totalled: Item.settlementTotals === true };
}

/** The captures in one GSI1 partition in [from, to): `<capturedAt>#<id>` sorts by time. */
const capturesIn = (partition: string, from: string, to: string) =>
  queryPages({
    TableName: tableName(),
    IndexName: 'GSI1',
    // BETWEEN takes captures at `from` and leaves out those at `to` (`<to>#<id>` > `<to>`).
    KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': partition, ':from': from, ':to': to },
    ProjectionExpression: 'id, amount, points',
  });

/** One piece of totals: every shard of its buckets, one consistent Query. */
async function sumTotals(partnerId: string, piece: SettlementPiece & { level: TotalsLevel }) {
  const totals = none();
  const { first, last } = bucketRange(piece);
  for await (const items of queryPages({
    TableName: tableName(),
    // '$' sorts after '#', so the last bucket's shards are in.
    KeyConditionExpression: 'PK = :pk AND SK BETWEEN :first AND :last',
    ExpressionAttributeValues: {
      ':pk': keys.settlementTotals(partnerId, '').PK,
      ':first': `${piece.level}#${first}#`,
      ':last': `${piece.level}#${last}$`,
    },
    ProjectionExpression: '#count, amount, points',
    ExpressionAttributeNames: { '#count': 'count' },
    ConsistentRead: true,
  })) {
    for (const item of items) addTotals(totals, item);
  }
  return totals;
}

async function sumCaptures(partition: string, from: string, to: string) {
  const totals = none();
  for await (const items of capturesIn(partition, from, to)) {
    for (const item of items) addCapture(totals, item);
  }
  return totals;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A totalled partner's captures in [from, to): the totals of the whole days, hours and
 * minutes in it, the captures of the partial minutes at its ends, and any capture a
 * version before the totals wrote after the pass (in the legacy partition, normally empty).
 */
async function totalledSettlement(partnerId: string, from: string, to: string) {
  const pieces = settlementPieces(Date.parse(from), Date.parse(to));
  const sums = await Promise.all([
    ...pieces.map((piece) =>
      piece.level === undefined
        ? sumCaptures(indexKeys.settlementPartition(partnerId), iso(piece.from), iso(piece.to))
        : sumTotals(partnerId, { ...piece, level: piece.level }),
    ),
    legacyStillThere(partnerId, from, to),
  ]);
  return sums.reduce((all, s) => ({
    count: all.count + s.count,
    amount: all.amount + s.amount,
    points: all.points + s.points,
  }));
}

/**
 * The captures still in the legacy partition (written by a version before the totals after
 * the pass; normally none). The index is read eventually consistently, so a capture the pass
 * has just moved into the totals can still show there: each one found is read again,
 * consistently, and counted only if it has not moved.
 */
async function legacyStillThere(partnerId: string, from: string, to: string) {
  const legacy = indexKeys.legacySettlementPartition(partnerId);
  const totals = none();
  for await (const items of capturesIn(legacy, from, to)) {
    const now = await batchGet(items.map((item) => keys.redemption(item.id as string)));
    for (const item of now) if (item.GSI1PK === legacy) addCapture(totals, item);
  }
  return totals;
}

/**
 * Before the pass, capture by capture: the legacy partition first, then the new one, each
 * redemption once (one the pass moves meanwhile may show in both).
 */
async function capturesSettlement(partnerId: string, from: string, to: string) {
  const totals = none();
  const seen = new Set<string>();
  for (const partition of [
    indexKeys.legacySettlementPartition(partnerId),
    indexKeys.settlementPartition(partnerId),
  ]) {
    for await (const items of capturesIn(partition, from, to)) {
      for (const item of items) {
        if (seen.has(item.id as string)) continue;
        seen.add(item.id as string);
        addCapture(totals, item);
      }
    }
  }
  return totals;
}

/** What `partnerId` captured in [from, to) (RFC 3339 UTC, as toISOString writes them). */
export function settlementTotals(
  partnerId: string,
  from: string,
  to: string,
  totalled: boolean,
): Promise<SettlementTotals> {
  return totalled
    ? totalledSettlement(partnerId, from, to)
    : capturesSettlement(partnerId, from, to);
}

// The one-off pass (usecases/settlementTotals.ts).

/** Where the pass stands: done, or the last partner (its SK) it finished. */
export async function settlementTotalsState(): Promise<{ done: boolean; after?: string }> {
  const { Item } = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: keys.settlementTotalsState(),
      ConsistentRead: true,
    }),
  );
  return { done: Item?.done === true, ...(Item?.after !== undefined && { after: Item.after }) };
}

export async function saveSettlementTotalsState(state: { done: boolean; after?: string }) {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keys.settlementTotalsState(), ...state },
    }),
  );
}

/** Partners after `after` (an SK), by id, a page of up to 100 at a time. */
export async function* partnersAfter(
  after: string | undefined,
): AsyncGenerator<{ sk: string; id: string; totalled: boolean }[]> {
  const { PK, SK: prefix } = keys.partner('');
  for await (const page of queryPages({
    TableName: tableName(),
    // The partition holds partners only.
    KeyConditionExpression:
      after === undefined ? 'PK = :pk AND begins_with(SK, :prefix)' : 'PK = :pk AND SK > :after',
    ExpressionAttributeValues: {
      ':pk': PK,
      ...(after === undefined ? { ':prefix': prefix } : { ':after': after }),
    },
    ProjectionExpression: 'SK, id, settlementTotals',
    Limit: 100,
  })) {
    yield page.map((item) => ({
      sk: item.SK as string,
      id: item.id as string,
      totalled: item.settlementTotals === true,
    }));
  }
}

/** Up to `limit` of a partner's captures in no totals yet (the legacy partition). */
export async function legacyCaptures(
  partnerId: string,
  limit: number,
): Promise<(SettledCapture & { id: string })[]> {
  for await (const items of queryPages({
    TableName: tableName(),
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :pk',
    ExpressionAttributeValues: { ':pk': indexKeys.legacySettlementPartition(partnerId) },
    ProjectionExpression: 'id, partnerId, capturedAt, amount, points',
    Limit: limit,
  })) {
    return items.map((item) => ({
      id: item.id as string,
      partnerId: item.partnerId as string,
      capturedAt: item.capturedAt as string,
      amount: (item.amount as { amount: number }).amount,
      points: item.points as number,
    }));
  }
  return [];
}

/**
 * Adds a legacy capture to its partner's totals and moves it out of the legacy partition,
 * in one transaction conditional on it being there still: however many passes race, it
 * is added once. False if it was moved already (or another transaction held an item).
 */
export async function moveToTotals(capture: SettledCapture & { id: string }): Promise<boolean> {
  const legacy = indexKeys.legacySettlementPartition(capture.partnerId);
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName(),
              Key: keys.redemption(capture.id),
              UpdateExpression: 'SET GSI1PK = :totalled',
              ConditionExpression: 'GSI1PK = :legacy AND #status = :captured',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':totalled': indexKeys.settlementPartition(capture.partnerId),
                ':legacy': legacy,
                ':captured': 'captured',
              },
            },
          },
          ...settlementTotalItems(capture),
        ],
      }),
    );
    return true;
  } catch (error) {
    if (failedConditions(error)?.length || isTransactionConflict(error)) return false;
    throw error;
  }
}

/** Marks a partner as totalled: every report on it reads its totals from now on. */
export async function markPartnerTotalled(partnerId: string): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.partner(partnerId),
      UpdateExpression: 'SET settlementTotals = :yes',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':yes': true },
    }),
  );
}
