import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The single table's shape, shared by the CDK stack (infra/) and the local runtime,
 * so DynamoDB Local always has exactly the keys and indexes AWS has.
 */
export const tableDefinition = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** Epoch seconds. DynamoDB deletes expired items late, so readers check it themselves. */
  timeToLiveAttribute: 'expiresAt',
  /**
   * GSI1 is sparse: only items that must be found by something other than their key
   * carry GSI1PK/GSI1SK. Authorized redemptions sit under `HOLDS#<shard>` by expiry (the
   * hold sweep); redemptions captured at a partner under `SETTLE#<partnerId>` by capture
   * time (settlement).
   */
  globalSecondaryIndexes: [{ indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' }] as {
    indexName: string;
    partitionKey: string;
    sortKey: string;
  }[],
} as const;

export function createTableInput(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, globalSecondaryIndexes } = tableDefinition;
  const attributes = new Set([
    partitionKey,
    sortKey,
    ...globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ]);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((name) => ({
      AttributeName: name,
      AttributeType: 'S',
    })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    ...(globalSecondaryIndexes.length > 0 && {
      GlobalSecondaryIndexes: globalSecondaryIndexes.map((i) => ({
        IndexName: i.indexName,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      })),
    }),
  };
}
