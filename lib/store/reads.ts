import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './client.ts';
import type { Key } from './keys.ts';

/** BatchGetItem's limit on keys per request. */
export const MAX_BATCH_GET_KEYS = 100;

/**
 * Consistent reads of several items: one round trip for up to 100 keys, more keys in
 * concurrent requests of 100. A key asked for twice is read once (BatchGetItem refuses
 * duplicates).
 */
export async function batchGet(keys: Key[]): Promise<Record<string, unknown>[]> {
  const wanted = [...new Map(keys.map((k) => [keyOf(k), k])).values()];
  if (wanted.length <= MAX_BATCH_GET_KEYS) return batchGetOnce(wanted);
  const chunks: Key[][] = [];
  for (let i = 0; i < wanted.length; i += MAX_BATCH_GET_KEYS) {
    chunks.push(wanted.slice(i, i + MAX_BATCH_GET_KEYS));
  }
  return (await Promise.all(chunks.map(batchGetOnce))).flat();
}

async function batchGetOnce(wanted: Key[]): Promise<Record<string, unknown>[]> {
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

/** A key as one string, for sets and maps of keys. */
export const keyOf = (key: { PK?: unknown; SK?: unknown }) => `${key.PK}\u0000${key.SK}`;

/** The items read, looked up by key in one Map (for many lookups among many items). */
export function byKey(items: Record<string, unknown>[]) {
  const found = new Map(items.map((item) => [keyOf(item), item]));
  return (key: Key) => found.get(keyOf(key));
}
