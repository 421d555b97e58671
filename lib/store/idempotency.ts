import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { IdempotencyKeyReusedError } from '../errors.ts';
import type { IdempotencyContext } from '../http/context.ts';
import { db, tableName } from './client.ts';
import { type Key, keys } from './keys.ts';

/**
 * Idempotency records are written in the same transaction as the change they record,
 * so a key is either unused or bound to a finished change and its response: there is
 * no "in progress" state a crash could strand, and a retry can never apply twice.
 * (Powertools' idempotency utility marks a record in progress first and saves the
 * result after; a crash between the two lets a retry run the change again.)
 */

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** Kept 48 h, past the contract's 24 h; expired records are ignored even before TTL removes them. */
export const IDEMPOTENCY_TTL_SECONDS = 48 * 3600;

export const idempotencyKey = (ctx: IdempotencyContext): Key =>
  keys.idempotency(ctx.scope, ctx.key);

/** The stored response for a replay, or undefined if the key is unused (or expired). */
export function replayFrom(
  item: Record<string, unknown> | undefined,
  ctx: IdempotencyContext,
  now: Date,
): StoredResponse | undefined {
  if (!item || (item.expiresAt as number) <= Math.floor(now.getTime() / 1000)) return undefined;
  if (item.requestHash !== ctx.requestHash) {
    throw new IdempotencyKeyReusedError();
  }
  return {
    status: item.status as number,
    body: JSON.parse(gunzipSync(item.body as Uint8Array).toString('utf8')),
  };
}

export async function readReplay(
  ctx: IdempotencyContext,
  now: Date,
): Promise<StoredResponse | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: idempotencyKey(ctx), ConsistentRead: true }),
  );
  return replayFrom(Item, ctx, now);
}

/** The transaction item that claims the key and stores the response. */
export function claimIdempotencyKey(ctx: IdempotencyContext, response: StoredResponse, now: Date) {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  return {
    Put: {
      TableName: tableName(),
      Item: {
        ...idempotencyKey(ctx),
        requestHash: ctx.requestHash,
        status: response.status,
        // Gzipped: a purchase's answer (with the customer) is ~0.9 KB as JSON, ~0.45 KB
        // gzipped, which keeps this item under the 1 KB a write unit covers.
        body: gzipSync(JSON.stringify(response.body)),
        expiresAt: nowSeconds + IDEMPOTENCY_TTL_SECONDS,
      },
      ConditionExpression: 'attribute_not_exists(PK) OR expiresAt <= :now',
      ExpressionAttributeValues: { ':now': nowSeconds },
    },
  };
}
