import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../errors.ts';
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

/** What a finished request answered, kept under its key to be given again. */
export interface StoredAnswer {
  answer: unknown;
}

/** Kept 48 h, past the contract's 24 h; expired records are ignored even before TTL removes them. */
export const IDEMPOTENCY_TTL_SECONDS = 48 * 3600;

export const idempotencyKey = (ctx: IdempotencyContext): Key =>
  keys.idempotency(ctx.scope, ctx.key);

/** The stored answer for a replay, or undefined if the key is unused (or expired). */
export function replayFrom(
  item: Record<string, unknown> | undefined,
  ctx: IdempotencyContext,
  now: Date,
): StoredAnswer | undefined {
  if (!item || (item.expiresAt as number) <= Math.floor(now.getTime() / 1000)) return undefined;
  if (item.requestHash !== ctx.requestHash) {
    throw new DomainError(
      'idempotency-key-reused',
      'This Idempotency-Key was already used with a different request',
    );
  }
  return { answer: JSON.parse(gunzipSync(item.body as Uint8Array).toString('utf8')) };
}

export async function readReplay(
  ctx: IdempotencyContext,
  now: Date,
): Promise<StoredAnswer | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: idempotencyKey(ctx), ConsistentRead: true }),
  );
  return replayFrom(Item, ctx, now);
}

/**
 * The transaction item that claims the key and stores the answer. (Records written before
 * this version also hold the HTTP status; a route answers with one status, so it is not
 * read.)
 */
export function claimIdempotencyKey(ctx: IdempotencyContext, answer: unknown, now: Date) {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  return {
    Put: {
      TableName: tableName(),
      Item: {
        ...idempotencyKey(ctx),
        requestHash: ctx.requestHash,
        // Gzipped: a purchase's answer (with the customer) is ~0.9 KB as JSON, ~0.45 KB
        // gzipped, which keeps this item under the 1 KB a write unit covers.
        body: gzipSync(JSON.stringify(answer)),
        expiresAt: nowSeconds + IDEMPOTENCY_TTL_SECONDS,
      },
      ConditionExpression: 'attribute_not_exists(PK) OR expiresAt <= :now',
      ExpressionAttributeValues: { ':now': nowSeconds },
    },
  };
}
