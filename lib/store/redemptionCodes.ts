import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName, writeIf } from './client.ts';
import { indexKeys, keys } from './keys.ts';
import { queryPages } from './pagination.ts';

/**
 * Redemption codes live under their own key, so a till's code is found with one GetItem,
 * never a scan. `expiresAt` (epoch seconds) doubles as the TTL attribute, but DynamoDB
 * deletes late, so readers check it themselves. Each also sits in GSI1 under its customer
 * (`CODES#<customerId>`, by creation), so a customer's codes are one Query (an export).
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
      Item: {
        ...keys.redemptionCode(code.code),
        ...code,
        ...indexKeys.customerCode(code.customerId, code.createdAt, code.code),
      },
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
  const { PK: _pk, SK: _sk, GSI1PK: _gpk, GSI1SK: _gsk, ...stored } = Item;
  return stored as RedemptionCode;
}

/**
 * The codes a customer holds, oldest first: used or not, and those expired that DynamoDB's
 * TTL has not yet deleted (codes made before the index, at most 10 minutes old then, are
 * not listed).
 */
export async function customerCodes(customerId: string): Promise<RedemptionCode[]> {
  const codes: RedemptionCode[] = [];
  for await (const items of queryPages({
    TableName: tableName(),
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :codes',
    ExpressionAttributeValues: { ':codes': indexKeys.customerCodes(customerId) },
  })) {
    for (const { PK: _pk, SK: _sk, GSI1PK: _gpk, GSI1SK: _gsk, ...code } of items) {
      codes.push(code as unknown as RedemptionCode);
    }
  }
  return codes;
}

/** The customer's codes that could still be used at `now`: not used, not expired. */
export async function usableCodes(customerId: string, now: Date): Promise<RedemptionCode[]> {
  const seconds = Math.floor(now.getTime() / 1000);
  return (await customerCodes(customerId)).filter(
    (c) => c.usedAt === undefined && c.expiresAt > seconds,
  );
}
