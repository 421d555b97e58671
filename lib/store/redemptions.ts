import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Money } from '../domain/money.ts';
import type { IdempotencyContext } from '../principal.ts';
import { db, tableName, writeIf } from './client.ts';
import type { ExtraItem } from './customers.ts';
import { idempotencyKey } from './idempotency.ts';
import { HOLD_SHARDS, indexKeys, keys } from './keys.ts';
import { queryPages } from './pagination.ts';
import { batchGet, pick } from './reads.ts';
import { settlementTotalItems } from './settlements.ts';

export type RedemptionStatus = 'authorized' | 'captured' | 'voided' | 'expired';

export interface Redemption {
  id: string;
  status: RedemptionStatus;
  customerId: string;
  amount: Money;
  points: number;
  /** When an uncaptured authorization lapses and its points go back. */
  expiresAt: string;
  storeId?: string;
  partnerId?: string;
  createdAt: string;
  capturedAt?: string;
  updatedAt: string;
  /** The lots (days) the held points came from, so a release puts them back there. */
  lots?: Record<string, number>;
}

/** The sparse GSI1 keys a redemption carries in its current status (see table.ts). */
function indexKeysOf(r: Redemption) {
  if (r.status === 'authorized') return indexKeys.hold(r.id, r.expiresAt);
  if (r.status === 'captured' && r.partnerId && r.capturedAt) {
    return indexKeys.settlement(r.partnerId, r.capturedAt, r.id);
  }
  return {};
}

/** A redemption as stored, without its table and index keys. */
const redemptionFromItem = (item: Record<string, unknown>): Redemption => {
  const { PK: _pk, SK: _sk, GSI1PK: _gpk, GSI1SK: _gsk, ...rest } = item;
  return rest as unknown as Redemption;
};

/** Redemptions by id, those that exist (consistent reads, one BatchGetItem per 100). */
export async function getRedemptions(ids: readonly string[]): Promise<Redemption[]> {
  if (ids.length === 0) return [];
  return (await batchGet(ids.map((id) => keys.redemption(id)))).map(redemptionFromItem);
}

/** Where a redemption is spent: one of the merchant's stores, or a partner. */
export type Place = { storeId: string } | { partnerId: string };

const placeKey = (place: Place) =>
  'storeId' in place ? keys.store(place.storeId) : keys.partner(place.partnerId);

/** Whose failed code attempts a count is of: an API key's, in one minute (epoch minutes). */
export interface CodeFailures {
  keyId: string;
  minute: number;
}

const failuresKey = (f: CodeFailures) => keys.codeFailures(f.keyId, f.minute);

/** How many hold shards the lapsed holds are spread over (the release job walks them). */
export { HOLD_SHARDS };

/** The first read of an authorization: the code, the idempotency record, an admin's place. */
export async function loadAuthorizationContext(
  code: string,
  idem: IdempotencyContext,
  place: Place | undefined,
  failures: CodeFailures,
) {
  const wanted = [
    keys.redemptionCode(code),
    idempotencyKey(idem),
    failuresKey(failures),
    ...(place ? [placeKey(place)] : []),
  ];
  const found = await batchGet(wanted);
  return {
    code: pick(found, keys.redemptionCode(code)),
    idempotencyItem: pick(found, idempotencyKey(idem)),
    failures: (pick(found, failuresKey(failures))?.count as number | undefined) ?? 0,
    placeExists: place ? pick(found, placeKey(place)) !== undefined : true,
  };
}

/**
 * Counts one failed code attempt, atomically and only while fewer than `max` were counted
 * this minute: false when the limit was reached (however many attempts race, at most
 * `max` are counted and answered as wrong). Only failures pay this write; TTL cleans up.
 */
export async function countCodeFailure(
  failures: CodeFailures,
  expiresAt: number,
  max: number,
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: failuresKey(failures),
      UpdateExpression: 'ADD #count :one SET expiresAt = :expires',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':one': 1, ':expires': expiresAt, ':max': max },
    }),
  );
}

/** Failed code attempts counted so far (a consistent read). */
export async function codeFailures(failures: CodeFailures): Promise<number> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: failuresKey(failures), ConsistentRead: true }),
  );
  return (Item?.count as number | undefined) ?? 0;
}

export async function loadRedemptionContext(id: string, idem: IdempotencyContext | undefined) {
  const found = await batchGet([keys.redemption(id), ...(idem ? [idempotencyKey(idem)] : [])]);
  const item = pick(found, keys.redemption(id));
  return {
    redemption: item ? redemptionFromItem(item) : undefined,
    idempotencyItem: idem ? pick(found, idempotencyKey(idem)) : undefined,
  };
}

/**
 * A redemption in its customer's transaction: new (its id unused), or moving from the
 * status read. Either condition failing means the read is stale.
 */
export function redemptionItem(
  redemption: Redemption,
  fromStatus: RedemptionStatus | undefined,
): ExtraItem {
  return {
    item: {
      Put: {
        TableName: tableName(),
        Item: { ...keys.redemption(redemption.id), ...redemption, ...indexKeysOf(redemption) },
        ...(fromStatus === undefined
          ? { ConditionExpression: 'attribute_not_exists(PK)' }
          : {
              ConditionExpression: '#status = :from',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':from': fromStatus },
            }),
      },
    },
    onFailure: 'stale',
  };
}

/**
 * What a redemption captured at a partner adds to the partner's settlement totals, in the
 * transaction that captures it (store/settlements.ts): a capture that does not commit
 * adds nothing, and a replayed one is answered without a transaction.
 */
export function settlementItems(captured: Redemption): ExtraItem[] {
  if (captured.status !== 'captured' || !captured.partnerId || !captured.capturedAt) return [];
  return settlementTotalItems({
    partnerId: captured.partnerId,
    capturedAt: captured.capturedAt,
    amount: captured.amount.amount,
    points: captured.points,
  }).map((item) => ({ item, onFailure: 'stale' }));
}

/** A code's single use, in the transaction that spends its points (`code-used` if it was). */
export function codeUseItem(code: string, redemptionId: string, now: Date): ExtraItem {
  return {
    item: {
      Update: {
        TableName: tableName(),
        Key: keys.redemptionCode(code),
        UpdateExpression: 'SET usedAt = :at, redemptionId = :id',
        ConditionExpression:
          'attribute_exists(PK) AND attribute_not_exists(usedAt) AND expiresAt > :now',
        ExpressionAttributeValues: {
          ':at': now.toISOString(),
          ':id': redemptionId,
          ':now': Math.floor(now.getTime() / 1000),
        },
      },
    },
    onFailure: 'code-used',
  };
}

/** Authorizations in one hold shard whose hold lapsed at or before `asOf`: GSI1, never a scan. */
const lapsedHoldsQuery = (shard: number, asOf: string) => ({
  TableName: tableName(),
  IndexName: 'GSI1',
  // '$' sorts just after '#', so holds expiring exactly at asOf are included.
  KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK < :bound',
  ExpressionAttributeValues: { ':pk': indexKeys.holdShard(shard), ':bound': `${asOf}$` },
  ProjectionExpression: 'id',
});

/** Ids of up to `limit` lapsed authorizations in one hold shard, oldest first. */
export async function lapsedHoldIds(shard: number, asOf: string, limit: number): Promise<string[]> {
  const { Items = [] } = await db().send(
    new QueryCommand({ ...lapsedHoldsQuery(shard, asOf), Limit: limit }),
  );
  return Items.map((item) => item.id as string);
}

/** How many authorizations in one hold shard lapsed by `asOf` (a dry run of the job). */
export async function countLapsedHolds(shard: number, asOf: string): Promise<number> {
  let count = 0;
  for await (const items of queryPages(lapsedHoldsQuery(shard, asOf))) count += items.length;
  return count;
}
