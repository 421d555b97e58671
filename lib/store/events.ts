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
