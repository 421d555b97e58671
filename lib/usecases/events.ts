import { type DomainEvent, eventOfItem } from '../domain/ledger.ts';
import { tableName } from '../store/client.ts';
import { EVENT_PREFIX, EVENTS_PARTITION } from '../store/keys.ts';
import { type Page, queryPage } from '../store/pagination.ts';

/** The outbox, oldest first: tier changes (and, with lapse detection, lapses). */
export async function listEvents(
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
  return {
    items: page.items.map(eventOfItem),
    nextCursor: page.nextCursor,
  };
}
