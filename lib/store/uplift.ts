/**
 * The win-back experiments' counts (domain/winBack.ts): one item per campaign, group, UTC
 * day of the flag and shard, added to in the transaction of the change that counts (a
 * flag, a return, a purchase in a window), so they are exact under concurrency. A report
 * reads one partition, the days whose windows have closed: its reads grow with how long
 * the campaign ran, never with how many customers it flagged.
 */

import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { UpliftCounts, UpliftTallies, WinBackGroup } from '../domain/winBack.ts';
import { mergeTallies } from '../domain/winBack.ts';
import { tableName } from './client.ts';
import { keys } from './keys.ts';
import { queryPages } from './pagination.ts';
import { addCounts } from './reports.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Shards of each day's counts: concurrent returns of customers flagged the same day spread. */
export const UPLIFT_SHARDS = 4;

/** The changes' tallies summed, one Update per campaign, group and flag day (a random shard). */
export function upliftItems(tallies: UpliftTallies): TransactItem[] {
  const shard = Math.floor(Math.random() * UPLIFT_SHARDS);
  const items: TransactItem[] = [];
  for (const [key, counts] of tallies) {
    const nonZero = Object.fromEntries(
      Object.entries(counts).filter((entry): entry is [string, number] => (entry[1] ?? 0) !== 0),
    );
    if (Object.keys(nonZero).length === 0) continue;
    const [campaignId, group, day] = key.split(' ') as [string, string, string];
    items.push({
      Update: {
        TableName: tableName(),
        Key: keys.upliftCounts(campaignId, group, day, shard),
        ...addCounts(nonZero),
      },
    });
  }
  return items;
}

/** The tallies of several changes as one (a transaction touches an item once). */
export const upliftOf = (changes: readonly { uplift?: UpliftTallies }[]): UpliftTallies =>
  changes.reduce((all, c) => (c.uplift ? mergeTallies(all, c.uplift) : all), new Map());

/**
 * A campaign's counts of `group` summed over the flag days from the first to `lastDay`
 * (YYYY-MM-DD, inclusive): one Query (strongly consistent), paged.
 */
export async function readUplift(
  campaignId: string,
  group: WinBackGroup,
  lastDay: string,
): Promise<Required<UpliftCounts>> {
  const counts = {
    assigned: 0,
    came30: 0,
    came60: 0,
    came90: 0,
    came180: 0,
    spend30: 0,
    spend60: 0,
    spend90: 0,
    spend180: 0,
    points30: 0,
    points60: 0,
    points90: 0,
    points180: 0,
  } satisfies Required<UpliftCounts>;
  for await (const page of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
    ExpressionAttributeValues: {
      ':pk': keys.upliftCounts(campaignId, group, '', 0).PK,
      ':from': `${group}#`,
      ':to': `${group}#${lastDay}#~`,
    },
    ConsistentRead: true,
  })) {
    for (const item of page) {
      for (const name of Object.keys(counts) as (keyof typeof counts)[]) {
        counts[name] += (item[name] as number | undefined) ?? 0;
      }
    }
  }
  return counts;
}
