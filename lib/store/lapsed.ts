import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import { isKeepableInstant } from '../domain/days.ts';
import { ID_PATTERN } from '../ids.ts';
import { db, tableName } from './client.ts';
import { LAPSED_LIST } from './customers.ts';
import { keys, SAMPLE_SHARDS } from './keys.ts';
import { decodeCursor, encodeCursor, queryPages } from './pagination.ts';
import type { LAPSED_ATTRIBUTES } from './table.ts';

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

/** Every lapsed customer (the sort by value at risk and the retention report read them all). */
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
