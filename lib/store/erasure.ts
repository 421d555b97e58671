import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { withoutPersonalData } from '../domain/erase.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import { db, tableName, writeIf } from './client.ts';
import { type ExtraItem, withoutKeys } from './customers.ts';
import { type Key, keys, LEDGER_PREFIX } from './keys.ts';
import { identifiersOf } from './merges.ts';
import type { RedemptionCode } from './redemptionCodes.ts';

/**
 * What an erase (usecases/dataRights.ts) reads and writes beside the customer: the ledger
 * newest first (its open holds, and the answers kept for replays of the requests that
 * changed the customer: a ledger entry names its request's, `answerKey`), those answers
 * without the customer's personal fields, the identifiers that found them gone, and their
 * usable redemption codes cancelled.
 */

/** A ledger entry and the key of the answer kept for its request's replay, if any. */
export interface RecordedEntry {
  entry: LedgerEntry;
  answerKey?: Key;
}

/** The customer's ledger, newest first, a page of up to 100 at a time. */
export async function* ledgerNewestFirst(customerId: string): AsyncGenerator<RecordedEntry[]> {
  const { PK } = keys.customer(customerId);
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ledger)',
        ExpressionAttributeValues: { ':pk': PK, ':ledger': LEDGER_PREFIX },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 100,
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    yield (page.Items ?? []).map(({ answerKey, ...item }) => ({
      entry: withoutKeys<LedgerEntry>(item),
      ...(answerKey !== undefined && { answerKey: answerKey as Key }),
    }));
    start = page.LastEvaluatedKey;
  } while (start);
}

/**
 * Rewrites a kept answer without the personal fields of the customers `ids` (one and the
 * records merged into it), unless it expired or another request took its key meanwhile
 * (then it is not theirs). True when rewritten.
 */
export async function scrubAnswer(key: Key, ids: ReadonlySet<string>, now: Date): Promise<boolean> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }),
  );
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (!Item || Item.inFlight === true || (Item.expiresAt as number) <= nowSeconds) return false;
  const answer = JSON.parse(gunzipSync(Item.body as Uint8Array).toString('utf8'));
  const body = gzipSync(JSON.stringify(withoutPersonalData(answer, ids)));
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { ...Item, body },
      ConditionExpression: 'requestHash = :hash AND expiresAt = :expires',
      ExpressionAttributeValues: { ':hash': Item.requestHash, ':expires': Item.expiresAt },
    }),
  );
}

/** Deletes every identifier item that finds the customer (its own and its aliases). */
export function identifierDeletes(customer: Parameters<typeof identifiersOf>[0]): ExtraItem[] {
  return identifiersOf(customer).map(({ kind, value }) => ({
    item: {
      Delete: {
        TableName: tableName(),
        Key: keys.identifier(kind, value),
        ConditionExpression: 'attribute_not_exists(PK) OR customerId = :id',
        ExpressionAttributeValues: { ':id': customer.id },
      },
    },
    onFailure: 'stale',
  }));
}

/**
 * Cancels usable codes: each reads as used from now on (a till gets
 * invalid-redemption-code); one already used or cancelled is left as it is.
 */
export async function cancelCodes(codes: readonly RedemptionCode[], now: Date): Promise<void> {
  for (const code of codes) {
    await writeIf(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.redemptionCode(code.code),
        UpdateExpression: 'SET usedAt = :now, cancelled = :yes',
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(usedAt)',
        ExpressionAttributeValues: { ':now': now.toISOString(), ':yes': true },
      }),
    );
  }
}
