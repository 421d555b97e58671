/**
 * Merging two records of one person (a member enrolled at the till by phone and again in
 * the app by email): everything of the source moves to the survivor, so that the survivor
 * is the customer one record would have been. The points keep their days (available points
 * their earn day and so their expiry, pending points their moment), the tier window's
 * spend adds up month by month, the purchase days join, and the identifiers the survivor
 * lacks become its own (the others stay lookup keys of it: `aliases`). The source keeps
 * nothing but its id and where it went. mergeChanges applies both halves to the two
 * customers' changes (PointsChange.becomes), written in one transaction.
 */
import { CADENCE_DAYS, CADENCE_WINDOW_DAYS, type Cadence } from './cadence.ts';
import {
  type Alias,
  type CustomerState,
  IDENTIFIER_KINDS,
  type LastLapse,
  type WinBackAssignment,
} from './customer.ts';
import { DAY_MS, dayStart } from './days.ts';
import { credit, debit } from './lotArithmetic.ts';
import type { Lots } from './lots.ts';
import type { PointsChange } from './pointsChange.ts';
import type { Program } from './program.ts';
import { heldTier, type MonthlySpend, qualifyingSpend } from './tiers.ts';
import { MAX_WATCHED } from './winBack.ts';

/**
 * At most this many records merge into one customer, and at most MAX_ALIASES identifiers
 * of theirs stay lookup keys of it: what the customer item holds, and what one merge's
 * transaction moves, stay small.
 */
export const MAX_MERGES = 50;
export const MAX_ALIASES = 30;

/** What a merge moves from the source to the survivor. */
export interface Transfer {
  from: string;
  /** Available points (below 0 when a refund took the source below 0). */
  available: number;
  /** Available points by the UTC day they became available. */
  lots: Lots;
  pending: number;
  pendingLots: Lots;
  lifetimeEarned: number;
  spend: MonthlySpend;
  purchases: number;
  lastPurchaseAt?: string;
  cadence?: Cadence;
  remindedLots?: string[];
  lastLapse?: LastLapse;
  winBack?: WinBackAssignment[];
  tierId: string;
  status: CustomerState['status'];
  /** Profile and identifiers: the survivor takes those it lacks. */
  profile: Pick<CustomerState, 'externalId' | 'email' | 'phone' | 'name' | 'birthDate'>;
  aliases: Alias[];
  referral: Pick<CustomerState, 'referredBy' | 'referralOpen' | 'referralPaid'>;
  birthdayYear?: number;
  merges: number;
}

/** Why a merge of `source` into `survivor` can't be made, if it can't. */
export function mergeRefusal(
  survivor: CustomerState,
  source: CustomerState,
): { code: 'validation-failed' | 'conflict' | 'merge-blocked'; detail: string } | undefined {
  if (survivor.id === source.id) {
    return { code: 'validation-failed', detail: 'A customer cannot be merged into itself' };
  }
  for (const c of [source, survivor]) {
    if (c.status === 'merged') {
      return { code: 'conflict', detail: `Customer ${c.id} was merged into ${c.mergedInto}` };
    }
    if (c.status === 'erased') {
      return { code: 'conflict', detail: `Customer ${c.id} was erased` };
    }
  }
  if (source.held > 0) {
    return {
      code: 'merge-blocked',
      detail: `Customer ${source.id} has ${source.held} points held by an authorized redemption: capture or void it first`,
    };
  }
  if ((survivor.merges ?? 0) + (source.merges ?? 0) + 1 > MAX_MERGES) {
    return { code: 'conflict', detail: `At most ${MAX_MERGES} records merge into one customer` };
  }
  if ((survivor.aliases?.length ?? 0) + (source.aliases?.length ?? 0) + 3 > MAX_ALIASES) {
    return {
      code: 'conflict',
      detail: `At most ${MAX_ALIASES} identifiers of merged records find one customer`,
    };
  }
  return undefined;
}

/** Everything `source` gives up in a merge, and the source as it is left: merged, empty. */
export function takeAll(
  source: CustomerState,
  into: string,
  at: Date,
): { transfer: Transfer; left: CustomerState } {
  const s = source;
  const transfer: Transfer = {
    from: s.id,
    available: s.available,
    lots: { ...(s.lots ?? {}) },
    pending: s.pending,
    pendingLots: { ...(s.pendingLots ?? {}) },
    lifetimeEarned: s.lifetimeEarned,
    spend: { ...s.spend },
    purchases: s.purchases,
    ...(s.lastPurchaseAt !== undefined && { lastPurchaseAt: s.lastPurchaseAt }),
    ...(s.cadence !== undefined && { cadence: s.cadence }),
    ...(s.remindedLots !== undefined && { remindedLots: s.remindedLots }),
    ...(s.lastLapse !== undefined && { lastLapse: s.lastLapse }),
    ...(s.winBack !== undefined && { winBack: s.winBack }),
    tierId: s.tierId,
    status: s.status,
    profile: {
      ...(s.externalId !== undefined && { externalId: s.externalId }),
      ...(s.email !== undefined && { email: s.email }),
      ...(s.phone !== undefined && { phone: s.phone }),
      ...(s.name !== undefined && { name: s.name }),
      ...(s.birthDate !== undefined && { birthDate: s.birthDate }),
    },
    aliases: s.aliases ?? [],
    referral: {
      ...(s.referredBy !== undefined && { referredBy: s.referredBy }),
      ...(s.referralOpen !== undefined && { referralOpen: s.referralOpen }),
      ...(s.referralPaid !== undefined && { referralPaid: s.referralPaid }),
    },
    ...(s.birthdayYear !== undefined && { birthdayYear: s.birthdayYear }),
    merges: s.merges ?? 0,
  };
  const left: CustomerState = {
    id: s.id,
    createdAt: s.createdAt,
    tierId: s.tierId,
    available: 0,
    pending: 0,
    held: 0,
    lifetimeEarned: 0,
    spend: {},
    purchases: 0,
    status: 'merged',
    mergedInto: into,
    mergedAt: at.toISOString(),
    lots: {},
    pendingLots: {},
    ...(s.counted !== undefined && { counted: s.counted }),
    ...(s.memberSince !== undefined && { memberSince: s.memberSince }),
    version: s.version,
  };
  return { transfer, left };
}

/**
 * The survivor with everything of `t` but its points, which PointsChange credits or
 * debits (so a balance below 0 on either side is paid off as any credit pays it off).
 */
export function joinInto(survivor: CustomerState, t: Transfer): CustomerState {
  const c: CustomerState = { ...survivor };
  c.pending += t.pending;
  c.pendingLots = addLots(c.pendingLots ?? {}, t.pendingLots);
  c.lifetimeEarned += t.lifetimeEarned;
  c.spend = addMonths(c.spend, t.spend);
  c.purchases += t.purchases;
  if (
    t.lastPurchaseAt !== undefined &&
    !(c.lastPurchaseAt && c.lastPurchaseAt >= t.lastPurchaseAt)
  ) {
    c.lastPurchaseAt = t.lastPurchaseAt;
  }
  const cadence = joinCadence(c.cadence, t.cadence);
  if (cadence !== undefined) c.cadence = cadence;
  const reminded = [...new Set([...(c.remindedLots ?? []), ...(t.remindedLots ?? [])])].sort();
  if (reminded.length > 0) c.remindedLots = reminded;
  // Each record's lapses were counted as they happened; the person's last is the later.
  if (t.lastLapse !== undefined && !(c.lastLapse && c.lastLapse.lapsedAt >= t.lastLapse.lapsedAt)) {
    c.lastLapse = t.lastLapse;
  }
  // Both records' win-back experiments go on counting the person's return and spend, once
  // per campaign (the earlier assignment), so a purchase counts in one window of each.
  const byCampaign = new Map<string, WinBackAssignment>();
  for (const a of [...(c.winBack ?? []), ...(t.winBack ?? [])].sort((x, y) =>
    x.flaggedAt < y.flaggedAt ? -1 : 1,
  )) {
    if (!byCampaign.has(a.campaignId)) byCampaign.set(a.campaignId, a);
  }
  const winBack = [...byCampaign.values()].slice(-MAX_WATCHED);
  if (winBack.length > 0) c.winBack = winBack;
  // One of them still buying: the person has not lapsed.
  if (c.status === 'lapsed' && t.status === 'active') {
    c.status = 'active';
    delete c.lapsedAt;
    delete c.lapseReason;
  }
  // Active after all: no lapse of theirs is still open.
  if (c.status === 'active' && c.lastLapse !== undefined && c.lastLapse.returnedAt === undefined) {
    delete c.lastLapse;
  }
  delete c.priorLapse;
  const aliases = [...(c.aliases ?? []), ...t.aliases];
  for (const kind of IDENTIFIER_KINDS) {
    const value = t.profile[kind];
    if (value === undefined) continue;
    if (c[kind] === undefined) c[kind] = value;
    else if (c[kind] !== value) aliases.push({ kind, value });
  }
  const unique = new Map(aliases.map((a) => [`${a.kind}\u0000${a.value}`, a]));
  if (unique.size > 0) c.aliases = [...unique.values()];
  if (c.name === undefined && t.profile.name !== undefined) c.name = t.profile.name;
  if (c.birthDate === undefined && t.profile.birthDate !== undefined) {
    c.birthDate = t.profile.birthDate;
  }
  if (c.referredBy === undefined && t.referral.referredBy !== undefined) {
    Object.assign(c, t.referral);
  } else if (c.referralPaid === undefined && t.referral.referralPaid !== undefined) {
    // A referral the source's first purchase paid, still pending: a full refund of that
    // purchase takes it back from the survivor.
    c.referralPaid = t.referral.referralPaid;
  }
  if (t.birthdayYear !== undefined && !((c.birthdayYear ?? 0) >= t.birthdayYear)) {
    c.birthdayYear = t.birthdayYear;
  }
  c.merges = (c.merges ?? 0) + t.merges + 1;
  return c;
}

function addLots(a: Lots, b: Lots): Lots {
  const sum: Lots = { ...a };
  for (const [key, n] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + n;
  return sum;
}

function addMonths(a: MonthlySpend, b: MonthlySpend): MonthlySpend {
  const sum: MonthlySpend = { ...a };
  for (const [month, n] of Object.entries(b)) sum[month] = (sum[month] ?? 0) + n;
  return sum;
}

/**
 * Two customers' purchase days as one customer's: the days kept by either, purchases on a
 * day both bought added, the days ever counted once (a day both bought on is one day).
 * Where one dropped its oldest days, those of the other before them are kept as they are.
 */
export function joinCadence(a: Cadence | undefined, b: Cadence | undefined): Cadence | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const counts = new Map<string, number>();
  for (const c of [a, b]) {
    for (const [i, day] of c.days.entries()) {
      counts.set(day, (counts.get(day) ?? 0) + (c.purchases?.[i] ?? 1));
    }
  }
  const both = a.days.filter((day) => b.days.includes(day)).length;
  const days = [...counts.keys()].sort();
  const windowStart = dayStart(days.at(-1) as string) - CADENCE_WINDOW_DAYS * DAY_MS;
  let before = 0;
  while (before < days.length && dayStart(days[before] as string) < windowStart) before++;
  const kept = days.slice(Math.max(0, before - CADENCE_DAYS));
  return {
    days: kept,
    purchases: kept.map((day) => counts.get(day) as number),
    dayCount: a.dayCount + b.dayCount - both,
    firstDay: [a.firstDay, b.firstDay].sort()[0] as string,
  };
}

/**
 * A merge applied to both customers' changes: the source gives up everything (one
 * `merge-out` entry; it counts as a customer no more), the survivor takes it (one
 * `merge-in`, its points credited or, below 0, debited as any change would); the tier goes
 * up at once if the spend together earns one, or to the source's if it held a higher
 * one, never down. `at` is when the entries are written.
 */
export function mergeChanges(
  into: PointsChange,
  out: PointsChange,
  program: Program,
  asOf: Date,
  at: Date,
): void {
  const survivor = into.customer;
  const { transfer: t, left } = takeAll(out.customer, survivor.id, at);
  const pendingOut = -t.pending || undefined;
  const outEntry = { points: -t.available, pendingPoints: pendingOut, mergedInto: survivor.id };
  out.becomes(left, { type: 'merge-out', ...outEntry }, { leaves: true });
  const c = joinInto(survivor, t);
  c.lots = { ...(c.lots ?? {}) };
  if (t.available >= 0) credit(c, t.available, t.lots);
  else debit(c, -t.available);
  const spend = qualifyingSpend(c.spend, asOf, program.qualifyingWindowMonths);
  const held = heldTier(program, survivor.tierId, spend);
  const theirs = heldTier(program, t.tierId, spend);
  c.tierId = (theirs.qualifyingSpend > held.qualifyingSpend ? theirs : held).id;
  const inEntry = {
    points: t.available,
    pendingPoints: t.pending || undefined,
    mergedFrom: t.from,
  };
  into.becomes(
    c,
    { type: 'merge-in', ...inEntry },
    {
      event: ['customer.merged', { from: t.from, pointsMoved: t.available + t.pending }],
    },
  );
}
