import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../errors.ts';
import type { IdempotencyContext } from '../principal.ts';
import { db, tableName } from './client.ts';
import { type Key, keys } from './keys.ts';
import { AGAIN, optimistic } from './transactions.ts';

/**
 * Idempotency records are written in the same transaction as the change they record,
 * so a key is either unused or bound to a finished change and its response: there is
 * no "in progress" state a crash could strand, and a retry can never apply twice. (An
 * import batch, many transactions, is the exception: see markInFlight.)
 * (Powertools' idempotency utility marks a record in progress first and saves the
 * result after; a crash between the two lets a retry run the change again.)
 */

/** What a finished request answered, kept under its key to be given again. */
export interface StoredAnswer {
  answer: unknown;
}

/**
 * Kept 48 h (a day of retries, and a day to spare); expired records are ignored even before
 * TTL removes them.
 */
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
  if (item.inFlight === true) {
    throw new DomainError(
      'idempotency-key-in-use',
      'A request with this Idempotency-Key is still being processed; retry to get its answer',
      // A batch takes seconds; its mark (kept long enough to outlive it) is no guide to when.
      { retryAfterSeconds: 2 },
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

/**
 * How long an in-flight mark holds its key: past the longest a request runs (an import
 * batch's function stops at 29 s). A mark a crash left behind lapses by itself.
 */
export const IN_FLIGHT_SECONDS = 60;

/** The record of a key whose request (the run `token`) is in flight until `expiresAt` (epoch seconds). */
const inFlightMark = (ctx: IdempotencyContext, token: string, expiresAt: number) => ({
  ...idempotencyKey(ctx),
  requestHash: ctx.requestHash,
  inFlight: true,
  runToken: token,
  expiresAt,
});

/**
 * For a request that is many transactions (an import batch) rather than one: marks the key
 * in flight before the work starts, for this run (`token`). Returns the stored answer if
 * the key already has one (a replay); throws `idempotency-key-in-use` while another request
 * holds it, and `idempotency-key-reused` for a different request. Such a request must
 * itself be safe to run again (an import skips what is already recorded), since a mark
 * lapses.
 */
export async function markInFlight(
  ctx: IdempotencyContext,
  now: Date,
): Promise<{ replay: StoredAnswer } | { token: string }> {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const token = randomUUID();
  return optimistic(
    async () => {
      try {
        await db().send(
          new PutCommand({
            TableName: tableName(),
            Item: inFlightMark(ctx, token, nowSeconds + IN_FLIGHT_SECONDS),
            ConditionExpression: 'attribute_not_exists(PK) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        return { token };
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        // Taken: its answer, or in use / reused (thrown); gone meanwhile: try again.
        const stored = await readReplay(ctx, now);
        return stored ? { replay: stored } : AGAIN;
      }
    },
    {
      attempts: 3,
      wait: false,
      conflicts: false,
      exhausted: () =>
        new DomainError('idempotency-key-in-use', 'This Idempotency-Key is busy; retry shortly', {
          retryAfterSeconds: 1,
        }),
    },
  );
}

/** Whether a failed write was only its condition (the mark is no longer this run's). */
const lostTheMark = (error: unknown) => (error as Error).name === 'ConditionalCheckFailedException';

/**
 * Keeps the answer of the run that marked its key in flight, in place of its mark. A run
 * whose mark lapsed and was taken by another keeps nothing: the other run's answer stands.
 */
export async function keepAnswer(
  ctx: IdempotencyContext,
  token: string,
  answer: unknown,
  now: Date,
): Promise<void> {
  const { Put } = claimIdempotencyKey(ctx, answer, now);
  try {
    await db().send(
      new PutCommand({
        TableName: Put.TableName,
        Item: Put.Item,
        ConditionExpression: 'runToken = :token',
        ExpressionAttributeValues: { ':token': token },
      }),
    );
  } catch (error) {
    if (!lostTheMark(error)) throw error;
  }
}

/**
 * Frees the key of a run that failed, so its retry runs at once rather than after the mark
 * lapses: the mark is kept, already lapsed (PutItem only; no delete permission needed).
 */
export async function releaseInFlight(ctx: IdempotencyContext, token: string, now: Date) {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: inFlightMark(ctx, token, Math.floor(now.getTime() / 1000)),
        ConditionExpression: 'runToken = :token',
        ExpressionAttributeValues: { ':token': token },
      }),
    );
  } catch (error) {
    if (!lostTheMark(error)) throw error;
  }
}
