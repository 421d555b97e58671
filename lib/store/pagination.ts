import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { validationFailed } from '../errors.ts';
import { db } from './client.ts';

/**
 * Cursors are the key of the last item returned, base64url-encoded. A cursor is checked
 * against the partition it was issued for, so it can't be used to read other items.
 */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

function encodeCursor(item: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ PK: item.PK, SK: item.SK })).toString('base64url');
}

function decodeCursor(cursor: string, expectedPK: string): Record<string, string> {
  const invalid = () =>
    validationFailed([{ path: 'cursor', message: 'not a cursor this API issued for this list' }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const key = parsed as Record<string, unknown> | null;
  if (
    typeof key !== 'object' ||
    key === null ||
    key.PK !== expectedPK ||
    typeof key.SK !== 'string' ||
    Object.keys(key).length !== 2
  ) {
    throw invalid();
  }
  return key as Record<string, string>;
}

/**
 * One page of a query on partition `pk`. Asks for one item more than the page so that
 * `nextCursor` is null exactly when there is nothing after this page.
 */
export async function queryPage(
  input: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>,
  pk: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Record<string, unknown>>> {
  const { Items = [] } = await db().send(
    new QueryCommand({
      ...input,
      Limit: limit + 1,
      ...(cursor !== undefined && { ExclusiveStartKey: decodeCursor(cursor, pk) }),
    }),
  );
  const items = Items.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: Items.length > limit && last ? encodeCursor(last) : null };
}
