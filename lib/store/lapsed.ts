import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import { isKeepableInstant } from '../domain/days.ts';
import { ID_PATTERN } from '../ids.ts';
import { db, tableName, writeIf } from './client.ts';
import { customerFromItem, LAPSED_LIST, type RiskScoring, riskKeys } from './customers.ts';
import {
  DUE_SHARDS,
  indexKeys,
  keys,
  parseRiskSortKey,
  riskSortKey,
  SAMPLE_SHARDS,
} from './keys.ts';
import { decodeCursor, encodeCursor, queryPages } from './pagination.ts';
import { batchGet } from './reads.ts';
import { LAPSED_ATTRIBUTES } from './table.ts';

/** How many shards the customers' sample (and the backfill that walks it) is spread over. */
export { SAMPLE_SHARDS };

/** What the Lapsed index holds of a lapsed customer. */
export type LapsedCustomer = Pick<CustomerState, (typeof LAPSED_ATTRIBUTES)[number]> & {
  lapsedAt: string;
};

function decodeLapsedCursor(cursor: string) {
  const { lapsedAt, id } = decodeCursor<{ lapsedAt: string; id: string }>(
    cursor,
    (v) =>
      typeof v.lapsedAt === 'string' &&
      isKeepableInstant(Date.parse(v.lapsedAt)) &&
      typeof v.id === 'string' &&
      ID_PATTERN.test(v.id),
  );
  return { ...keys.customer(id), lapsedList: LAPSED_LIST, lapsedAt };
}

const fromItem = (item: Record<string, unknown>) => {
  const { PK: _pk, SK: _sk, lapsedList: _l, ...rest } = item;
  return rest as unknown as LapsedCustomer;
};

/** One page of lapsed customers, most recently lapsed first (the Lapsed index). */
export async function lapsedPage(
  limit: number,
  cursor: string | undefined,
): Promise<{ items: LapsedCustomer[]; nextCursor: string | null }> {
  const { Items = [] } = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'Lapsed',
      KeyConditionExpression: 'lapsedList = :l',
      ExpressionAttributeValues: { ':l': LAPSED_LIST },
      ScanIndexForward: false,
      Limit: limit + 1,
      ...(cursor !== undefined && { ExclusiveStartKey: decodeLapsedCursor(cursor) }),
    }),
  );
  const items = Items.slice(0, limit).map(fromItem);
  const last = items.at(-1);
  return {
    items,
    nextCursor:
      Items.length > limit && last ? encodeCursor({ lapsedAt: last.lapsedAt, id: last.id }) : null,
  };
}

/**
 * Every lapsed customer: what the sorted list and the retention report read on every call
 * before each had a bounded read; no request reads it now (the benches measure it).
 */
export async function allLapsed(): Promise<LapsedCustomer[]> {
  const all: LapsedCustomer[] = [];
  for await (const items of queryPages({
    TableName: tableName(),
    IndexName: 'Lapsed',
    KeyConditionExpression: 'lapsedList = :l',
    ExpressionAttributeValues: { ':l': LAPSED_LIST },
  })) {
    all.push(...items.map(fromItem));
  }
  return all;
}

/**
 * Ids of up to `wanted` customers, read shard by shard from the keys-only Customers index
 * (each shard a stable pseudo-random 1/64 of the customers): the model's sample. At most
 * `wanted` whatever the programme's size: the last shard read is cut where the sample is
 * full, so a million customers or ten read the same (one shard is ~15,600 ids at a
 * million, ~156,000 at ten million).
 */
export async function sampleCustomerIds(wanted: number): Promise<string[]> {
  async function* pages() {
    for (let shard = 0; shard < SAMPLE_SHARDS; shard++) yield* shardPages(shard);
  }
  return takeIds(pages(), wanted);
}

/** The first `wanted` ids of `pages`, reading no page past the one that fills them. */
export async function takeIds(pages: AsyncIterable<string[]>, wanted: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of pages) {
    for (const id of page) {
      if (ids.length >= wanted) return ids;
      ids.push(id);
    }
    if (ids.length >= wanted) return ids;
  }
  return ids;
}

async function* shardPages(shard: number): AsyncGenerator<string[]> {
  for await (const items of queryPages({
    TableName: tableName(),
    IndexName: 'Customers',
    KeyConditionExpression: 'sampleShard = :s',
    ExpressionAttributeValues: { ':s': String(shard) },
  })) {
    yield items.map((item) => keys.customerIdOf(item.PK as string));
  }
}

/** Ids of every customer of one shard of the keys-only Customers index. */
export async function customerIdsOfShard(shard: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of shardPages(shard)) for (const id of page) ids.push(id);
  return ids;
}

/** The two orders of lapsed customers by a score, highest first (the lapsed list's sorts). */
export type RiskSort = 'valueAtRisk' | 'churnRisk';

/** Where each order is kept (table.ts): the index, its partition per shard, its sort key. */
const riskOrders = {
  valueAtRisk: {
    IndexName: 'LapsedByValue',
    partitionKey: 'dueShard',
    partition: (shard: number) => String(shard),
    sortKey: 'lapsedValue',
  },
  churnRisk: {
    IndexName: 'GSI1',
    partitionKey: 'GSI1PK',
    partition: indexKeys.lapsedByChurnShard,
    sortKey: 'GSI1SK',
  },
} as const;

/** What a page in a sorted order reads of a customer (GSI1 holds the whole item). */
const RISK_ATTRIBUTES = [...LAPSED_ATTRIBUTES, 'lapsedAt'] as const;

/** A lapsed customer in a sorted order, with its sort key there (keys.ts riskSortKey). */
export type RankedLapsed = LapsedCustomer & { rank: string; score: number };

/**
 * One page of lapsed customers in a sorted order, after the sort key `after` when given:
 * the first `limit` + 1 of each dueShard (one Query each, in parallel) merged, so a page
 * reads at most DUE_SHARDS x (limit + 1) index items however many customers are lapsed.
 * `more`: whether any customer follows the page.
 */
export async function lapsedByRiskPage(
  sort: RiskSort,
  limit: number,
  /** The place of the last customer of the page before: its score and id. */
  place: { score: number; id: string } | undefined,
): Promise<{ items: RankedLapsed[]; more: boolean }> {
  const order = riskOrders[sort];
  const after = place && riskSortKey(place.score, place.id);
  const names = Object.fromEntries(RISK_ATTRIBUTES.map((a, i) => [`#a${i}`, a]));
  const shards = await Promise.all(
    Array.from({ length: DUE_SHARDS }, async (_, shard) => {
      const { Items = [] } = await db().send(
        new QueryCommand({
          TableName: tableName(),
          IndexName: order.IndexName,
          KeyConditionExpression: `#p = :p${after === undefined ? '' : ' AND #s > :after'}`,
          ProjectionExpression: [...Object.keys(names), '#s'].join(', '),
          ExpressionAttributeNames: { ...names, '#p': order.partitionKey, '#s': order.sortKey },
          ExpressionAttributeValues: {
            ':p': order.partition(shard),
            ...(after !== undefined && { ':after': after }),
          },
          Limit: limit + 1,
        }),
      );
      return Items;
    }),
  );
  // Each shard's head is in order: the first limit + 1 of their union are the page's.
  const merged = shards
    .flat()
    .map((item) => {
      const rank = item[order.sortKey] as string;
      return { ...fromRiskItem(item), rank, score: parseRiskSortKey(rank).score };
    })
    .sort((x, y) => (x.rank < y.rank ? -1 : x.rank > y.rank ? 1 : 0));
  return { items: merged.slice(0, limit), more: merged.length > limit };
}

const fromRiskItem = (item: Record<string, unknown>) => {
  const customer: Record<string, unknown> = {};
  for (const name of RISK_ATTRIBUTES) if (item[name] !== undefined) customer[name] = item[name];
  return customer as unknown as LapsedCustomer;
};

/** Where the refresh of the sorted orders stands (usecases/lapsedScores.ts). */
export interface LapsedScoresState {
  /** What it scores by: the model and the day (see the use case). */
  generation?: string;
  done: boolean;
  /** The Lapsed index key it goes on after. */
  position?: Record<string, unknown>;
}

export async function lapsedScoresState(): Promise<LapsedScoresState> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.lapsedScoresState(), ConsistentRead: true }),
  );
  return {
    done: Item?.done === true,
    ...(typeof Item?.generation === 'string' && { generation: Item.generation }),
    ...(Item?.position !== undefined && { position: Item.position }),
  };
}

export async function saveLapsedScoresState(state: LapsedScoresState): Promise<void> {
  await db().send(
    new PutCommand({ TableName: tableName(), Item: { ...keys.lapsedScoresState(), ...state } }),
  );
}

/** A lapsed customer as stored, and its keys in the sorted orders (none: never scored). */
export interface ScoredCustomer {
  customer: CustomerState;
  lapsedValue?: string;
  churnKey?: string;
}

/**
 * Every lapsed customer, from the Lapsed index after `position`, 100 at a time, read
 * whole from the table (consistently: the refresh writes conditional on their version);
 * with each page, the index key to go on after it (undefined after the last page).
 */
export async function* lapsedCustomerPages(
  position: Record<string, unknown> | undefined,
): AsyncGenerator<{ customers: ScoredCustomer[]; next: Record<string, unknown> | undefined }> {
  let start = position;
  do {
    const { Items = [], LastEvaluatedKey } = await db().send(
      new QueryCommand({
        TableName: tableName(),
        IndexName: 'Lapsed',
        KeyConditionExpression: 'lapsedList = :l',
        ExpressionAttributeValues: { ':l': LAPSED_LIST },
        ProjectionExpression: 'PK, SK, lapsedList, lapsedAt',
        Limit: 100,
        ...(start !== undefined && { ExclusiveStartKey: start }),
      }),
    );
    const items =
      Items.length === 0
        ? []
        : await batchGet(Items.map((i) => keys.customer(keys.customerIdOf(i.PK as string))));
    const customers = items.map((item) => ({
      customer: customerFromItem(item) as CustomerState,
      ...(typeof item.lapsedValue === 'string' && { lapsedValue: item.lapsedValue }),
      ...(typeof item.GSI1SK === 'string' && { churnKey: item.GSI1SK }),
    }));
    start = LastEvaluatedKey;
    yield { customers, next: start };
  } while (start !== undefined);
}

/**
 * Writes a lapsed customer's keys in the sorted orders as scored by `scoring`, unless they
 * are already those; refused (false) when the customer changed since read (that write
 * scored them) or is no longer lapsed.
 */
export async function rescore(stored: ScoredCustomer, scoring: RiskScoring): Promise<boolean> {
  const next = riskKeys(stored.customer, scoring);
  if (!next || (next.lapsedValue === stored.lapsedValue && next.GSI1SK === stored.churnKey)) {
    return false;
  }
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.customer(stored.customer.id),
      UpdateExpression: 'SET lapsedValue = :value, GSI1PK = :churnShard, GSI1SK = :churn',
      ConditionExpression: 'version = :version AND #status = :lapsed',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':value': next.lapsedValue,
        ':churnShard': next.GSI1PK,
        ':churn': next.GSI1SK,
        ':version': stored.customer.version,
        ':lapsed': 'lapsed',
      },
    }),
  );
}
