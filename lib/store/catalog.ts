import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './client.ts';
import { type Key, keys } from './keys.ts';
import { type Page, queryPage } from './pagination.ts';

/**
 * Stores and partners: few, small, listed by admins. Each kind lives in one partition
 * (sorted by id, so by creation time) so a list is one Query.
 */
export interface Place {
  id: string;
  name: string;
  createdAt: string;
}

export type PlaceKind = 'store' | 'partner';

const keyOf = (kind: PlaceKind, id: string): Key =>
  kind === 'store' ? keys.store(id) : keys.partner(id);

export async function insertPlace(kind: PlaceKind, place: Place): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      // A new partner's captures are all in its settlement totals (store/settlements.ts).
      Item: {
        ...keyOf(kind, place.id),
        ...place,
        ...(kind === 'partner' && { settlementTotals: true }),
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function getPlace(kind: PlaceKind, id: string): Promise<Place | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keyOf(kind, id) }),
  );
  return Item ? { id: Item.id, name: Item.name, createdAt: Item.createdAt } : undefined;
}

export async function listPlaces(
  kind: PlaceKind,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Place>> {
  const { PK, SK } = keyOf(kind, '');
  const page = await queryPage(
    {
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': PK, ':prefix': SK },
    },
    { PK, skPrefix: SK },
    limit,
    cursor,
  );
  return {
    items: page.items.map((i) => ({
      id: i.id as string,
      name: i.name as string,
      createdAt: i.createdAt as string,
    })),
    nextCursor: page.nextCursor,
  };
}
