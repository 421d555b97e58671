import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './client.ts';
import type { Key } from './keys.ts';

/** Consistent reads of several items in one round trip. */
export async function batchGet(wanted: Key[]): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  let pending: Key[] = wanted;
  // DynamoDB may hand back unprocessed keys under load; the SDK retries throttles, this retries those.
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    const { Responses, UnprocessedKeys } = await db().send(
      new BatchGetCommand({
        RequestItems: { [tableName()]: { Keys: pending, ConsistentRead: true } },
      }),
    );
    found.push(...(Responses?.[tableName()] ?? []));
    pending = (UnprocessedKeys?.[tableName()]?.Keys as Key[] | undefined) ?? [];
    if (attempt > 8 && pending.length > 0) throw new Error('BatchGetItem left keys unprocessed');
  }
  return found;
}

/** The item with `key` among `items`, if read. */
export const pick = (items: Record<string, unknown>[], key: Key) =>
  items.find((item) => item.PK === key.PK && item.SK === key.SK);
