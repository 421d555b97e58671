/**
 * Campaigns: when one runs, whom it is for, and which of a purchase's spend it matches.
 * What a purchase then earns is in earning.ts.
 */

import type { CustomerState } from './customer.ts';
import { DAY_MS } from './days.ts';
import type { Money } from './money.ts';

export const campaignTypes = ['multiplier', 'bonus', 'enrolment', 'birthday', 'referral'] as const;
export type CampaignType = (typeof campaignTypes)[number];

/**
 * Whether a campaign adds to a purchase's earn (multiplier, bonus); the other types are
 * one-off credits (a `bonus` ledger entry).
 */
export const earnsOnPurchase = (c: Pick<Campaign, 'type'>): boolean =>
  c.type === 'multiplier' || c.type === 'bonus';

export interface Campaign {
  id: string;
  name: string;
  type: CampaignType;
  startsAt: string;
  /** null: runs until ended (PATCH endsAt). */
  endsAt: string | null;
  match?: { categories?: string[]; skus?: string[] };
  audience?: { tiers?: string[]; status?: 'lapsed' };
  /** UTC days of the week it runs on, 0 = Sunday; all days when absent. */
  daysOfWeek?: number[];
  /** `multiplier`: matching spend earns (m - 1) x its base points more. */
  multiplier?: number;
  /** `bonus`, `enrolment`, `birthday`; `referral`: what the referrer gets. */
  points?: number;
  /** `referral`: what the referred customer gets on their first purchase. */
  refereePoints?: number;
  minSpend?: Money;
  firstPurchaseOnly?: boolean;
  /**
   * A win-back campaign's holdout share (0..0.5): customers flagged while it runs are held
   * out of the offer with this probability, to measure its effect (winBack.ts).
   */
  holdout?: number;
  createdAt: string;
}

export type CampaignStatus = 'scheduled' | 'active' | 'ended';

export function campaignStatus(
  c: Pick<Campaign, 'startsAt' | 'endsAt'>,
  now: Date,
): CampaignStatus {
  const t = now.getTime();
  if (t < Date.parse(c.startsAt)) return 'scheduled';
  if (c.endsAt !== null && t >= Date.parse(c.endsAt)) return 'ended';
  return 'active';
}

/** Whether the campaign runs at `at`: in [startsAt, endsAt), on one of its UTC days. */
export function runsAt(c: Campaign, at: Date): boolean {
  if (campaignStatus(c, at) !== 'active') return false;
  return c.daysOfWeek === undefined || c.daysOfWeek.includes(at.getUTCDay());
}

/** Whether the campaign runs at some moment of the UTC day starting at `dayStart`, on its days. */
export function runsOnDay(c: Campaign, dayStart: Date): boolean {
  const start = dayStart.getTime();
  const end = start + DAY_MS;
  const runs = Date.parse(c.startsAt) < end && (c.endsAt === null || Date.parse(c.endsAt) > start);
  return runs && (c.daysOfWeek === undefined || c.daysOfWeek.includes(dayStart.getUTCDay()));
}

/** Who the customer was before the purchase, as audiences see it. */
export interface AudienceMember {
  tierId: string;
  status: CustomerState['status'];
}

export function inAudience(c: Campaign, who: AudienceMember): boolean {
  const a = c.audience;
  if (a?.tiers !== undefined && !a.tiers.includes(who.tierId)) return false;
  if (a?.status !== undefined && who.status !== a.status) return false;
  return true;
}

/** One line of a purchase, as earning sees it. */
export interface PurchaseLine {
  sku: string;
  category?: string;
  quantity: number;
  unitPrice: { amount: number };
}

export const lineSpend = (l: PurchaseLine): number => l.quantity * l.unitPrice.amount;

/** Whether a line is one the campaign's `match` names (by category or by SKU). */
export function lineMatches(c: Campaign, l: PurchaseLine): boolean {
  const m = c.match;
  if (m === undefined) return true;
  return (
    (l.category !== undefined && (m.categories ?? []).includes(l.category)) ||
    (m.skus ?? []).includes(l.sku)
  );
}

/**
 * At most this many campaigns may run at any one instant, so what a purchase reads and
 * writes for its campaigns stays bounded (a marker read and a count write each).
 */
export const MAX_OVERLAPPING_CAMPAIGNS = 20;

const endOf = (c: Pick<Campaign, 'endsAt'>) =>
  c.endsAt === null ? Number.POSITIVE_INFINITY : Date.parse(c.endsAt);

/** Whether two campaigns' [startsAt, endsAt) share an instant. */
export const overlap = (a: Campaign, b: Campaign): boolean =>
  Date.parse(a.startsAt) < endOf(b) && Date.parse(b.startsAt) < endOf(a);

/**
 * Whether `campaign` may run beside `others`: at no instant of its window would it run
 * with MAX_OVERLAPPING_CAMPAIGNS others (a sweep over their starts and ends).
 */
export function roomFor(campaign: Campaign, others: readonly Campaign[]): boolean {
  const from = Date.parse(campaign.startsAt);
  const to = endOf(campaign);
  const moments: [at: number, delta: number][] = [];
  for (const o of others) {
    if (o.id === campaign.id || !overlap(o, campaign)) continue;
    moments.push([Math.max(from, Date.parse(o.startsAt)), 1]);
    const end = endOf(o);
    if (end < to) moments.push([end, -1]);
  }
  // Ends before starts at the same instant: [startsAt, endsAt) windows that only touch
  // do not overlap.
  moments.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  for (const [, delta] of moments) {
    running += delta;
    if (running >= MAX_OVERLAPPING_CAMPAIGNS) return false;
  }
  return true;
}

/** Whether a save makes `after` run longer than `before` (new, or its end later or gone). */
export const runsLonger = (before: Campaign | undefined, after: Campaign): boolean =>
  before === undefined ||
  (before.endsAt !== null && (after.endsAt === null || after.endsAt > before.endsAt));

/**
 * The list purchases read for their campaigns (the store's LIVE item) keeps the campaigns
 * that ended within this many days too, for purchases backdated into them (late till syncs,
 * imports of the last year), up to LIST_MAX campaigns (the oldest ended leave first).
 */
export const KEEP_ENDED_DAYS = 400;
export const LIST_MAX = 200;

/**
 * The list is kept within this many bytes (one DynamoDB item holds 400 KB): the campaigns
 * not yet ended (running or scheduled) must fit in it, about 1,000 without match lists.
 */
export const LIST_MAX_BYTES = 300_000;

const sizeOf = (campaigns: Campaign[]) => Buffer.byteLength(JSON.stringify(campaigns));

/** Between which instants (ms) the campaigns a list left out ran; none when undefined. */
export type LeftOut = { from: number; to: number } | undefined;

/**
 * The list after `campaign` is saved into it (new, or in place of its old copy): campaigns
 * ended more than KEEP_ENDED_DAYS ago leave it, and the oldest ended leave it while it would
 * hold more than LIST_MAX or LIST_MAX_BYTES; `leftOut` grows to span the windows of all that
 * left. Campaigns not ended never leave: when they outgrow it, `tooLarge` with the bytes.
 */
export function listAfterSave(
  list: readonly Campaign[],
  leftOut: LeftOut,
  campaign: Campaign,
  now: Date,
): { campaigns: Campaign[]; leftOut: LeftOut } | { tooLarge: number } {
  const keptFrom = now.getTime() - KEEP_ENDED_DAYS * DAY_MS;
  const kept = (c: Campaign) => c.endsAt === null || Date.parse(c.endsAt) >= keptFrom;
  const next = [...list.filter((c) => c.id !== campaign.id && kept(c))];
  if (kept(campaign)) next.push(campaign);
  next.sort((a, b) => (b.endsAt ?? '~').localeCompare(a.endsAt ?? '~'));
  let span = leftOut;
  const leaveOut = (c: Campaign) => {
    const start = Date.parse(c.startsAt);
    const end = Date.parse(c.endsAt as string);
    span = { from: Math.min(span?.from ?? start, start), to: Math.max(span?.to ?? end, end) };
  };
  for (const c of list) if (c.id !== campaign.id && !kept(c)) leaveOut(c);
  if (!kept(campaign)) leaveOut(campaign);
  while (next.length > LIST_MAX || sizeOf(next) > LIST_MAX_BYTES) {
    const last = next[next.length - 1] as Campaign;
    if (campaignStatus(last, now) !== 'ended') {
      if (sizeOf(next) > LIST_MAX_BYTES) return { tooLarge: sizeOf(next) };
      break;
    }
    next.pop();
    leaveOut(last);
  }
  return { campaigns: next, leftOut: span };
}

/**
 * Window classes, so that the campaigns in force at an instant are found without reading
 * them all: class k holds the campaigns lasting at most D = WINDOW_CLASS_DAYS[k] days (the
 * last class any longer ones, and those without an end). A campaign of class k in force
 * at some instant of [from, to] started in [from - D days, to], which is what a look-up
 * reads of that class. How many that is, with at most MAX_OVERLAPPING_CAMPAIGNS (20)
 * running at any instant:
 * - class k >= 1: each lasts more than D / 8 days (the class below's span), so those that
 *   started within any D / 8 days all run at its end: at most 20 x (9 + floor(8 x
 *   (to - from) / D)), 180 for an instant (a purchase), more for a long span (an import
 *   batch reads over its earliest to its latest purchase);
 * - the last class: each lasts more than 262,144 days (over 700 years) from 1970 or
 *   later, so all that started by `to` (now or before) still run then: at most 20;
 * - class 0 has no least duration, so the cap does not bound it: every campaign of at most
 *   a day that started in [from - 1 day, to] (20 one-minute campaigns a minute would be
 *   28,800 a day; in practice a few day-long deals).
 */
export const WINDOW_CLASS_DAYS = [1, 8, 64, 512, 4_096, 32_768, 262_144, Number.POSITIVE_INFINITY];

export function windowClass(c: Pick<Campaign, 'startsAt' | 'endsAt'>): number {
  const days = (endOf(c) - Date.parse(c.startsAt)) / DAY_MS;
  return WINDOW_CLASS_DAYS.findIndex((span) => days <= span);
}
