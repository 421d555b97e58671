import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import { db, tableName, writeIf } from './client.ts';
import { customerFromItem } from './customers.ts';
import { dueItems } from './due.ts';
import { DUE_SHARDS, keys } from './keys.ts';
import { queryPages } from './pagination.ts';
import { batchGet } from './reads.ts';

/**
 * Customers stored before an index existed lack the attribute that puts them in it. These
 * read such customers and give them the attribute, each write conditional on the version
 * read (a customer that changes meanwhile gets it from its own write); what value it gets
 * is the caller's to say. The passes themselves are the jobs' (usecases/remindIndex.ts,
 * usecases/lapseWatchIndex.ts).
 */

/** A customer as stored, and whether it carries the attribute an upgrade looks at. */
export interface StoredCustomer {
  customer: CustomerState;
  has: boolean;
}

async function storedCustomers(
  page: Record<string, unknown>[],
  attribute: string,
): Promise<StoredCustomer[]> {
  const items = await batchGet(page.map((k) => keys.customer(keys.customerIdOf(k.PK as string))));
  return items.map((item) => ({
    customer: customerFromItem(item) as CustomerState,
    has: item[attribute] !== undefined,
  }));
}

/** Where the remindLot pass stands: done, or the ExpireDue shard it goes on from. */
export async function remindIndexState(): Promise<'done' | number> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.remindIndexState(), ConsistentRead: true }),
  );
  return Item?.done === true ? 'done' : ((Item?.nextShard as number | undefined) ?? 0);
}

export async function saveRemindIndexState(state: 'done' | number): Promise<void> {
  const done = state === 'done';
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keys.remindIndexState(), done, nextShard: done ? DUE_SHARDS : state },
    }),
  );
}

/**
 * The customers with lots (those the ExpireDue index lists), shard by shard from
 * `firstShard`, a page of up to 100 at a time; `has` says whether one carries its remindLot.
 */
export async function* customersWithLots(
  firstShard: number,
): AsyncGenerator<{ shard: number; customers: StoredCustomer[] }> {
  for (let shard = firstShard; shard < DUE_SHARDS; shard++) {
    for await (const page of queryPages({
      TableName: tableName(),
      IndexName: 'ExpireDue',
      KeyConditionExpression: 'dueShard = :shard',
      ExpressionAttributeValues: { ':shard': String(shard) },
      Limit: 100,
    })) {
      yield { shard, customers: await storedCustomers(page, 'remindLot') };
    }
  }
}

/** Gives the customer (as read) its remindLot; false if it changed meanwhile or has one. */
export function setRemindLot(customer: CustomerState, remindLot: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.customer(customer.id),
      UpdateExpression: 'SET remindLot = :lot',
      ConditionExpression: 'version = :version AND attribute_not_exists(remindLot)',
      ExpressionAttributeValues: { ':lot': remindLot, ':version': customer.version },
    }),
  );
}

/**
 * The customers stored with the legacy `lapseDueAt` (the LapseDue index), due or not, a
 * page at a time; `has` says whether one still carries it.
 */
export async function* customersInLapseDue(): AsyncGenerator<StoredCustomer[]> {
  // Everything in LapseDue ('~' sorts after every ISO instant).
  for await (const page of dueItems('LapseDue', '~')) yield storedCustomers(page, 'lapseDueAt');
}

/**
 * Moves the customer (as read) from LapseDue to LapseWatch: it loses its `lapseDueAt` and
 * gets `watch` (none: it leaves both). False if it changed meanwhile.
 */
export function moveToLapseWatch(
  customer: CustomerState,
  watch: string | undefined,
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.customer(customer.id),
      UpdateExpression:
        watch === undefined ? 'REMOVE lapseDueAt' : 'SET lapseWatch = :watch REMOVE lapseDueAt',
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: {
        ':version': customer.version,
        ...(watch !== undefined && { ':watch': watch }),
      },
    }),
  );
}
