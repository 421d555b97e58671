import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { BAND_FLOORS, bandRange, parseLapseWatch, watchedLapsed } from '../domain/lapseWatch.ts';
import type { Program } from '../domain/program.ts';
import { tableName, writeIf } from './client.ts';
import { DUE_SHARDS, keys } from './keys.ts';
import { queryPages } from './pagination.ts';

export type DueIndex =
  | 'ActivateDue'
  | 'ExpireDue'
  | 'RemindDue'
  | 'ReviewDue'
  | 'LapseDue'
  | 'LapseWatch'
  | 'BirthdayDue'
  | 'WebhookDue';

const sortKeyOf: Record<DueIndex, string> = {
  ActivateDue: 'activateAt',
  ExpireDue: 'oldestLot',
  RemindDue: 'remindLot',
  ReviewDue: 'reviewAt',
  LapseDue: 'lapseDueAt',
  LapseWatch: 'lapseWatch',
  BirthdayDue: 'birthdayAt',
  WebhookDue: 'deliverAt',
};

/**
 * The keys of the items due in one of the due indexes (sort key at most `bound`, and at
 * least `from` when given), a page at a time, shard by shard from `firstShard`. A keys-only
 * Query: it reads what is due, never the rest.
 */
export async function* dueItems(
  index: DueIndex,
  bound: string,
  options: { pageSize?: number; from?: string; firstShard?: number } = {},
): AsyncGenerator<Record<string, unknown>[]> {
  const { pageSize = 100, from, firstShard = 0 } = options;
  for (let k = 0; k < DUE_SHARDS; k++) {
    const shard = (firstShard + k) % DUE_SHARDS;
    for await (const items of queryPages({
      TableName: tableName(),
      IndexName: index,
      KeyConditionExpression: `dueShard = :shard AND #due ${from === undefined ? '<= :bound' : 'BETWEEN :from AND :bound'}`,
      ExpressionAttributeNames: { '#due': sortKeyOf[index] },
      ExpressionAttributeValues: {
        ':shard': String(shard),
        ':bound': bound,
        ...(from !== undefined && { ':from': from }),
      },
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
): AsyncGenerator<string[]> {
  for await (const items of dueItems(index, bound, { pageSize })) {
    yield items.map((item) => keys.customerIdOf(item.PK as string));
  }
}

/**
 * The customers lapsed at `asOf` under `rule`, from the LapseWatch index (lapseWatch.ts):
 * one keys-only Query per gap band and shard, bounded by the band's smallest threshold;
 * the entries of customers not due yet (a larger gap within the band) are dropped by their
 * key. An entry below `rule.minPurchases` (raised since it was written) would come back
 * on every run: it is dropped from the index (unless `dropStale` is false: a dry run).
 */
export async function* lapsedCustomerIds(
  asOf: Date,
  rule: Program['lapse'],
  options: { pageSize?: number; dropStale?: boolean } = {},
): AsyncGenerator<string[]> {
  const { pageSize = 100, dropStale = true } = options;
  for (let band = 0; band < BAND_FLOORS.length; band++) {
    const range = bandRange(band, asOf, rule);
    if (range === null) continue;
    for await (const items of dueItems('LapseWatch', range.to, { pageSize, from: range.from })) {
      const due: string[] = [];
      for (const item of items) {
        const watched = parseLapseWatch(item.lapseWatch as string);
        if (watched && watched.purchases < rule.minPurchases) {
          if (dropStale) await dropFromLapseWatch(item);
        } else if (watched && watchedLapsed(watched, asOf, rule)) {
          due.push(keys.customerIdOf(item.PK as string));
        }
      }
      // Every page, due or not: the caller checks its deadline between pages.
      yield due;
    }
  }
}

/** Takes a customer out of LapseWatch, unless their entry changed since it was read. */
async function dropFromLapseWatch(item: Record<string, unknown>): Promise<void> {
  await writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: { PK: item.PK, SK: item.SK },
      UpdateExpression: 'REMOVE lapseWatch',
      ConditionExpression: 'lapseWatch = :key',
      ExpressionAttributeValues: { ':key': item.lapseWatch },
    }),
  );
}
