import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.ts';
import {
  type Campaign,
  type CampaignStatus,
  KEEP_ENDED_DAYS,
  LIST_MAX,
  listAfterSave,
  roomFor,
  runsLonger,
  WINDOW_CLASS_DAYS,
  windowClass,
} from '../domain/campaigns.ts';
import { DAY_MS } from '../domain/days.ts';
import { db, tableName } from './client.ts';
import type { ExtraItem } from './customers.ts';
import { keys } from './keys.ts';
import { type Page, queryPage, queryPages } from './pagination.ts';
import { batchGet, keyOf } from './reads.ts';
import { AGAIN, failedConditions, optimistic } from './transactions.ts';

/**
 * Campaigns: each in the CAMPAIGNS partition (for lists) and in the window index (by
 * window class and start, keys.campaignWindow: for purchases long backdated), and every
 * campaign not ended (or ended lately) also in one LIVE item, which purchases read like the
 * program: once per function per `programCacheMs`. LIVE says between which instants the
 * campaigns it left out ran (`leftOutFrom`, `leftOutUntil`); only a purchase that occurred
 * then also reads the window index, so a campaign applies to every purchase in its window
 * however long ago it ended, and a purchase made now reads nothing more.
 * Their counts are sharded items written in the purchase's transaction; a marker per
 * customer and campaign tells a new customer from a returning one.
 */

/** Stats shards per campaign: purchases pick one at random, reads sum them. */
export const CAMPAIGN_STATS_SHARDS = 16;

export interface CampaignStats {
  purchases: number;
  customers: number;
  pointsAwarded: number;
}

interface Live {
  campaigns: Campaign[];
  version: number;
  /** Every campaign LIVE does not hold ran within [from, to] (ms); none when undefined. */
  leftOut: { from: number; to: number } | undefined;
  /** The window classes with a campaign; absent: a LIVE item from before the window index. */
  classes: number[] | undefined;
}

let cached: { live: Live; until: number } | undefined;

async function readLive(consistent: boolean, now: number): Promise<Live> {
  const { Item } = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: keys.liveCampaigns(),
      ConsistentRead: consistent,
    }),
  );
  // No LIVE item: no campaign was ever saved, so there is none to miss.
  if (!Item) return { campaigns: [], version: 0, leftOut: undefined, classes: [] };
  const campaigns = (Item.campaigns as Campaign[] | undefined) ?? [];
  const classes = Item.classes as number[] | undefined;
  return {
    campaigns,
    version: (Item.version as number | undefined) ?? 0,
    leftOut:
      classes === undefined
        ? { from: Number.NEGATIVE_INFINITY, to: legacyLeftOutUntil(campaigns, now) }
        : typeof Item.leftOutFrom === 'string'
          ? { from: Date.parse(Item.leftOutFrom), to: Date.parse(Item.leftOutUntil as string) }
          : undefined,
    classes,
  };
}

/**
 * Until when the campaigns a LIVE item from before the window index left out ran: it
 * dropped those ended more than KEEP_ENDED_DAYS before it was written, and when full the
 * oldest ended.
 */
function legacyLeftOutUntil(campaigns: readonly Campaign[], now: number): number {
  const kept = now - KEEP_ENDED_DAYS * DAY_MS;
  if (campaigns.length < LIST_MAX) return kept;
  // Those dropped ended no later than any it kept; if it kept none ended, it dropped none.
  const ends = campaigns.flatMap((c) => (c.endsAt === null ? [] : [Date.parse(c.endsAt)]));
  const ended = ends.filter((end) => end <= now);
  return ended.length === 0 ? kept : Math.max(kept, Math.min(...ended));
}

async function cachedLive(): Promise<Live> {
  // The wall clock, not a caller's asOf: a run as of next month must not keep a stale list.
  const now = Date.now();
  if (cached && cached.until > now) return cached.live;
  const live = await readLive(false, now);
  cached = { live, until: now + config().programCacheMs };
  return live;
}

/** The campaigns a purchase made now may earn by (see LIVE above), cached like the program. */
export async function liveCampaigns(): Promise<Campaign[]> {
  return (await cachedLive()).campaigns;
}

/**
 * The campaigns that may run at some instant of [from, to], and maybe others: LIVE's
 * (cached), and when [from, to] meets the span of those LIVE left out, the window index's
 * in force there (one Query per window class in use, each reading the class's campaigns
 * started from its span before `from` to `to`: see WINDOW_CLASS_DAYS for how many). A
 * purchase made now, or backdated less than KEEP_ENDED_DAYS, reads nothing more.
 */
export async function campaignsOver(from: Date, to: Date = from): Promise<Campaign[]> {
  const live = await cachedLive();
  return withLeftOut(live.campaigns, live, from.getTime(), to.getTime());
}

/**
 * `campaigns`, and those LIVE left out that ran at some instant of [from, to] (read
 * consistently for a save, which must see the campaign saved just before it).
 */
async function withLeftOut(
  campaigns: readonly Campaign[],
  live: Live,
  from: number,
  to: number,
  consistent = false,
): Promise<Campaign[]> {
  const gap = live.leftOut;
  if (gap === undefined || from >= gap.to || to < gap.from) return [...campaigns];
  const older = await campaignsInWindows(
    new Date(Math.max(from, gap.from)),
    new Date(Math.min(to, gap.to)),
    live.classes,
    consistent,
  );
  const all = new Map(campaigns.map((c) => [c.id, c]));
  for (const c of older) all.set(c.id, c);
  return [...all.values()];
}

/**
 * The campaigns in force at some instant of [from, to] by the window index: per class, those
 * started from its span before `from` to `to` and ending after `from`. Without the index (a
 * table from before it, until a campaign is next saved), every campaign, filtered.
 */
async function campaignsInWindows(
  from: Date,
  to: Date,
  classes: readonly number[] | undefined,
  consistent: boolean,
): Promise<Campaign[]> {
  const found: Campaign[] = [];
  if (classes === undefined) {
    for await (const page of allCampaignItems(consistent)) {
      found.push(...page.map(fromItem).filter((c) => meets(c, from, to)));
    }
    return found;
  }
  await Promise.all(
    classes.map(async (k) => {
      const span = (WINDOW_CLASS_DAYS[k] ?? Number.POSITIVE_INFINITY) * DAY_MS;
      const lowest = new Date(Math.max(0, from.getTime() - span)).toISOString();
      for await (const page of queryPages({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :lo AND :hi',
        FilterExpression: 'endsAtKey > :from',
        ConsistentRead: consistent,
        ExpressionAttributeValues: {
          ':pk': `CMPWIN#${k}`,
          ':lo': lowest,
          ':hi': `${to.toISOString()}#~`,
          ':from': from.toISOString(),
        },
      })) {
        found.push(...page.map(fromItem));
      }
    }),
  );
  return found;
}

/** Whether the campaign's [startsAt, endsAt) meets [from, to]. */
const meets = (c: Campaign, from: Date, to: Date) =>
  Date.parse(c.startsAt) <= to.getTime() &&
  (c.endsAt === null || Date.parse(c.endsAt) > from.getTime());

function allCampaignItems(consistent: boolean) {
  const { PK, SK } = keys.campaign('');
  return queryPages({
    TableName: tableName(),
    ConsistentRead: consistent,
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':pk': PK, ':prefix': SK },
  });
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

const windowKey = (c: Campaign) => keys.campaignWindow(windowClass(c), c.startsAt, c.id);

/** A campaign's copy in the window index, written with the campaign. */
const windowItem = (c: Campaign) => ({ ...item(c), ...windowKey(c) });

/**
 * Puts every campaign into the window index (a table from before it), each unless there
 * already; the classes they are in.
 */
async function indexWindows(): Promise<number[]> {
  const classes = new Set<number>();
  for await (const page of allCampaignItems(true)) {
    for (const i of page) {
      const c = fromItem(i);
      classes.add(windowClass(c));
      await indexWindow(c, i.rev as number | undefined);
    }
  }
  return [...classes];
}

/**
 * Puts the campaign as read (at revision `rev`) into the window index unless a copy is
 * there, and only while it is still at that revision: a save since then wrote its own copy,
 * and deleted the copy at the window it moved from, which this one must not bring back.
 */
async function indexWindow(c: Campaign, rev: number | undefined): Promise<void> {
  await optimistic(async () => {
    try {
      await db().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: tableName(),
                Key: keys.campaign(c.id),
                ConditionExpression:
                  rev === undefined ? 'attribute_not_exists(#rev)' : '#rev = :rev',
                ExpressionAttributeNames: { '#rev': 'rev' },
                ...(rev !== undefined && { ExpressionAttributeValues: { ':rev': rev } }),
              },
            },
            {
              Put: {
                TableName: tableName(),
                Item: windowItem(c),
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
          ],
        }),
      );
    } catch (error) {
      // Indexed already, or changed since it was read (and indexed by that save).
      if ((failedConditions(error) ?? []).length === 0) throw error;
    }
  });
}

export type SaveOutcome =
  | { outcome: 'saved'; campaign: Campaign }
  | { outcome: 'too-large'; bytes: number }
  | { outcome: 'too-many' | 'idempotency-key-taken' | 'not-found' };

/**
 * Writes a campaign (new, or changed by PATCH), its window index item and the LIVE item in
 * one transaction, conditional on the LIVE item's version and on the campaign's own
 * revision, so concurrent changes never lose one another: a PATCH is applied again to a
 * fresh read when either moved on. Which campaigns the LIVE item keeps is the domain's
 * rule (listAfterSave: those ended long ago or past its size leave, and its left-out span
 * grows to hold their windows; they stay in the window index): 'too-large' when the
 * campaigns not ended outgrow it. A campaign that would run beside
 * MAX_OVERLAPPING_CAMPAIGNS others at some instant (ended long ago or
 * not) is refused ('too-many'). `idempotency` claims a key in the same transaction.
 */
export async function saveCampaign(
  target: { create: Campaign } | { id: string; patch: (current: Campaign) => Campaign },
  now: Date,
  options: { idempotency?: ExtraItem['item'] } = {},
): Promise<SaveOutcome> {
  const isNew = 'create' in target;
  return optimistic<SaveOutcome>(async () => {
    const [live, stored] = await Promise.all([
      readLive(true, now.getTime()),
      isNew ? undefined : storedCampaign(target.id),
    ]);
    if (!isNew && !stored) return { outcome: 'not-found' };
    const before = stored?.campaign;
    const campaign = isNew ? target.create : target.patch(before as Campaign);
    // Checked when the campaign runs longer than before (new, or extended).
    if (runsLonger(before, campaign) && !roomFor(campaign, await beside(campaign, live))) {
      return { outcome: 'too-many' };
    }
    const list = listAfterSave(live.campaigns, live.leftOut, campaign, now);
    if ('tooLarge' in list) return { outcome: 'too-large', bytes: list.tooLarge };
    const { leftOut } = list;
    // A table from before the window index gets it first (then the LIVE item says so).
    const classes = new Set(live.classes ?? (await indexWindows()));
    classes.add(windowClass(campaign));
    const moved = before !== undefined && keyOf(windowKey(before)) !== keyOf(windowKey(campaign));
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
                Item: {
                  ...keys.liveCampaigns(),
                  campaigns: list.campaigns,
                  version: live.version + 1,
                  ...(leftOut && {
                    leftOutFrom: new Date(Math.max(0, leftOut.from)).toISOString(),
                    leftOutUntil: new Date(leftOut.to).toISOString(),
                  }),
                  classes: [...classes].sort((a, b) => a - b),
                },
                ConditionExpression: 'attribute_not_exists(PK) OR version = :v',
                ExpressionAttributeValues: { ':v': live.version },
              },
            },
            ...(options.idempotency ? [options.idempotency] : []),
            // After the idempotency claim, whose place (2) tells its failure.
            { Put: { TableName: tableName(), Item: windowItem(campaign) } },
            ...(moved
              ? [{ Delete: { TableName: tableName(), Key: windowKey(before as Campaign) } }]
              : []),
          ],
        }),
      );
      forgetCachedCampaigns();
      return { outcome: 'saved', campaign };
    } catch (error) {
      const failed = failedConditions(error);
      if (!failed) throw error;
      if (options.idempotency && failed.includes(2)) return { outcome: 'idempotency-key-taken' };
      if (isNew && failed.includes(0)) throw error;
      // The LIVE item or the campaign moved on (or a conflicting transaction): read again.
      return AGAIN;
    }
  });
}

/**
 * The campaigns a new or extended campaign must find room beside: all of LIVE's (those this
 * save leaves out too: they are not yet in its left-out span, so the index is not read for
 * them), and where its window meets the span of those LIVE left out, the window index's there.
 */
async function beside(campaign: Campaign, live: Live): Promise<Campaign[]> {
  const end = campaign.endsAt === null ? Number.POSITIVE_INFINITY : Date.parse(campaign.endsAt);
  const all = await withLeftOut(live.campaigns, live, Date.parse(campaign.startsAt), end, true);
  return all.filter((c) => c.id !== campaign.id);
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
    for (const customerId of newCustomers) items.push(campaignMarker(campaignId, customerId, at));
  }
  return items;
}

/**
 * The campaign's marker of a customer it counted (their first purchase or credit in it),
 * unless there: a new one is stale (read again), as a marker is only written once.
 */
export function campaignMarker(campaignId: string, customerId: string, at: Date): ExtraItem {
  return {
    item: {
      Put: {
        TableName: tableName(),
        Item: { ...keys.campaignCustomer(campaignId, customerId), at: at.toISOString() },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    onFailure: 'stale',
  };
}
