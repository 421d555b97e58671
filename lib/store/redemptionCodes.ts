import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName, writeIf } from './client.ts';
import { keys } from './keys.ts';

/**
 * Redemption codes live under their own key, so a till's code is found with one GetItem,
 * never a scan. `expiresAt` (epoch seconds) doubles as the TTL attribute, but DynamoDB
 * deletes late, so readers check it themselves.
 */
export interface RedemptionCode {
  code: string;
  customerId: string;
  createdAt: string;
  expiresAt: number;
  usedAt?: string;
}

/** Stores a fresh code; false if that code is held by an unexpired one (then draw again). */
export async function insertRedemptionCode(code: RedemptionCode, now: Date): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keys.redemptionCode(code.code), ...code },
      ConditionExpression: 'attribute_not_exists(PK) OR expiresAt <= :now',
      ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
    }),
  );
}

/** The code if it exists, is unused and has not expired at `now`. */
export async function findUsableCode(code: string, now: Date): Promise<RedemptionCode | undefined> {
  const { Item } = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: keys.redemptionCode(code),
      ConsistentRead: true,
    }),
  );
  if (!Item || Item.usedAt || (Item.expiresAt as number) <= Math.floor(now.getTime() / 1000)) {
    return undefined;
  }
  const { PK: _pk, SK: _sk, ...stored } = Item;
  return stored as RedemptionCode;
}
