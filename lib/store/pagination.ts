import {
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
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

/** Every list's cursor is a JSON value, base64url-encoded: opaque to clients. */
export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * The value in a cursor, if `valid` accepts it; otherwise (garbage, or a cursor of another
 * list) a validation-failed error on `cursor`.
 */
export function decodeCursor<T>(
  cursor: string,
  valid: (value: Record<string, unknown>) => boolean,
): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !valid(parsed as Record<string, unknown>)) {
    throw validationFailed([
      { path: 'cursor', message: 'not a cursor this API issued for this list' },
    ]);
  }
  return parsed as T;
}

/** The items a list pages through: one partition, sort keys starting with a prefix. */
export interface KeyRange {
  PK: string;
  skPrefix: string;
}

/**
 * A cursor of a query on `range`: the last item's table key. Its sort key must lie in the
 * range (DynamoDB refuses a start key outside the query's bounds, or an empty one).
 */
const decodeKeyCursor = (cursor: string, range: KeyRange) =>
  decodeCursor<Record<string, string>>(
    cursor,
    (key) =>
      key.PK === range.PK &&
      typeof key.SK === 'string' &&
      key.SK.length > range.skPrefix.length &&
      key.SK.length <= 256 &&
      key.SK.startsWith(range.skPrefix) &&
      Object.keys(key).length === 2,
  );

/**
 * One page of a query on `range`. Asks for one item more than the page so that
 * `nextCursor` is null exactly when there is nothing after this page (with a filter,
 * reads at most `limit` items whatever passes it, so every page's reads stay bounded).
 */
export async function queryPage(
  input: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>,
  range: KeyRange,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Record<string, unknown>>> {
  const start = cursor !== undefined && { ExclusiveStartKey: decodeKeyCursor(cursor, range) };
  if (input.FilterExpression !== undefined) {
    // A filter applies after Limit: read `limit` items, keep those that pass, and go on from
    // the last one read (a page may be short, even empty, and still have a next one).
    const out = await db().send(new QueryCommand({ ...input, Limit: limit, ...start }));
    const last = out.LastEvaluatedKey;
    return {
      items: out.Items ?? [],
      nextCursor: last ? encodeCursor({ PK: last.PK, SK: last.SK }) : null,
    };
  }
  const { Items = [], LastEvaluatedKey } = await db().send(
    new QueryCommand({ ...input, Limit: limit + 1, ...start }),
  );
  const items = Items.slice(0, limit);
  // A query page also stops at 1 MB: then there may be more after the last item read.
  if (Items.length <= limit && LastEvaluatedKey) {
    const last = items[items.length - 1];
    return { items, nextCursor: last ? encodeCursor({ PK: last.PK, SK: last.SK }) : null };
  }
  const last = items[items.length - 1];
  return {
    items,
    nextCursor: Items.length > limit && last ? encodeCursor({ PK: last.PK, SK: last.SK }) : null,
  };
}

/**
 * Every page of a query, following LastEvaluatedKey to the end (for jobs and reports that
 * read a whole index range; API lists use queryPage and cursors instead).
 */
export async function* queryPages(
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): AsyncGenerator<Record<string, unknown>[]> {
  let start: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await db().send(
      new QueryCommand({ ...input, ...(start && { ExclusiveStartKey: start }) }),
    );
    yield page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}
