import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import { db, tableName, writeIf } from './client.ts';
import { customerFromItem } from './customers.ts';
import { dueItems } from './due.ts';
import { DUE_SHARDS, EVENTS_PARTITION, indexKeys, keys } from './keys.ts';
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

/**
 * Where the pass that gives outbox events written before the customer-event index their
 * keys stands: done, or the last event id it went through (none: not started).
 */
export async function eventIndexState(): Promise<{ done: boolean; after?: string }> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.eventIndexState(), ConsistentRead: true }),
  );
  return { done: Item?.done === true, ...(Item?.after !== undefined && { after: Item.after }) };
}

export async function saveEventIndexState(state: { done: boolean; after?: string }) {
  await db().send(
    new PutCommand({ TableName: tableName(), Item: { ...keys.eventIndexState(), ...state } }),
  );
}

/** The outbox after event `after` (its SK), oldest first, a page of up to 100 at a time. */
export async function* outboxAfter(
  after: string | undefined,
): AsyncGenerator<{ sk: string; id: string; customerId: string | null; indexed: boolean }[]> {
  for await (const page of queryPages({
    TableName: tableName(),
    KeyConditionExpression: after === undefined ? 'PK = :pk' : 'PK = :pk AND SK > :after',
    ExpressionAttributeValues: { ':pk': EVENTS_PARTITION, ...(after && { ':after': after }) },
    ProjectionExpression: 'SK, id, customerId, GSI1PK',
    Limit: 100,
  })) {
    yield page.map((item) => ({
      sk: item.SK as string,
      id: item.id as string,
      customerId: (item.customerId as string | null | undefined) ?? null,
      indexed: item.GSI1PK !== undefined,
    }));
  }
}

/** Gives an event of a customer its place under them in GSI1, unless it has one. */
export function indexEvent(id: string, customerId: string): Promise<boolean> {
  const { GSI1PK, GSI1SK } = indexKeys.customerEvent(customerId, id);
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.event(id),
      UpdateExpression: 'SET GSI1PK = :pk, GSI1SK = :sk',
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(GSI1PK)',
      ExpressionAttributeValues: { ':pk': GSI1PK, ':sk': GSI1SK },
    }),
  );
}
