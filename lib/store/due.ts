import { tableName } from './client.ts';
import { DUE_SHARDS, keys } from './keys.ts';
import { queryPages } from './pagination.ts';

export type DueIndex =
  | 'ActivateDue'
  | 'ExpireDue'
  | 'RemindDue'
  | 'ReviewDue'
  | 'LapseDue'
  | 'BirthdayDue';

const sortKeyOf: Record<DueIndex, string> = {
  ActivateDue: 'activateAt',
  ExpireDue: 'oldestLot',
  RemindDue: 'remindLot',
  ReviewDue: 'reviewAt',
  LapseDue: 'lapseDueAt',
  BirthdayDue: 'birthdayAt',
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
    for await (const items of queryPages({
      TableName: tableName(),
      IndexName: index,
      KeyConditionExpression: `dueShard = :shard AND #due ${strict ? '<' : '<='} :bound`,
      ExpressionAttributeNames: { '#due': sortKeyOf[index] },
      ExpressionAttributeValues: { ':shard': String(shard), ':bound': bound },
      Limit: pageSize,
    })) {
      if (items.length > 0) yield items.map((item) => keys.customerIdOf(item.PK as string));
    }
  }
}
