import { newId } from '../ids.ts';
import { birthdayStillDue, nextBirthdayAt } from './birthdays.ts';
import type { LapseReason } from './cadence.ts';
import { addPurchaseDay, lapseDueAt, typicalGapDays } from './cadence.ts';
import {
  type Campaign,
  inAudience,
  MAX_OVERLAPPING_CAMPAIGNS,
  type PurchaseLine,
  runsOnDay,
} from './campaigns.ts';
import { type CustomerState, type ReferralPaid, referralOpen } from './customer.ts';
import { withDerivedKeys } from './customerKeys.ts';
import {
  count,
  countEntry,
  type DayStats,
  type LapsedShare,
  lapsedShareOf,
  mergeStats,
  moveLapsedShare,
  utcDay,
} from './dayStats.ts';
import { DAY_MS, dayKey } from './days.ts';
import type { Earning } from './earning.ts';
import { sameShare, shareDay } from './lapsedShareMoves.ts';
import type { DomainEvent, EventType, LedgerEntry } from './ledger.ts';
import {
  credit,
  debit,
  expiringLots,
  normalisedLots,
  takeDuePending,
  takeExpired,
} from './lotArithmetic.ts';
import { boundPendingLots, type Lots, lotExpiresAt, pendingLotFor, pendingLotOf } from './lots.ts';
import { money } from './money.ts';
import type { Program, Tier } from './program.ts';
import { boughtOf, isReturn, purchaseEarning } from './purchaseEarning.ts';
import {
  ANNUAL_MONTHS,
  addSpend,
  heldTier,
  pruneSpend,
  qualifyingSpend,
  tierForSpend,
} from './tiers.ts';
import {
  assign,
  LONGEST_WINDOW_DAYS,
  MAX_WATCHED,
  stillWatched,
  tally,
  tallyPurchase,
  type UpliftTallies,
} from './winBack.ts';

/**
 * Every change to a customer's points goes through one of these: it applies the changes
 * in order, writes one ledger entry per change (each keyed by the next version), and
 * keeps the lots (the points by the day they became available) equal to the available
 * balance, so expiry can take the oldest first. `settle` first applies what fell due:
 * pending points that became available, lots that expired, a tier review.
 */
export class PointsChange {
  #customer: CustomerState;
  readonly expectedVersion: number;
  /** The customer's status as read: an erased one may not change (customer-erased). */
  readonly was: CustomerState['status'];
  readonly entries: { version: number; entry: LedgerEntry }[] = [];
  readonly events: DomainEvent[] = [];
  /** What this change adds to the programme's counts by day (dayStats.ts). */
  readonly stats: DayStats = new Map();
  /** What it adds to the win-back experiments' counts (winBack.ts). */
  readonly uplift: UpliftTallies = new Map();
  #dirty = false;
  /** The customer's share of the lapsed totals as last counted. */
  #share: LapsedShare | undefined;
  /**
   * Whether the customer's changes count: a customer stored before the counts existed
   * is counted whole, history and all, by the roll-up job first (countHistory).
   */
  #counting: boolean;

  constructor(
    customer: CustomerState,
    private readonly program: Program,
    /** The moment rules are evaluated at (a job's asOf; otherwise now). */
    private readonly asOf: Date,
    /** When the entries are written (the wall clock). */
    readonly at: Date = asOf,
  ) {
    this.expectedVersion = customer.version;
    this.was = customer.status;
    this.#customer = {
      ...customer,
      lots: normalisedLots(customer, asOf),
      pendingLots: boundPendingLots(customer.pendingLots ?? {}, asOf),
    };
    this.#share = lapsedShareOf(this.#customer);
    this.#counting = customer.counted === true;
  }

  #add(day: string, name: string, n: number): void {
    if (this.#counting) count(this.stats, day, name, n);
  }

  /**
   * A customer stored before the counts existed, counted now: `history` is what their
   * ledger, purchases and lapses add (usecases/backfill.ts). From here on every change counts.
   */
  countHistory(history: DayStats, memberSince: string | undefined): this {
    if (this.#counting) return this;
    mergeStats(this.stats, history);
    this.#customer.counted = true;
    if (memberSince !== undefined) this.#customer.memberSince = memberSince;
    this.#counting = true;
    this.#share = lapsedShareOf(this.#customer);
    this.#dirty = true;
    return this;
  }

  /** A new customer: one more customer on the day they joined. */
  enrolled(): this {
    this.#add(utcDay(this.#customer.createdAt), 'customers', 1);
    return this;
  }

  /**
   * Counts a change of the customer's share of the lapsed totals (lapsed or not, their
   * reason, their spend by month) on `day`.
   */
  #countShare(day: string): void {
    const c = this.#customer;
    const share = lapsedShareOf(c);
    if (!this.#counting || sameShare(this.#share, share)) return;
    // Never before the share's last move (a purchase dated before a lapse reason given).
    const on = shareDay(c, day);
    moveLapsedShare(this.stats, on, this.#share, share);
    this.#share = share;
    if (share) c.lapsedShareDay = on;
    else delete c.lapsedShareDay;
  }

  /** The customer after every change so far (version bumped once per ledger entry). */
  get customer(): CustomerState {
    const bump = Math.max(this.entries.length, this.#dirty ? 1 : 0);
    return withDerivedKeys(this.#customer, this.expectedVersion + bump, this.program, this.asOf);
  }

  /** Whether anything changed, so there is something to write. */
  get changed(): boolean {
    return this.#dirty || this.entries.length > 0;
  }

  /** Applies what fell due by `asOf`: activations, then expiries, then the tier review. */
  settle(): this {
    this.activateDue();
    this.expireDue();
    this.reviewTier();
    const paid = this.#customer.referralPaid;
    // A referral no longer pending can't be taken back: nothing to remember.
    if (paid !== undefined && paid.availableAt <= this.asOf.toISOString()) {
      delete this.#customer.referralPaid;
      this.#dirty = true;
    }
    return this;
  }

  activateDue(): number {
    const due = takeDuePending(this.#customer.pendingLots ?? {}, this.asOf);
    if (due === undefined) return 0;
    const total = due.total;
    this.#customer.pending -= total;
    credit(this.#customer, total, due.days);
    this.record({ type: 'activate', points: total, pendingPoints: -total });
    return total;
  }

  expireDue(): number {
    const days = this.program.pointsExpireAfterDays;
    if (days === null) return 0;
    const total = takeExpired(this.#customer.lots as Lots, days, this.asOf);
    if (total === 0) return 0;
    // Lots hold exactly the positive balance, so this never takes available below 0.
    this.#customer.available -= total;
    this.record({ type: 'expire', points: -total });
    return total;
  }

  /**
   * `points.expiring` for each lot that expires within `days` of asOf (and has not yet),
   * once per lot: the lots reminded are kept on the customer until their expiry.
   * The number of reminders.
   */
  remindExpiring(days: number): number {
    const expireAfter = this.program.pointsExpireAfterDays;
    if (expireAfter === null) return 0;
    const c = this.#customer;
    const lots = c.lots ?? {};
    const before = c.remindedLots ?? [];
    // A lot reminded is remembered until it would have expired (a lot spent, then given
    // back by a void or a refund, is not reminded twice).
    const reminded = before.filter(
      (day) => lotExpiresAt(day, expireAfter).getTime() > this.asOf.getTime(),
    );
    let sent = 0;
    for (const lot of expiringLots(lots, expireAfter, this.asOf, days, reminded)) {
      this.event('points.expiring', { points: lot.points, expiresAt: lot.expiresAt });
      reminded.push(lot.day);
      sent += 1;
    }
    if (sent > 0 || reminded.length !== before.length) {
      this.#dirty = true;
      if (reminded.length > 0) c.remindedLots = reminded.sort();
      else delete c.remindedLots;
    }
    return sent;
  }

  /** Tiers go up at once; they go down only at a review, when the window has moved on. */
  reviewTier(): void {
    const c = this.#customer;
    const months = this.program.qualifyingWindowMonths;
    c.spend = pruneSpend(c.spend, this.asOf, Math.max(months, ANNUAL_MONTHS));
    const spend = qualifyingSpend(c.spend, this.asOf, months);
    const reviewAt = c.reviewAt;
    const due = reviewAt !== undefined && reviewAt <= this.asOf.toISOString();
    const tier = due ? tierForSpend(this.program, spend) : heldTier(this.program, c.tierId, spend);
    if (due) this.#dirty = true;
    this.setTier(tier, spend, due ? 'review' : 'program');
    this.#countShare(utcDay(this.asOf));
  }

  /**
   * A purchase: what it earns by the rules of earning.ts (the tier held before it, the
   * campaigns running at its occurredAt, its lines), pending until `availableAt` if that
   * is after asOf (or a little later when the customer has many lots pending: the
   * `availableAt` returned, lots.ts). Its earnable spend counts at once, and the tier may
   * go up.
   */
  purchase(args: {
    amount: number;
    lines?: readonly PurchaseLine[];
    campaigns?: readonly Campaign[];
    occurredAt: Date;
    availableAt: Date;
    purchaseId: string;
    /** Where it was bought, shown on its ledger entry. */
    storeId?: string;
    receiptId?: string;
  }): Earning & { pending: boolean; availableAt: Date } {
    const c = this.#customer;
    const months = this.program.qualifyingWindowMonths;
    const before = heldTier(this.program, c.tierId, qualifyingSpend(c.spend, this.asOf, months));
    const at = args.occurredAt.toISOString();
    // A purchase after the last one but not after the lapse began ends the silence before
    // the rule held: the flag came before this purchase was known (a scan during an import,
    // a till syncing late), and the lapse did not happen.
    if (
      c.status === 'lapsed' &&
      c.lapsedAt !== undefined &&
      c.lastPurchaseAt !== undefined &&
      at > c.lastPurchaseAt &&
      at <= c.lapsedAt
    ) {
      this.withdrawLapse(at);
    }
    // Only a purchase after the lapse is a return; one dated before the last purchase (a
    // till syncing late, a second store's history) was made while the customer was active.
    const returning = c.status === 'lapsed' && isReturn(c, at);
    // Assignments whose longest window closed before this purchase (and before asOf) are
    // dropped; a holdout customer's return earns as usual but not the campaign they were
    // held out of.
    const watched = stillWatched(
      c.winBack ?? [],
      new Date(Math.min(this.asOf.getTime(), args.occurredAt.getTime())),
    );
    // Held out of the lapse now ending, however long ago it was flagged.
    const heldOut = new Set(
      returning
        ? (c.winBack ?? [])
            .filter((a) => a.group === 'holdout' && a.flaggedAt === c.lapsedAt)
            .map((a) => a.campaignId)
        : [],
    );
    const campaigns = (args.campaigns ?? []).filter((k) => !heldOut.has(k.id));
    // A return from a silence the rule counts as a lapse that no scan had flagged
    // (history imported, or a purchase before the day's scan): recorded all the same.
    const unflagged = c.status === 'active' ? unflaggedLapseAt(c, this.program, at) : undefined;
    const spendBefore = c.spend;
    const earning = purchaseEarning(c, this.program, before, returning || unflagged !== undefined, {
      ...args,
      campaigns,
    });
    if (watched.length > 0) {
      const paid = new Map<string, number>();
      for (const b of earning.breakdown) {
        if (b.campaignId !== undefined)
          paid.set(b.campaignId, (paid.get(b.campaignId) ?? 0) + b.points);
      }
      c.winBack = tallyPurchase(this.uplift, watched, {
        occurredAt: at,
        amount: args.amount,
        points: paid,
      });
    } else if (c.winBack !== undefined) {
      delete c.winBack;
    }
    const points = earning.points;
    const day = utcDay(args.occurredAt);
    // A referred customer's purchases with no earnable spend leave the referral to the
    // first that has some (the caller pays it: referralOpen before, earnableSpend > 0).
    if (referralOpen(c) && earning.earnableSpend === 0) c.referralOpen = true;
    else delete c.referralOpen;
    this.#add(day, 'purchases', 1);
    this.#add(day, 'spend', args.amount);
    const since = c.memberSince ?? utcDay(c.createdAt);
    if (this.#counting && day < since) {
      // A purchase from before they joined (history brought in): a customer since then.
      this.#add(since, 'customers', -1);
      this.#add(day, 'customers', 1);
      c.memberSince = day;
    }
    c.spend = addSpend(c.spend, args.occurredAt, earning.earnableSpend, this.asOf, months);
    const spend = qualifyingSpend(c.spend, this.asOf, months);
    this.setTier(heldTier(this.program, before.id, spend), spend, 'purchase');
    c.purchases += 1;
    if (!c.lastPurchaseAt || c.lastPurchaseAt < at) c.lastPurchaseAt = at;
    c.cadence = addPurchaseDay(c.cadence, args.occurredAt);
    // A late one joins the history and nothing else: still lapsed, so still out of the
    // LapseWatch index, and the next scan does not flag them again.
    if (returning) this.reactivate(day, at);
    else if (unflagged !== undefined) this.returnUnflagged(unflagged, at, spendBefore);
    this.#countShare(day);
    c.lifetimeEarned += points;
    const pending = args.availableAt.getTime() > this.asOf.getTime();
    let availableAt = args.availableAt;
    const of = { purchaseId: args.purchaseId, ...boughtOf(args), breakdown: earning.breakdown };
    if (pending) {
      const lots = c.pendingLots as Lots;
      availableAt = pendingLotFor(lots, args.availableAt);
      const key = availableAt.toISOString();
      // A purchase earning nothing keeps no lot (nor an activation of 0).
      if (points > 0) lots[key] = (lots[key] ?? 0) + points;
      c.pending += points;
      this.record({ type: 'pending', points: 0, pendingPoints: points, ...of }, day);
    } else {
      credit(c, points, { [dayKey(args.availableAt)]: points });
      this.record({ type: 'earn', points, ...of }, day);
    }
    return { ...earning, pending, availableAt };
  }

  /**
   * A campaign's one-off credit (enrolment, birthday, referral): a new lot today, or, with
   * `pendingUntil` after asOf (a referral, pending like its purchase's points), pending
   * points in the lot of that moment (or, for a customer with many lots pending, of the
   * next 00:00 UTC: pendingLotFor).
   */
  bonus(points: number, campaignId: string, pendingUntil?: Date): LedgerEntry {
    const c = this.#customer;
    c.lifetimeEarned += points;
    if (pendingUntil !== undefined && pendingUntil.getTime() > this.asOf.getTime()) {
      const lots = c.pendingLots as Lots;
      const key = pendingLotFor(lots, pendingUntil).toISOString();
      lots[key] = (lots[key] ?? 0) + points;
      c.pending += points;
      return this.record({ type: 'bonus', points: 0, pendingPoints: points, campaignId });
    }
    credit(c, points, { [dayKey(this.asOf)]: points });
    return this.record({ type: 'bonus', points, campaignId });
  }

  /** The referral this customer's first purchase with earnable spend paid, while pending. */
  referralPaid(paid: ReferralPaid): void {
    this.#customer.referralPaid = paid;
    this.#dirty = true;
  }

  /**
   * A referral's pending points taken back, its purchase refunded in full inside the
   * pending window: `side` of each campaign (the referrer's `points`, the referred
   * customer's `refereePoints`) leaves the pending lot it joined, one `refund` entry each,
   * carrying when the purchase was made (and, on the referred customer's own, where).
   * Returns the points taken back.
   */
  takeBackReferral(
    paid: ReferralPaid,
    side: 'points' | 'refereePoints',
    refundId: string,
    bought: { occurredAt: Date; storeId?: string; receiptId?: string },
  ): number {
    const c = this.#customer;
    const lots = c.pendingLots as Lots;
    // The lot it joined: its own, or the next 00:00 UTC's (pendingLotFor, boundPendingLots).
    const key = pendingLotOf(lots, new Date(paid.availableAt), this.asOf);
    let total = 0;
    for (const k of paid.campaigns) {
      if (key === undefined) break;
      const n = Math.min(k[side], lots[key] ?? 0);
      if (n === 0) continue;
      lots[key] = (lots[key] as number) - n;
      if (lots[key] === 0) delete lots[key];
      c.pending -= n;
      c.lifetimeEarned -= n;
      total += n;
      this.record({
        type: 'refund',
        points: 0,
        pendingPoints: -n,
        campaignId: k.campaignId,
        purchaseId: paid.purchaseId,
        ...boughtOf(bought),
        refundId,
      });
    }
    if (c.referralPaid?.purchaseId === paid.purchaseId) {
      delete c.referralPaid;
      this.#dirty = true;
    }
    return total;
  }

  /**
   * The customer's birthday, once due: each `birthday` campaign running on that UTC day
   * (and whose audience the customer is in) credits its points, unless the birthday is
   * more than BIRTHDAY_GRACE_DAYS past; the year is then done, so it is credited once
   * however often the job runs. With nothing to credit, the year is done only once the
   * day is over. Returns the points credited.
   */
  birthday(campaigns: readonly Campaign[]): number {
    const c = this.#customer;
    if (c.birthDate === undefined) return 0;
    const due = nextBirthdayAt(c.birthDate, c.birthdayYear, c.createdAt);
    if (due > this.asOf.toISOString()) return 0;
    const day = new Date(due);
    const who = { tierId: c.tierId, status: c.status };
    const running = birthdayStillDue(due, this.asOf)
      ? campaigns
          .filter((k) => k.type === 'birthday' && runsOnDay(k, day) && inAudience(k, who))
          // As many as may overlap: the credits and their counts fit one transaction.
          .slice(0, MAX_OVERLAPPING_CAMPAIGNS)
      : [];
    // Nothing to credit yet on the day itself: a campaign may still start later that day.
    if (running.length === 0 && this.asOf.getTime() < day.getTime() + DAY_MS) return 0;
    let points = 0;
    for (const campaign of running) {
      this.bonus(campaign.points ?? 0, campaign.id);
      points += campaign.points ?? 0;
    }
    c.birthdayYear = day.getUTCFullYear();
    this.#dirty = true;
    return points;
  }

  /** A lapsed customer bought again: active, with a `customer.reactivated` event. */
  private reactivate(back: string, returnedAt: string): void {
    const c = this.#customer;
    const day = shareDay(c, back);
    this.#add(day, 'reactivatedToday', 1);
    if (c.lapsedAt !== undefined) c.lastLapse = { lapsedAt: c.lapsedAt, returnedAt };
    delete c.priorLapse;
    this.event('customer.reactivated', {
      lapsedAt: c.lapsedAt ?? null,
      reason: c.lapseReason?.reason ?? null,
      purchaseAt: c.lastPurchaseAt ?? null,
    });
    c.status = 'active';
    delete c.lapsedAt;
    delete c.lapseReason;
    this.#dirty = true;
    this.#countShare(day);
  }

  /**
   * A flagged lapse that the purchase at `purchaseAt` (after the last one, not after the
   * lapse began) shows did not happen: the customer is active again, the lapse leaves the
   * counts (lapsedToday on its day, the lapsed totals from then) and the win-back
   * experiments it entered, and `customer.reactivated` says `withdrawn: true`, for those
   * who acted on `customer.lapsed`. It is no return: no reactivatedToday, no win-back.
   */
  private withdrawLapse(purchaseAt: string): void {
    const c = this.#customer;
    const lapsedAt = c.lapsedAt as string;
    const lapsedDay = utcDay(lapsedAt);
    this.#add(lapsedDay, 'lapsedToday', -1);
    this.event('customer.reactivated', {
      lapsedAt,
      reason: c.lapseReason?.reason ?? null,
      purchaseAt,
      withdrawn: true,
    });
    const entered = (c.winBack ?? []).filter((a) => a.flaggedAt === lapsedAt);
    for (const a of entered) tally(this.uplift, a, 'assigned', -1);
    const kept = (c.winBack ?? []).filter((a) => a.flaggedAt !== lapsedAt);
    if (kept.length > 0) c.winBack = kept;
    else delete c.winBack;
    c.status = 'active';
    delete c.lapsedAt;
    delete c.lapseReason;
    if (c.lastLapse?.lapsedAt === lapsedAt) {
      if (c.priorLapse !== undefined) c.lastLapse = c.priorLapse;
      else delete c.lastLapse;
    }
    delete c.priorLapse;
    this.#dirty = true;
    this.#countShare(lapsedDay);
  }

  /**
   * A return from a lapse no scan had flagged (section 16): the lapse counted on the day
   * the rule began to hold and the return on the purchase's day, the customer in the
   * lapsed totals in between (as a flag and its return would have counted them), and no
   * event: nothing was sent when it began, so an import of years of history sends none.
   */
  private returnUnflagged(lapsedAt: string, returnedAt: string, spend: CustomerState['spend']) {
    this.#customer.lastLapse = { lapsedAt, returnedAt };
    delete this.#customer.priorLapse;
    this.#dirty = true;
    if (!this.#counting) return;
    const lapsedDay = utcDay(lapsedAt);
    const back = utcDay(returnedAt);
    this.#add(lapsedDay, 'lapsedToday', 1);
    this.#add(back, 'reactivatedToday', 1);
    const share: LapsedShare = { reason: 'unknown', spend: { ...spend } };
    moveLapsedShare(this.stats, lapsedDay, undefined, share);
    moveLapsedShare(this.stats, back, share, undefined);
  }

  /**
   * The lapse rule at asOf: an active customer with at least `lapse.minPurchases`
   * purchases whose silence exceeds max(minDays, factor x typicalGapDays) is flagged,
   * with `lapsedAt` the moment the rule started to hold and a `customer.lapsed` event.
   * Returns whether it flagged.
   */
  flagLapse(campaigns: readonly Campaign[] = []): boolean {
    const c = this.#customer;
    if (c.status !== 'active') return false;
    const due = lapseDueAt(c.purchases, c.lastPurchaseAt, c.cadence, this.program);
    if (due === undefined || due >= this.asOf.toISOString()) return false;
    c.status = 'lapsed';
    c.lapsedAt = due;
    // The episode before it, shown again should this one be withdrawn.
    if (c.lastLapse?.returnedAt !== undefined) c.priorLapse = c.lastLapse;
    else delete c.priorLapse;
    c.lastLapse = { lapsedAt: due };
    // The win-back experiments running at the flag's time (its lapsedAt): one group each,
    // except in one the customer is still watched in from an earlier lapse (a purchase
    // would count in both windows).
    const open = (c.winBack ?? []).filter(
      (a) => Date.parse(a.flaggedAt) + LONGEST_WINDOW_DAYS * DAY_MS > Date.parse(due),
    );
    const assigned = assign(campaigns, c, due).filter(
      (a) => !open.some((w) => w.campaignId === a.campaignId),
    );
    for (const a of assigned) tally(this.uplift, a, 'assigned', 1);
    const watched = [...stillWatched(c.winBack ?? [], this.asOf), ...assigned];
    if (watched.length > 0) c.winBack = watched.slice(-MAX_WATCHED);
    else delete c.winBack;
    this.event('customer.lapsed', {
      lastPurchaseAt: c.lastPurchaseAt ?? null,
      typicalGapDays: typicalGapDays(c.cadence),
      purchases: c.purchases,
      lapsedAt: due,
      ...(assigned.length > 0 && {
        winBack: assigned.map((a) => ({ campaignId: a.campaignId, group: a.group })),
      }),
    });
    this.#dirty = true;
    this.#add(utcDay(due), 'lapsedToday', 1);
    this.#countShare(utcDay(due));
    return true;
  }

  /** What the win-back call learned; only for a lapsed customer (409 otherwise, by the caller). */
  recordLapseReason(reason: LapseReason, note: string | undefined): void {
    this.#customer.lapseReason = {
      reason,
      ...(note !== undefined && { note }),
      at: this.at.toISOString(),
    };
    this.#dirty = true;
    this.#countShare(utcDay(this.at));
  }

  /**
   * A refund's points come back out: from the purchase's pending lot while it is still
   * pending (pendingLotOf), otherwise from available (the purchase's own lot first, then
   * the oldest), which may go below 0. The refunded spend leaves the window.
   */
  refund(args: {
    points: number;
    amount: number;
    occurredAt: Date;
    availableAt: Date;
    purchaseId: string;
    refundId: string;
    /** Where the purchase was made, shown on the refund's ledger entry. */
    storeId?: string;
    receiptId?: string;
  }): void {
    const c = this.#customer;
    const lots = c.pendingLots as Lots;
    const pendingKey = pendingLotOf(lots, args.availableAt, this.asOf);
    const fromPending = pendingKey === undefined ? 0 : Math.min(args.points, lots[pendingKey] ?? 0);
    if (pendingKey !== undefined && fromPending > 0) {
      lots[pendingKey] = (lots[pendingKey] as number) - fromPending;
      if (lots[pendingKey] === 0) delete lots[pendingKey];
      c.pending -= fromPending;
    }
    const fromAvailable = args.points - fromPending;
    debit(c, fromAvailable, dayKey(args.availableAt));
    c.lifetimeEarned -= args.points;
    c.spend = addSpend(
      c.spend,
      args.occurredAt,
      -args.amount,
      this.asOf,
      this.program.qualifyingWindowMonths,
    );
    this.record({
      type: 'refund',
      points: fromAvailable === 0 ? 0 : -fromAvailable,
      ...(fromPending > 0 && { pendingPoints: -fromPending }),
      purchaseId: args.purchaseId,
      ...boughtOf(args),
      refundId: args.refundId,
    });
    this.#countShare(utcDay(this.asOf));
  }

  /** Points leave available, oldest first, into held (or spent at once with `capture`). */
  hold(points: number, redemptionId: string, capture: boolean): Lots {
    const taken = debit(this.#customer, points);
    if (!capture) this.#customer.held += points;
    this.record({ type: capture ? 'redeem' : 'hold', points: -points, redemptionId });
    return taken;
  }

  /** A held redemption is captured: the points already left available at the hold. */
  capture(points: number, redemptionId: string): void {
    this.#customer.held -= points;
    this.#add(utcDay(this.at), 'pointsRedeemed', points);
    this.record({ type: 'redeem', points: 0, redemptionId });
  }

  /** Held points go back, to the lots they came from (an expired lot expires at the next settle). */
  release(points: number, redemptionId: string, lots: Lots | undefined): void {
    this.#customer.held -= points;
    credit(this.#customer, points, lots ?? { [dayKey(this.asOf)]: points });
    this.record({ type: 'release', points, redemptionId });
  }

  /** A goodwill credit (a new lot today) or a correction (oldest first). */
  adjust(points: number, reason: string): LedgerEntry {
    if (points > 0) credit(this.#customer, points, { [dayKey(this.asOf)]: points });
    else debit(this.#customer, -points);
    return this.record({ type: 'adjust', points, reason });
  }

  /**
   * The customer replaced whole by `next` (one side of a merge, merge.ts; an erase,
   * erase.ts), with the one ledger entry that says so: a tier `next` holds is announced, a
   * customer who `leaves` counts as one no more, and `event` is recorded.
   */
  becomes(
    next: CustomerState,
    draft: Omit<LedgerEntry, 'id' | 'balanceAfter' | 'at'>,
    how: { leaves?: true; event?: [EventType, Record<string, unknown>] } = {},
  ): LedgerEntry {
    const day = utcDay(this.at);
    const tier = this.program.tiers.find((t) => t.id === next.tierId);
    this.#customer = { ...next, tierId: this.#customer.tierId };
    const months = this.program.qualifyingWindowMonths;
    if (tier) this.setTier(tier, qualifyingSpend(next.spend, this.asOf, months), 'merge');
    if (how.leaves) this.#add(day, 'customers', -1);
    this.#countShare(day);
    if (how.event) this.event(...how.event);
    return this.record(draft);
  }

  private setTier(
    tier: Tier,
    spend: number,
    reason: 'purchase' | 'review' | 'program' | 'merge',
  ): void {
    const c = this.#customer;
    if (tier.id === c.tierId) return;
    const from = this.program.tiers.find((t) => t.id === c.tierId);
    this.event('tier.changed', {
      from: from ? { id: from.id, name: from.name } : { id: c.tierId },
      to: { id: tier.id, name: tier.name },
      direction: (from?.qualifyingSpend ?? 0) < tier.qualifyingSpend ? 'up' : 'down',
      reason,
      qualifyingSpend: money(spend, this.program.currency),
    });
    c.tierId = tier.id;
    this.#dirty = true;
  }

  private event(type: EventType, data: Record<string, unknown>): void {
    this.events.push({
      id: newId('evt', this.at.getTime()),
      type,
      at: this.at.toISOString(),
      customerId: this.#customer.id,
      data,
    });
  }

  /**
   * Writes the next ledger entry; it counts on `day` (a purchase's points on the day it
   * occurred), by default the day it is written.
   */
  private record(
    draft: Omit<LedgerEntry, 'id' | 'balanceAfter' | 'at'>,
    day = utcDay(this.at),
  ): LedgerEntry {
    const entry: LedgerEntry = {
      id: newId('led', this.at.getTime()),
      ...draft,
      balanceAfter: this.#customer.available,
      at: this.at.toISOString(),
    };
    this.entries.push({ version: this.expectedVersion + this.entries.length + 1, entry });
    if (this.#counting) countEntry(this.stats, entry, day);
    return entry;
  }
}

/**
 * When the lapse that a purchase at `at` (RFC 3339) ends began, if the rule counts the
 * silence before it as one: at least `minPurchases` purchases before it, and `at` after
 * the last of them + max(minDays, factor x their typical gap), with the thresholds in
 * force. A purchase dated before the last one (a till syncing late) ends no silence.
 */
export function unflaggedLapseAt(
  c: CustomerState,
  program: Program,
  at: string,
): string | undefined {
  if (c.lastPurchaseAt === undefined || at <= c.lastPurchaseAt) return undefined;
  const due = lapseDueAt(c.purchases, c.lastPurchaseAt, c.cadence, program);
  return due !== undefined && due < at ? due : undefined;
}
