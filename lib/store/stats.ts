import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { encodeTime } from 'ulid';
import { db, tableName } from './client.ts';
import { EVENTS_PARTITION, keys } from './keys.ts';
import { queryPages } from './pagination.ts';

/** Enrolments count into one of these at random, so no one counter item is hot. */
export const STATS_SHARDS = 16;

/** The transaction item enrolments add: `count` more customers, on a random shard. */
export function countEnrolment(count = 1) {
  return {
    Update: {
      TableName: tableName(),
      Key: keys.stats(Math.floor(Math.random() * STATS_SHARDS)),
      UpdateExpression: 'ADD customers :count',
      ExpressionAttributeValues: { ':count': count },
    },
  };
}

/** All customers ever enrolled: the sum of the shards (one BatchGetItem). */
export async function customerCount(): Promise<number> {
  const Keys = Array.from({ length: STATS_SHARDS }, (_, i) => keys.stats(i));
  const { Responses } = await db().send(
    new BatchGetCommand({ RequestItems: { [tableName()]: { Keys } } }),
  );
  return (Responses?.[tableName()] ?? []).reduce((sum, item) => sum + (item.customers ?? 0), 0);
}

/**
 * How many events of each type were recorded in [from, to): a Query on the outbox's
 * partition by id range (ids are ULIDs, so they start with their time).
 */
export async function eventCounts(from: Date, to: Date): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
    ExpressionAttributeNames: { '#type': 'type' },
    ExpressionAttributeValues: {
      ':pk': EVENTS_PARTITION,
      ':from': `EVT#evt_${encodeTime(from.getTime(), 10)}`,
      ':to': `EVT#evt_${encodeTime(to.getTime(), 10)}`,
    },
    ProjectionExpression: '#type',
  })) {
    for (const item of items) counts[item.type as string] = (counts[item.type as string] ?? 0) + 1;
  }
  return counts;
}
