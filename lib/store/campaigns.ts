import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.ts';
import {
  type Campaign,
  type CampaignStatus,
  campaignStatus,
  roomFor,
} from '../domain/campaigns.ts';
import { DAY_MS } from '../domain/days.ts';
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
export const CAMPAIGN_STATS_SHARDS = 16;

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
export async function liveCampaigns(): Promise<Campaign[]> {
  // The wall clock, not a caller's asOf: a run as of next month must not keep a stale list.
  const now = Date.now();
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

export type SaveOutcome =
  | { outcome: 'saved'; campaign: Campaign }
  | { outcome: 'too-many' | 'too-large' | 'idempotency-key-taken' | 'not-found' };

/** The LIVE item is kept within this many bytes (DynamoDB's limit is 400 KB). */
export const LIVE_MAX_BYTES = 300_000;

const sizeOf = (campaigns: Campaign[]) => Buffer.byteLength(JSON.stringify(campaigns));

/**
 * Writes a campaign (new, or changed by PATCH) and the LIVE item in one transaction,
 * conditional on the LIVE item's version and on the campaign's own revision, so
 * concurrent changes never lose one another: a PATCH is applied again to a fresh read
 * when either moved on. Campaigns long ended leave the LIVE item; ended ones leave it
 * first when it would grow past LIVE_MAX_BYTES (campaigns not ended never do: 'too-large').
 * A campaign that would run beside MAX_OVERLAPPING_CAMPAIGNS others at some instant is
 * refused ('too-many'). `idempotency` claims a key in the same transaction.
 */
export async function saveCampaign(
  target: { create: Campaign } | { id: string; patch: (current: Campaign) => Campaign },
  now: Date,
  options: { idempotency?: ExtraItem['item'] } = {},
): Promise<SaveOutcome> {
  const isNew = 'create' in target;
  for (let attempt = 0; attempt < 10; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const [live, stored] = await Promise.all([
      readLive(true),
      isNew ? undefined : storedCampaign(target.id),
    ]);
    if (!isNew && !stored) return { outcome: 'not-found' };
    const before = stored?.campaign;
    const campaign = isNew ? target.create : target.patch(before as Campaign);
    const keptFrom = now.getTime() - KEEP_ENDED_DAYS * DAY_MS;
    const kept = (c: Campaign) => c.endsAt === null || Date.parse(c.endsAt) >= keptFrom;
    const others = live.campaigns.filter((c) => c.id !== campaign.id && kept(c));
    // Checked when the campaign runs longer than before (new, or extended).
    const longer =
      before === undefined ||
      (before.endsAt !== null && (campaign.endsAt === null || campaign.endsAt > before.endsAt));
    if (longer && !roomFor(campaign, others)) return { outcome: 'too-many' };
    const next = [...others, ...(kept(campaign) ? [campaign] : [])].sort((a, b) =>
      (b.endsAt ?? '~').localeCompare(a.endsAt ?? '~'),
    );
    while (next.length > LIVE_MAX || sizeOf(next) > LIVE_MAX_BYTES) {
      const last = next[next.length - 1] as Campaign;
      if (campaignStatus(last, now) !== 'ended') return { outcome: 'too-large' };
      next.pop();
    }
    try {
      await db().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: tableName(),
                Item: { ...item(campaign), rev: (stored?.rev ?? 0) + 1 },
                ...(isNew
                  ? { ConditionExpression: 'attribute_not_exists(PK)' }
                  : {
                      ConditionExpression: 'attribute_exists(PK) AND #rev = :rev',
                      ExpressionAttributeNames: { '#rev': 'rev' },
                      ExpressionAttributeValues: { ':rev': stored?.rev ?? 0 },
                    }),
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
      return { outcome: 'saved', campaign };
    } catch (error) {
      const failed = failedConditions(error);
      if (!failed) {
        if (isTransactionConflict(error)) continue;
        throw error;
      }
      if (options.idempotency && failed.includes(2)) return { outcome: 'idempotency-key-taken' };
      if (isNew && failed.includes(0)) throw error;
      // The LIVE item or the campaign moved on (or a conflicting transaction): read again.
    }
  }
  throw Object.assign(new Error('campaigns kept changing'), {
    name: 'TransactionConflictException',
  });
}

/** A campaign as stored, with its revision (bumped by every save). */
async function storedCampaign(
  id: string,
): Promise<{ campaign: Campaign; rev: number } | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.campaign(id), ConsistentRead: true }),
  );
  return Item
    ? { campaign: fromItem(Item), rev: (Item.rev as number | undefined) ?? 0 }
    : undefined;
}

const fromItem = (i: Record<string, unknown>): Campaign => {
  const { PK: _, SK: __, endsAtKey: ___, rev: ____, ...c } = i;
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
  for (const i of await batchGet(wanted)) {
    const s = stats.get((i.PK as string).slice('CMPSTATS#'.length));
    if (!s) continue;
    s.purchases += (i.purchases as number | undefined) ?? 0;
    s.customers += (i.customers as number | undefined) ?? 0;
    s.pointsAwarded += (i.pointsAwarded as number | undefined) ?? 0;
  }
  return stats;
}

/** One credit a campaign gave a customer: what its counts add up. */
export interface CampaignTally {
  campaignId: string;
  customerId: string;
  points: number;
  /** On a purchase (counted), not a one-off credit (enrolment, birthday, referral). */
  purchase: boolean;
  /** The customer had not taken part before (no marker read with the customer). */
  newCustomer: boolean;
}

/**
 * What credits add to their campaigns' counts, in the same transaction as the change: per
 * campaign one Update of one random shard (a transaction touches an item once, so the
 * credits of one campaign are summed): the purchases, the points and the customers new
 * to it; and a marker per customer new to it. A marker written meanwhile fails the
 * transaction: read again.
 */
export function campaignCountItems(tallies: readonly CampaignTally[], at: Date): ExtraItem[] {
  const items: ExtraItem[] = [];
  for (const campaignId of new Set(tallies.map((t) => t.campaignId))) {
    const mine = tallies.filter((t) => t.campaignId === campaignId);
    const purchases = mine.filter((t) => t.purchase).length;
    const points = mine.reduce((sum, t) => sum + t.points, 0);
    const newCustomers = [...new Set(mine.filter((t) => t.newCustomer).map((t) => t.customerId))];
    const add = [
      ...(purchases > 0 ? ['purchases :purchases'] : []),
      'pointsAwarded :points',
      ...(newCustomers.length > 0 ? ['customers :customers'] : []),
    ];
    items.push({
      item: {
        Update: {
          TableName: tableName(),
          Key: keys.campaignStats(campaignId, Math.floor(Math.random() * CAMPAIGN_STATS_SHARDS)),
          UpdateExpression: `ADD ${add.join(', ')}`,
          ExpressionAttributeValues: {
            ':points': points,
            ...(purchases > 0 && { ':purchases': purchases }),
            ...(newCustomers.length > 0 && { ':customers': newCustomers.length }),
          },
        },
      },
      onFailure: 'stale',
    });
    for (const customerId of newCustomers) {
      items.push({
        item: {
          Put: {
            TableName: tableName(),
            Item: { ...keys.campaignCustomer(campaignId, customerId), at: at.toISOString() },
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        onFailure: 'stale',
      });
    }
  }
  return items;
}
