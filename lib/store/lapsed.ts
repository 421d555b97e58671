import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import { validationFailed } from '../errors.ts';
import { db, tableName } from './client.ts';
import { LAPSED_LIST } from './customers.ts';
import { keys, SAMPLE_SHARDS } from './keys.ts';
import type { LAPSED_ATTRIBUTES } from './table.ts';

/** What the Lapsed index holds of a lapsed customer. */
export type LapsedCustomer = Pick<CustomerState, (typeof LAPSED_ATTRIBUTES)[number]> & {
  lapsedAt: string;
};

const cursorError = () =>
  validationFailed([{ path: 'cursor', message: 'not a cursor this API issued for this list' }]);

export function encodeLapsedCursor(lapsedAt: string, id: string): string {
  return Buffer.from(JSON.stringify({ lapsedAt, id })).toString('base64url');
}

function decodeLapsedCursor(cursor: string) {
  try {
    const { lapsedAt, id } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof lapsedAt !== 'string' || typeof id !== 'string') throw cursorError();
    return { ...keys.customer(id), lapsedList: LAPSED_LIST, lapsedAt };
  } catch {
    throw cursorError();
  }
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
    nextCursor: Items.length > limit && last ? encodeLapsedCursor(last.lapsedAt, last.id) : null,
  };
}

/** Every lapsed customer (the sort by value at risk and the retention report read them all). */
export async function allLapsed(): Promise<LapsedCustomer[]> {
  const all: LapsedCustomer[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await db().send(
      new QueryCommand({
        TableName: tableName(),
        IndexName: 'Lapsed',
        KeyConditionExpression: 'lapsedList = :l',
        ExpressionAttributeValues: { ':l': LAPSED_LIST },
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    all.push(...(page.Items ?? []).map(fromItem));
    start = page.LastEvaluatedKey;
  } while (start);
  return all;
}

/**
 * Ids of up to `wanted` customers, read shard by shard from the keys-only Customers index
 * (each shard a stable pseudo-random 1/64 of the customers): the model's sample.
 */
export async function sampleCustomerIds(wanted: number): Promise<string[]> {
  const ids: string[] = [];
  for (let shard = 0; shard < SAMPLE_SHARDS && ids.length < wanted; shard++) {
    let start: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await db().send(
        new QueryCommand({
          TableName: tableName(),
          IndexName: 'Customers',
          KeyConditionExpression: 'sampleShard = :s',
          ExpressionAttributeValues: { ':s': String(shard) },
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) ids.push((item.PK as string).slice('CUS#'.length));
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return ids;
}
