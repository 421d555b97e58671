import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './client.ts';
import { DUE_SHARDS } from './keys.ts';

export type DueIndex = 'ActivateDue' | 'ExpireDue' | 'ReviewDue' | 'LapseDue';

const sortKeyOf: Record<DueIndex, string> = {
  ActivateDue: 'activateAt',
  ExpireDue: 'oldestLot',
  ReviewDue: 'reviewAt',
  LapseDue: 'lapseDueAt',
};

/**
 * The ids of customers due in one of the due indexes (sort key at most `bound`, or below
 * it when `strict`), a page at a time, shard by shard. A keys-only Query: it reads the
 * customers due, never the rest.
 */
export async function* dueCustomerIds(
  index: DueIndex,
  bound: string,
  pageSize = 100,
  strict = false,
): AsyncGenerator<string[]> {
  for (let shard = 0; shard < DUE_SHARDS; shard++) {
    let start: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await db().send(
        new QueryCommand({
          TableName: tableName(),
          IndexName: index,
          KeyConditionExpression: `dueShard = :shard AND #due ${strict ? '<' : '<='} :bound`,
          ExpressionAttributeNames: { '#due': sortKeyOf[index] },
          ExpressionAttributeValues: { ':shard': String(shard), ':bound': bound },
          Limit: pageSize,
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      const ids = (page.Items ?? []).map((item) => (item.PK as string).slice('CUS#'.length));
      if (ids.length > 0) yield ids;
      start = page.LastEvaluatedKey;
    } while (start);
  }
}
