import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { type DomainEvent, eventOfItem } from '../domain/ledger.ts';
import { tableName } from './client.ts';
import { EVENT_PREFIX, EVENTS_PARTITION } from './keys.ts';
import { type Page, queryPage } from './pagination.ts';

/** A page of the outbox (the EVENTS partition), oldest first. */
export async function eventPage(
  limit: number,
  cursor: string | undefined,
): Promise<Page<DomainEvent>> {
  const page = await queryPage(
    {
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': EVENTS_PARTITION },
    },
    { PK: EVENTS_PARTITION, skPrefix: EVENT_PREFIX },
    limit,
    cursor,
  );
  return { items: page.items.map(eventOfItem), nextCursor: page.nextCursor };
}

/** The outbox event a stream record inserted, if it is one. */
export function outboxEvent(record: DynamoDBRecord): DomainEvent | undefined {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== 'INSERT' || !image) return undefined;
  const item = unmarshall(image as Record<string, AttributeValue>);
  if (item.PK !== EVENTS_PARTITION) return undefined;
  const { id, type, at, customerId, data } = item;
  return { id, type, at, customerId, data } as DomainEvent;
}
