import { tableName } from './client.ts';
import { DUE_SHARDS, keys } from './keys.ts';
import { queryPages } from './pagination.ts';

export type DueIndex =
  | 'ActivateDue'
  | 'ExpireDue'
  | 'RemindDue'
  | 'ReviewDue'
  | 'LapseDue'
  | 'BirthdayDue'
  | 'WebhookDue';

const sortKeyOf: Record<DueIndex, string> = {
  ActivateDue: 'activateAt',
  ExpireDue: 'oldestLot',
  RemindDue: 'remindLot',
  ReviewDue: 'reviewAt',
  LapseDue: 'lapseDueAt',
  BirthdayDue: 'birthdayAt',
  WebhookDue: 'deliverAt',
};

/**
 * The keys of the items due in one of the due indexes (sort key at most `bound`, or below
 * it when `strict`), a page at a time, shard by shard from `firstShard`. A keys-only Query:
 * it reads what is due, never the rest.
 */
export async function* dueItems(
  index: DueIndex,
  bound: string,
  options: { pageSize?: number; strict?: boolean; firstShard?: number } = {},
): AsyncGenerator<Record<string, unknown>[]> {
  const { pageSize = 100, strict = false, firstShard = 0 } = options;
  for (let k = 0; k < DUE_SHARDS; k++) {
    const shard = (firstShard + k) % DUE_SHARDS;
    for await (const items of queryPages({
      TableName: tableName(),
      IndexName: index,
      KeyConditionExpression: `dueShard = :shard AND #due ${strict ? '<' : '<='} :bound`,
      ExpressionAttributeNames: { '#due': sortKeyOf[index] },
      ExpressionAttributeValues: { ':shard': String(shard), ':bound': bound },
      Limit: pageSize,
    })) {
      if (items.length > 0) yield items;
    }
  }
}

/** The ids of customers due in one of the customer due indexes (see dueItems). */
export async function* dueCustomerIds(
  index: DueIndex,
  bound: string,
  pageSize = 100,
  strict = false,
): AsyncGenerator<string[]> {
  for await (const items of dueItems(index, bound, { pageSize, strict })) {
    yield items.map((item) => keys.customerIdOf(item.PK as string));
  }
}
