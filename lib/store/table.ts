import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export interface IndexDefinition {
  indexName: string;
  partitionKey: string;
  sortKey: string;
  /** Project only the keys (the due indexes); otherwise every attribute, or `include`. */
  keysOnly: boolean;
  include?: readonly string[];
}

/** What the Lapsed index carries of a customer (the lapsed list and retention report). */
export const LAPSED_ATTRIBUTES = [
  'id',
  'lastPurchaseAt',
  'purchases',
  'cadence',
  'spend',
  'lapseReason',
] as const;

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
   * hold sweep); redemptions captured at a partner under `CAPTURED#<partnerId>` by capture
   * time (the partial minutes at a settlement's ends; those captured before the settlement
   * totals under `SETTLE#<partnerId>` until a one-off pass moves them: store/settlements.ts).
   *
   * The due indexes hold customer items only, keys only, and only while something is
   * due for them, so a job reads the customers due and never the rest. Each is spread
   * over `dueShard` partitions (keys.ts). An index write happens only when the due time
   * itself changes, not on every change to the customer.
   * - ActivateDue: the earliest moment pending points become available.
   * - ExpireDue: the day of the oldest available points (the expiry job asks for the days
   *   that have expired, so it works for any `pointsExpireAfterDays`).
   * - RemindDue: the day of the oldest lot not yet reminded of its expiry (a reminder
   *   moves the customer on to its next lot, so reminded customers leave the range).
   * - ReviewDue: when the tier held must next be reviewed.
   * - LapseWatch: active customers the lapse rule can apply to, by band of typical gap and
   *   last purchase (domain/lapseWatch.ts): the thresholds are not in the key, so a change
   *   of them reaches every customer at once.
   * - LapseDue (legacy): when the rule started to hold, under the thresholds of the
   *   customer's last write. Nothing new enters it; the lapse-scan job moves what is left
   *   to LapseWatch (usecases/lapseWatchIndex.ts). A later release removes it (CloudFormation
   *   adds or removes one index per update).
   * - BirthdayDue: when the next birthday to credit starts (customers with a birthDate).
   *
   * Customers lists every customer, keys only, spread over `sampleShard` (0-63): the
   * model fit reads as many shards as it needs for its sample, not the whole table.
   *
   * WebhookDue holds webhook deliveries only while one is to be attempted (store/webhooks.ts),
   * by when: the delivery job reads what is due, never the log.
   *
   * Lapsed holds lapsed customers only, in one partition newest lapse first, with the
   * few attributes the lapsed list and the retention report need.
   *
   * LapsedByValue holds lapsed customers only, by value at risk highest first, spread
   * over `dueShard` with the same attributes: a page of the list sorted by value at risk
   * reads each shard's head and merges them, never the whole list. Sorted by churnRisk,
   * the list reads GSI1 (`CHURN#<dueShard>`, on the customer item), not an index of its
   * own: CloudFormation adds one index per stack update, so one release adds one. Both
   * keys are the scores as of the customer's last write or the daily refresh
   * (usecases/lapsedScores.ts).
   */
  globalSecondaryIndexes: [
    { indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK', keysOnly: false },
    { indexName: 'ActivateDue', partitionKey: 'dueShard', sortKey: 'activateAt', keysOnly: true },
    { indexName: 'ExpireDue', partitionKey: 'dueShard', sortKey: 'oldestLot', keysOnly: true },
    { indexName: 'RemindDue', partitionKey: 'dueShard', sortKey: 'remindLot', keysOnly: true },
    { indexName: 'ReviewDue', partitionKey: 'dueShard', sortKey: 'reviewAt', keysOnly: true },
    { indexName: 'LapseDue', partitionKey: 'dueShard', sortKey: 'lapseDueAt', keysOnly: true },
    { indexName: 'LapseWatch', partitionKey: 'dueShard', sortKey: 'lapseWatch', keysOnly: true },
    { indexName: 'BirthdayDue', partitionKey: 'dueShard', sortKey: 'birthdayAt', keysOnly: true },
    { indexName: 'Customers', partitionKey: 'sampleShard', sortKey: 'createdAt', keysOnly: true },
    { indexName: 'WebhookDue', partitionKey: 'dueShard', sortKey: 'deliverAt', keysOnly: true },
    {
      indexName: 'Lapsed',
      partitionKey: 'lapsedList',
      sortKey: 'lapsedAt',
      keysOnly: false,
      include: LAPSED_ATTRIBUTES,
    },
    {
      indexName: 'LapsedByValue',
      partitionKey: 'dueShard',
      sortKey: 'lapsedValue',
      keysOnly: false,
      include: [...LAPSED_ATTRIBUTES, 'lapsedAt'],
    },
  ] as IndexDefinition[],
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
      GlobalSecondaryIndexes: globalSecondaryIndexes.map(indexInput),
    }),
  };
}

/** One GSI as CreateTable and UpdateTable take it. */
export function indexInput(i: IndexDefinition) {
  return {
    IndexName: i.indexName,
    KeySchema: [
      { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: i.keysOnly
      ? { ProjectionType: 'KEYS_ONLY' as const }
      : i.include
        ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...i.include] }
        : { ProjectionType: 'ALL' as const },
  };
}
