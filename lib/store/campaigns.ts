import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.ts';
import { type Campaign, type CampaignStatus, roomFor } from '../domain/campaigns.ts';
import { db, tableName } from './client.ts';
import type { ExtraItem } from './customers.ts';
import { keys } from './keys.ts';
import { type Page, queryPage } from './pagination.ts';
import { batchGet } from './reads.ts';
import { backoff, failedConditions, isTransactionConflict } from './transactions.ts';

/**
 * Campaigns: each in the CAMPAIGNS partition (for lists), and every campaign not ended
 * (or ended within KEEP_ENDED_DAYS) also in one LIVE item, which purchases read like the
 * program: once per function per `programCacheMs`. Their counts are sharded items written in the purchase's transaction;
 * a marker per customer and campaign tells a new customer from a returning one.
 */

/**
 * The LIVE item keeps the campaigns that ended within this many days too, for purchases
 * backdated into them (imports), up to LIVE_MAX campaigns (the oldest ended leave first).
 */
export const KEEP_ENDED_DAYS = 400;
export const LIVE_MAX = 200;

/** Stats shards per campaign: purchases pick one at random, reads sum them. */
export const CAMPAIGN_STATS_SHARDS = 8;

export interface CampaignStats {
  purchases: number;
  customers: number;
  pointsAwarded: number;
}

let cached: { campaigns: Campaign[]; until: number } | undefined;

interface Live {
  campaigns: Campaign[];
  version: number;
}

async function readLive(consistent: boolean): Promise<Live> {
  const { Item } = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: keys.liveCampaigns(),
      ConsistentRead: consistent,
    }),
  );
  return {
    campaigns: (Item?.campaigns as Campaign[] | undefined) ?? [],
    version: (Item?.version as number | undefined) ?? 0,
  };
}

/** The campaigns a purchase may earn by (see LIVE above), cached like the program. */
export async function liveCampaigns(now = Date.now()): Promise<Campaign[]> {
  if (cached && cached.until > now) return cached.campaigns;
  const { campaigns } = await readLive(false);
  cached = { campaigns, until: now + config().programCacheMs };
  return campaigns;
}

export function forgetCachedCampaigns(): void {
  cached = undefined;
}

const item = (c: Campaign) => ({
  ...keys.campaign(c.id),
  ...c,
  // For the list's status filter: a campaign without an end sorts after every instant.
  endsAtKey: c.endsAt ?? '~',
});

export type SaveOutcome = 'saved' | 'too-many' | 'idempotency-key-taken' | 'not-found';

/**
 * Writes a campaign (new, or changed by PATCH) and the LIVE item in one transaction,
 * conditional on the LIVE item's version, so concurrent changes never lose one another;
 * campaigns long ended leave the LIVE item then. A campaign that would run beside
 * MAX_OVERLAPPING_CAMPAIGNS others at some instant is refused ('too-many'). `idempotency` claims a key in the same
 * transaction.
 */
export async function saveCampaign(
  campaign: Campaign,
  now: Date,
  options: { isNew: boolean; idempotency?: ExtraItem['item'] },
): Promise<SaveOutcome> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const live = await readLive(true);
    const keptFrom = now.getTime() - KEEP_ENDED_DAYS * 86_400_000;
    const kept = (c: Campaign) => c.endsAt === null || Date.parse(c.endsAt) >= keptFrom;
    const before = live.campaigns.find((c) => c.id === campaign.id);
    const others = live.campaigns.filter((c) => c.id !== campaign.id && kept(c));
    // Checked when the campaign runs longer than before (new, or extended).
    const longer =
      before === undefined ||
      before.startsAt !== campaign.startsAt ||
      (before.endsAt !== null && (campaign.endsAt === null || campaign.endsAt > before.endsAt));
    if (longer && !roomFor(campaign, others)) return 'too-many';
    const next = [...others, ...(kept(campaign) ? [campaign] : [])]
      .sort((a, b) => (b.endsAt ?? '~').localeCompare(a.endsAt ?? '~'))
      .slice(0, LIVE_MAX);
    try {
      await db().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: tableName(),
                Item: item(campaign),
                ConditionExpression: options.isNew
                  ? 'attribute_not_exists(PK)'
                  : 'attribute_exists(PK)',
              },
            },
            {
              Put: {
                TableName: tableName(),
                Item: { ...keys.liveCampaigns(), campaigns: next, version: live.version + 1 },
                ConditionExpression: 'attribute_not_exists(PK) OR version = :v',
                ExpressionAttributeValues: { ':v': live.version },
              },
            },
            ...(options.idempotency ? [options.idempotency] : []),
          ],
        }),
      );
      forgetCachedCampaigns();
      return 'saved';
    } catch (error) {
      const failed = failedConditions(error);
      if (!failed) {
        if (isTransactionConflict(error)) continue;
        throw error;
      }
      if (options.idempotency && failed.includes(2)) return 'idempotency-key-taken';
      if (failed.includes(0)) {
        if (options.isNew) throw error;
        return 'not-found';
      }
      // The LIVE item moved on (or a conflicting transaction): read it again.
      await backoff(attempt + 1);
    }
  }
  throw Object.assign(new Error('campaigns kept changing'), {
    name: 'TransactionConflictException',
  });
}

const fromItem = (i: Record<string, unknown>): Campaign => {
  const { PK: _, SK: __, endsAtKey: ___, ...c } = i;
  return c as unknown as Campaign;
};

export async function getCampaign(id: string): Promise<Campaign | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.campaign(id), ConsistentRead: true }),
  );
  return Item ? fromItem(Item) : undefined;
}

const statusFilter = (status: CampaignStatus | undefined) => {
  switch (status) {
    case 'scheduled':
      return { FilterExpression: 'startsAt > :now' };
    case 'active':
      return { FilterExpression: 'startsAt <= :now AND endsAtKey > :now' };
    case 'ended':
      return { FilterExpression: 'endsAtKey <= :now' };
    default:
      return {};
  }
};

/** A page of campaigns, oldest first, optionally by status (as of `now`). */
export async function campaignPage(
  limit: number,
  cursor: string | undefined,
  status: CampaignStatus | undefined,
  now: Date,
): Promise<Page<Campaign>> {
  const { PK, SK } = keys.campaign('');
  const filter = statusFilter(status);
  const page = await queryPage(
    {
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ...filter,
      ExpressionAttributeValues: {
        ':pk': PK,
        ':prefix': SK,
        ...(filter.FilterExpression && { ':now': now.toISOString() }),
      },
    },
    { PK, skPrefix: SK },
    limit,
    cursor,
  );
  return { items: page.items.map(fromItem), nextCursor: page.nextCursor };
}

/** The counts of each campaign: the sum of its shards (consistent BatchGetItems, 100 keys each). */
export async function campaignStats(ids: string[]): Promise<Map<string, CampaignStats>> {
  const stats = new Map<string, CampaignStats>(
    ids.map((id) => [id, { purchases: 0, customers: 0, pointsAwarded: 0 }]),
  );
  const wanted = ids.flatMap((id) =>
    Array.from({ length: CAMPAIGN_STATS_SHARDS }, (_, n) => keys.campaignStats(id, n)),
  );
  const chunks: (typeof wanted)[] = [];
  for (let i = 0; i < wanted.length; i += 100) chunks.push(wanted.slice(i, i + 100));
  for (const items of await Promise.all(chunks.map(batchGet))) {
    for (const i of items) {
      const s = stats.get((i.PK as string).slice('CMPSTATS#'.length));
      if (!s) continue;
      s.purchases += (i.purchases as number | undefined) ?? 0;
      s.customers += (i.customers as number | undefined) ?? 0;
      s.pointsAwarded += (i.pointsAwarded as number | undefined) ?? 0;
    }
  }
  return stats;
}

/**
 * What a purchase (or a one-off credit) adds to a campaign's counts, in the same
 * transaction as the change: one more purchase (unless a one-off), its points, and, for
 * a customer not seen before (`newCustomer`, read with the customer), the marker and one
 * more customer. A marker written meanwhile fails the transaction: read again.
 */
export function campaignCountItems(args: {
  campaignId: string;
  customerId: string;
  points: number;
  purchase: boolean;
  newCustomer: boolean;
  at: Date;
}): ExtraItem[] {
  const shard = Math.floor(Math.random() * CAMPAIGN_STATS_SHARDS);
  const add = [
    ...(args.purchase ? ['purchases :one'] : []),
    'pointsAwarded :points',
    ...(args.newCustomer ? ['customers :one'] : []),
  ];
  return [
    {
      item: {
        Update: {
          TableName: tableName(),
          Key: keys.campaignStats(args.campaignId, shard),
          UpdateExpression: `ADD ${add.join(', ')}`,
          ExpressionAttributeValues: {
            ':points': args.points,
            ...((args.purchase || args.newCustomer) && { ':one': 1 }),
          },
        },
      },
      onFailure: 'stale',
    },
    ...(args.newCustomer
      ? [
          {
            item: {
              Put: {
                TableName: tableName(),
                Item: {
                  ...keys.campaignCustomer(args.campaignId, args.customerId),
                  at: args.at.toISOString(),
                },
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
            onFailure: 'stale' as const,
          },
        ]
      : []),
  ];
}
