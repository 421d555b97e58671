import {
  type Campaign,
  earnsOnPurchase,
  inAudience,
  lineMatches,
  runsAt,
} from '../domain/campaigns.ts';
import {
  type CustomerState,
  type CustomerView,
  customerView,
  type ReferralPaid,
  referralOpen,
} from '../domain/customer.ts';
import { occurredAtProblem } from '../domain/days.ts';
import type { BreakdownItem } from '../domain/earning.ts';
import { availableAtFor, pointsReversedFor } from '../domain/points.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import type { Program } from '../domain/program.ts';
import { DomainError, notFound, validationFailed } from '../errors.ts';
import { newId, receiptPurchaseId } from '../ids.ts';
import type { IdempotencyContext, Principal } from '../principal.ts';
import type { RecordPurchaseInput } from '../schemas/purchases.ts';
import { type CampaignTally, campaignCountItems, campaignsOver } from '../store/campaigns.ts';
import { getCustomerConsistent } from '../store/customers.ts';
import { replayFrom } from '../store/idempotency.ts';
import { getModel } from '../store/model.ts';
import { getProgram } from '../store/program.ts';
import {
  getPurchase,
  loadPurchaseContext,
  loadRefundContext,
  type Purchase,
  purchaseItems,
  refundedItem,
} from '../store/purchases.ts';
import { legacyReceiptGuards } from '../store/receiptGuards.ts';
import {
  type Answer,
  answered,
  changeCustomers,
  done,
  refuseIfErased,
  replayed,
  write,
} from './change.ts';
import { programForPurchases } from './lapseInForce.ts';

function storeFor(principal: Principal, input: RecordPurchaseInput): string {
  if (principal.role === 'pos') {
    if (input.storeId !== undefined && input.storeId !== principal.storeId) {
      throw new DomainError('forbidden', 'A pos key records purchases for its own store only');
    }
    return principal.storeId as string;
  }
  if (input.storeId === undefined) {
    throw validationFailed([{ path: 'storeId', message: 'an admin key must name the store' }]);
  }
  return input.storeId;
}

export function checkCurrencies(input: RecordPurchaseInput, currency: string): void {
  const currencies = [
    input.total.currency,
    ...(input.lines ?? []).map((l) => l.unitPrice.currency),
  ];
  if (currencies.some((c) => c !== currency)) {
    throw new DomainError('currency-mismatch', `This program's currency is ${currency}`);
  }
}

export function occurredAtOf(
  principal: Principal,
  input: RecordPurchaseInput,
  maxBackdateDays: number,
  now: Date,
): Date {
  if (input.occurredAt === undefined) return now;
  const at = new Date(input.occurredAt);
  // Admin keys are exempt from the backdating limit so that purchase histories can be imported.
  const problem = occurredAtProblem(
    at,
    now,
    principal.role === 'admin' ? undefined : maxBackdateDays,
  );
  if (problem) throw validationFailed([{ path: 'occurredAt', message: problem }]);
  return at;
}

/** A recorded purchase as its till sees it, with the customer after it. */
export type RecordedPurchase = Omit<Purchase, 'recordedAt' | 'refunded' | 'earnableSpend'> & {
  customer: CustomerView;
};

/** What a purchase would earn now, and the customer as it would be after it. */
export interface PurchaseQuote {
  pointsEarned: number;
  breakdown: BreakdownItem[];
  customer: CustomerView;
}

/** A refund, with the points it took back and the customer after it. */
export interface RecordedRefund {
  id: string;
  purchaseId: string;
  amount: { amount: number; currency: string };
  pointsReversed: number;
  customer: CustomerView;
}

/**
 * The campaigns that may add to a purchase: earning kinds, running at its occurredAt, and
 * (with a `match`) matching one of its lines. Only these have their markers read; the
 * audience, which needs the customer, is checked by the earning rules.
 */
export const campaignsFor = (
  campaigns: readonly Campaign[],
  input: RecordPurchaseInput,
  occurredAt: Date,
) =>
  campaigns.filter(
    (c) =>
      earnsOnPurchase(c) &&
      runsAt(c, occurredAt) &&
      (c.match === undefined || (input.lines ?? []).some((l) => lineMatches(c, l))),
  );

/** A purchase applied to its customer as read (what fell due first), by the earning rules. */
function applyPurchase(args: {
  customer: CustomerState;
  program: Program;
  now: Date;
  input: RecordPurchaseInput;
  campaigns: readonly Campaign[];
  occurredAt: Date;
  purchaseId: string;
  storeId?: string;
}) {
  const { input, program, occurredAt } = args;
  const change = new PointsChange(args.customer, program, args.now).settle();
  const availableAt = availableAtFor(occurredAt, program.pendingDays);
  const earned = change.purchase({
    amount: input.total.amount,
    ...(input.lines && { lines: input.lines }),
    campaigns: args.campaigns,
    occurredAt,
    availableAt,
    purchaseId: args.purchaseId,
    ...(args.storeId !== undefined && { storeId: args.storeId }),
    ...(input.receiptId !== undefined && { receiptId: input.receiptId }),
  });
  // The lot the points joined (a busy account's may be a little later: lots.ts).
  return { change, earned, availableAt: earned.availableAt };
}

/**
 * A referred customer's first purchase with earnable spend (a 0.00 one is not the first):
 * each `referral` campaign running at its occurredAt credits the customer `refereePoints`
 * and the referrer `points` (`bonus` entries), in the purchase's transaction, pending like
 * the purchase's own points (and remembered then, so a full refund in the window takes
 * them back). The first purchase happens once, whatever races: every purchase is
 * conditional on the customer's version.
 */
/** The referrer, if a referral may credit or take back their points. */
const payableReferrer = (referrer: CustomerState, customerId: string) =>
  referrer.status === 'erased' || referrer.id === customerId ? undefined : referrer;

async function referralOnFirstPurchase(args: {
  customer: CustomerState;
  change: PointsChange;
  /** The purchase's earnable spend: none, and it is not the referral's purchase. */
  earnableSpend: number;
  /** When the purchase's points become available (pending while after now). */
  availableAt: Date;
  purchaseId: string;
  live: readonly Campaign[];
  occurredAt: Date;
  program: Program;
  now: Date;
  /**
   * The referrer as it stands (a consistent read by default; an import passes the state
   * its batch has reached); `false` for a quote: the referred customer's part only.
   */
  referrer?: ((id: string) => Promise<CustomerState | undefined>) | false;
}): Promise<{ changes: PointsChange[]; tallies: CampaignTally[] }> {
  const { customer, change, now } = args;
  const none = { changes: [], tallies: [] };
  if (customer.referredBy === undefined || !referralOpen(customer) || args.earnableSpend === 0) {
    return none;
  }
  const who = { tierId: customer.tierId, status: customer.status };
  const referrals = args.live.filter(
    (c) => c.type === 'referral' && runsAt(c, args.occurredAt) && inAudience(c, who),
  );
  if (referrals.length === 0) return none;
  const readReferrer = args.referrer ?? getCustomerConsistent;
  const read = readReferrer === false ? undefined : await readReferrer(customer.referredBy);
  // A referrer erased on request is paid nothing, nor one that is this customer now (a
  // merge of the two); the referred customer's part still pays.
  const referrer = read && payableReferrer(read, customer.id);
  const referrerChange = referrer && new PointsChange(referrer, args.program, now).settle();
  const tallies: CampaignTally[] = [];
  const paid: ReferralPaid['campaigns'] = [];
  for (const c of referrals) {
    if (c.refereePoints !== undefined) change.bonus(c.refereePoints, c.id, args.availableAt);
    if (referrerChange && c.points !== undefined) {
      referrerChange.bonus(c.points, c.id, args.availableAt);
    }
    paid.push({
      campaignId: c.id,
      points: referrerChange ? (c.points ?? 0) : 0,
      refereePoints: c.refereePoints ?? 0,
    });
    tallies.push({
      campaignId: c.id,
      customerId: customer.id,
      points: (c.refereePoints ?? 0) + (referrerChange ? (c.points ?? 0) : 0),
      purchase: true,
      newCustomer: true,
    });
  }
  if (args.availableAt.getTime() > now.getTime()) {
    change.referralPaid({
      purchaseId: args.purchaseId,
      availableAt: args.availableAt.toISOString(),
      referrerId: customer.referredBy,
      campaigns: paid,
    });
  }
  // A referrer the referrals credit nothing (refereePoints only) is not written at all.
  return { changes: referrerChange?.changed ? [referrerChange] : [], tallies };
}

/** A purchase applied to its customer, with what its transaction writes beside the change. */
export interface PurchaseStep {
  change: PointsChange;
  purchase: Purchase;
  /** The referrer's change, on a referred customer's first purchase. */
  others: PointsChange[];
  tallies: CampaignTally[];
}

/**
 * One purchase by the earning rules, as `POST /v1/purchases` and the import apply it: to
 * the customer as read (what fell due first), with the campaigns running at its
 * occurredAt, and on a referred customer's first purchase the referral bonuses.
 */
export async function purchaseStep(args: {
  customer: CustomerState;
  program: Program;
  now: Date;
  input: RecordPurchaseInput;
  storeId: string;
  live: readonly Campaign[];
  occurredAt: Date;
  /** Whether the customer took part in a campaign before (its marker was read). */
  seen: (campaignId: string) => boolean;
  referrer?: (id: string) => Promise<CustomerState | undefined>;
}): Promise<PurchaseStep> {
  const { input, program, now, occurredAt, customer } = args;
  // A receipt's purchase has the receipt's id, so its item is the receipt's guard.
  const purchaseId =
    input.receiptId === undefined
      ? newId('pur', now.getTime())
      : receiptPurchaseId(args.storeId, input.receiptId);
  const { change, earned, availableAt } = applyPurchase({
    customer,
    program,
    now,
    input,
    campaigns: campaignsFor(args.live, input, occurredAt),
    occurredAt,
    purchaseId,
    storeId: args.storeId,
  });
  const purchase: Purchase = {
    id: purchaseId,
    customerId: customer.id,
    storeId: args.storeId,
    total: input.total,
    occurredAt: occurredAt.toISOString(),
    recordedAt: now.toISOString(),
    ...(input.receiptId !== undefined && { receiptId: input.receiptId }),
    ...(input.lines !== undefined && { lines: input.lines }),
    pointsEarned: earned.points,
    breakdown: earned.breakdown,
    pointsStatus: earned.pending ? 'pending' : 'available',
    ...(earned.pending && { availableAt: availableAt.toISOString() }),
    refunded: { amount: 0, currency: program.currency },
    ...(earned.earnableSpend !== input.total.amount && {
      earnableSpend: earned.earnableSpend,
    }),
  };
  const referral = await referralOnFirstPurchase({
    customer,
    change,
    earnableSpend: earned.earnableSpend,
    availableAt,
    purchaseId,
    live: args.live,
    occurredAt,
    program,
    now,
    ...(args.referrer && { referrer: args.referrer }),
  });
  const tallies: CampaignTally[] = [
    ...referral.tallies,
    ...earned.breakdown.flatMap((b) =>
      b.campaignId === undefined
        ? []
        : [
            {
              campaignId: b.campaignId,
              customerId: customer.id,
              points: b.points,
              purchase: true,
              newCustomer: !args.seen(b.campaignId),
            },
          ],
    ),
  ];
  return { change, purchase, others: referral.changes, tallies };
}

/**
 * Records a purchase and its points: one BatchGetItem (customer, idempotency record,
 * store, campaign markers) and one TransactWriteItems on the hot path; more only when
 * racing. The program and the campaigns are cached (programCacheMs).
 */
export async function recordPurchase(
  principal: Principal,
  input: RecordPurchaseInput,
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<RecordedPurchase>> {
  const program = await programForPurchases();
  const storeId = storeFor(principal, input);
  return changeCustomers<Answer<RecordedPurchase>>({
    clock,
    idempotency: { ctx: idem, replay: replayed },
    conflicts: {
      'receipt-taken': () =>
        new DomainError('conflict', 'This receiptId was already recorded at this store'),
    },
    attempt: async (now) => {
      const occurredAtInput = input.occurredAt === undefined ? now : new Date(input.occurredAt);
      const live = await campaignsOver(occurredAtInput);
      const campaigns = campaignsFor(live, input, occurredAtInput);
      const context = await loadPurchaseContext(
        input.customerId,
        idem,
        principal.role === 'admin' ? storeId : undefined,
        campaigns.map((c) => c.id),
      );
      const replay = replayFrom(context.idempotencyItem, idem, now);
      if (replay) return done(replayed(replay));
      // Checked after the replay: a stored answer stays the answer even once the clock or
      // the program has moved on.
      checkCurrencies(input, program.currency);
      const occurredAt = occurredAtOf(principal, input, program.maxBackdateDays, now);
      if (!context.storeExists) throw notFound('Store');
      if (!context.customer) throw notFound('Customer');
      refuseIfErased(context.customer);

      const { change, purchase, others, tallies } = await purchaseStep({
        customer: context.customer,
        program,
        now,
        input,
        storeId,
        live,
        occurredAt,
        seen: (id) => context.campaignsSeen.has(id),
      });
      const { recordedAt: _, refunded: __, earnableSpend: ___, ...shown } = purchase;
      const answer: RecordedPurchase = {
        ...shown,
        customer: customerView(change.customer, program, now, await getModel()),
      };
      return write({
        changes: [change, ...others],
        extras: [
          ...purchaseItems(purchase, { legacyGuard: await legacyReceiptGuards() }),
          ...campaignCountItems(tallies, now),
        ],
        answer,
        result: answered(answer),
      });
    },
  });
}

/**
 * What a purchase would earn if recorded now, and the customer as it would be after it;
 * nothing is written (one BatchGetItem: the customer, and the store for an admin key).
 */
export async function quotePurchase(
  principal: Principal,
  input: RecordPurchaseInput,
  now: Date = new Date(),
): Promise<PurchaseQuote> {
  const program = await programForPurchases();
  const storeId = storeFor(principal, input);
  checkCurrencies(input, program.currency);
  const occurredAt = occurredAtOf(principal, input, program.maxBackdateDays, now);
  const live = await campaignsOver(occurredAt);
  const campaigns = campaignsFor(live, input, occurredAt);
  const context = await loadPurchaseContext(
    input.customerId,
    undefined,
    principal.role === 'admin' ? storeId : undefined,
  );
  if (!context.storeExists) throw notFound('Store');
  if (!context.customer) throw notFound('Customer');
  refuseIfErased(context.customer);
  const { change, earned, availableAt } = applyPurchase({
    customer: context.customer,
    program,
    now,
    input,
    campaigns,
    occurredAt,
    purchaseId: 'quote',
  });
  // A referred customer's first purchase would also credit their referral bonus.
  await referralOnFirstPurchase({
    customer: context.customer,
    change,
    earnableSpend: earned.earnableSpend,
    availableAt,
    purchaseId: 'quote',
    live,
    occurredAt,
    program,
    now,
    referrer: false,
  });
  return {
    pointsEarned: earned.points,
    breakdown: earned.breakdown,
    customer: customerView(change.customer, program, now, await getModel()),
  };
}

export async function readPurchase(principal: Principal, id: string, now = new Date()) {
  const purchase = await getPurchase(id);
  // Another store's purchase is as invisible to a pos key as a missing one.
  if (!purchase || (principal.role === 'pos' && purchase.storeId !== principal.storeId)) {
    throw notFound('Purchase');
  }
  const { recordedAt: _, earnableSpend, ...shown } = purchase;
  // Pending points become available at availableAt, whether or not a job has run yet.
  const available = purchase.availableAt === undefined || purchase.availableAt <= now.toISOString();
  return {
    ...shown,
    pointsStatus: available ? 'available' : 'pending',
    // Kept only when lines were excluded; shown always, as Money.
    earnableSpend: { ...purchase.total, amount: earnableSpend ?? purchase.total.amount },
  };
}

/**
 * Refunds part or all of a purchase: its points come back out (available may go below 0)
 * and the refunded spend leaves the qualifying window.
 */
export async function refundPurchase(
  principal: Principal,
  purchaseId: string,
  input: { amount: { amount: number; currency: string } },
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<RecordedRefund>> {
  const program = await getProgram();
  return changeCustomers<Answer<RecordedRefund>>({
    clock,
    contended: 'purchase',
    idempotency: { ctx: idem, replay: replayed },
    attempt: async (now) => {
      const context = await loadRefundContext(purchaseId, idem);
      const replay = replayFrom(context.idempotencyItem, idem, now);
      if (replay) return done(replayed(replay));
      const purchase = context.purchase;
      if (!purchase || (principal.role === 'pos' && purchase.storeId !== principal.storeId)) {
        throw notFound('Purchase');
      }
      if (input.amount.currency !== purchase.total.currency) {
        throw new DomainError(
          'currency-mismatch',
          `This purchase is in ${purchase.total.currency}`,
        );
      }
      const before = purchase.refunded.amount;
      const after = before + input.amount.amount;
      if (after > purchase.total.amount) {
        throw new DomainError(
          'refund-exceeds-purchase',
          `At most ${purchase.total.amount - before} more can be refunded on this purchase`,
        );
      }
      const reversed =
        pointsReversedFor(purchase.pointsEarned, after, purchase.total.amount) -
        pointsReversedFor(purchase.pointsEarned, before, purchase.total.amount);
      const customer = await getCustomerConsistent(purchase.customerId);
      if (!customer) throw notFound('Customer');
      refuseIfErased(customer);
      const refundId = newId('ref', now.getTime());
      const change = new PointsChange(customer, program, now).settle();
      // The spend that counted towards tiers leaves in the same proportion (all of the
      // refund when no line was excluded), by the same cumulative floor: no drift.
      const earnable = purchase.earnableSpend ?? purchase.total.amount;
      const spendBack =
        pointsReversedFor(earnable, after, purchase.total.amount) -
        pointsReversedFor(earnable, before, purchase.total.amount);
      change.refund({
        points: reversed,
        amount: spendBack,
        occurredAt: new Date(purchase.occurredAt),
        availableAt: new Date(purchase.availableAt ?? purchase.occurredAt),
        purchaseId,
        refundId,
        storeId: purchase.storeId,
        ...(purchase.receiptId !== undefined && { receiptId: purchase.receiptId }),
      });
      // Refunded in full while the referral it paid is pending: both customers' go back.
      const paid = customer.referralPaid;
      const others: PointsChange[] = [];
      if (
        after === purchase.total.amount &&
        paid?.purchaseId === purchaseId &&
        paid.availableAt > now.toISOString()
      ) {
        const occurredAt = new Date(purchase.occurredAt);
        change.takeBackReferral(paid, 'refereePoints', refundId, {
          occurredAt,
          storeId: purchase.storeId,
          ...(purchase.receiptId !== undefined && { receiptId: purchase.receiptId }),
        });
        const read = await getCustomerConsistent(paid.referrerId);
        const referrer = read && payableReferrer(read, customer.id);
        if (referrer) {
          const referrerChange = new PointsChange(referrer, program, now).settle();
          // The referrer's entry says when, not where or which receipt: not their purchase.
          referrerChange.takeBackReferral(paid, 'points', refundId, { occurredAt });
          others.push(referrerChange);
        }
      }
      const answer: RecordedRefund = {
        id: refundId,
        purchaseId,
        amount: input.amount,
        pointsReversed: reversed,
        customer: customerView(change.customer, program, now, await getModel()),
      };
      return write({
        changes: [change, ...others],
        extras: [
          refundedItem({ ...purchase, refunded: { ...purchase.refunded, amount: after } }, before),
        ],
        answer,
        result: answered(answer),
      });
    },
  });
}
