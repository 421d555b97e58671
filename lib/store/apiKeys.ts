import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Principal, Role } from '../principal.ts';
import { db, tableName } from './client.ts';
import { keys } from './keys.ts';

/**
 * API keys are stored only as SHA-256 hashes. The keys are 256 random bits, so a fast
 * hash is enough (a slow password hash protects guessable secrets, which these aren't).
 * Two items per key: the hash item, which the authorizer reads with one GetItem, and the
 * key's record by id, which revocation needs (it holds the hash to delete).
 */
export interface ApiKeyRecord {
  id: string;
  role: Exclude<Role, 'customer'>;
  storeId?: string;
  partnerId?: string;
  name?: string;
  createdAt: string;
  revokedAt?: string;
}

export async function insertApiKey(record: ApiKeyRecord, hash: string): Promise<boolean> {
  const principal: Principal = {
    keyId: record.id,
    role: record.role,
    ...(record.storeId && { storeId: record.storeId }),
    ...(record.partnerId && { partnerId: record.partnerId }),
  };
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName(),
              Item: { ...keys.apiKey(record.id), ...record, hash },
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
          {
            Put: {
              TableName: tableName(),
              Item: { ...keys.apiKeyHash(hash), ...principal },
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'TransactionCanceledException') return false;
    throw error;
  }
}

export async function principalForHash(hash: string): Promise<Principal | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.apiKeyHash(hash) }),
  );
  if (!Item) return undefined;
  return {
    keyId: Item.keyId,
    role: Item.role,
    ...(Item.storeId && { storeId: Item.storeId }),
    ...(Item.partnerId && { partnerId: Item.partnerId }),
  };
}

/** Revokes a key: its hash item goes, so the authorizer stops finding it. False if unknown. */
export async function revokeApiKey(id: string, now: Date): Promise<boolean> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.apiKey(id), ConsistentRead: true }),
  );
  if (!Item) return false;
  if (Item.revokedAt) return true;
  await db().send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName: tableName(),
            Key: keys.apiKey(id),
            UpdateExpression: 'SET revokedAt = :now',
            ConditionExpression: 'attribute_exists(PK)',
            ExpressionAttributeValues: { ':now': now.toISOString() },
          },
        },
        { Delete: { TableName: tableName(), Key: keys.apiKeyHash(Item.hash as string) } },
      ],
    }),
  );
  return true;
}
