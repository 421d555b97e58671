import { pointsToRedeem } from '../domain/points.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import {
  codeFailureMinute,
  holdExpiresAt,
  holdLapsed,
  MAX_CODE_FAILURES_PER_MINUTE,
  secondsToNextMinute,
} from '../domain/redemptions.ts';
import { SETTLEMENT_MAX_DAYS, SETTLEMENT_MAX_MS } from '../domain/settlement.ts';
import { DomainError, notFound, validationFailed } from '../errors.ts';
import { newId } from '../ids.ts';
import type { IdempotencyContext, Principal } from '../principal.ts';
import type { AuthorizeRedemptionInput } from '../schemas/redemptions.ts';
import { getCustomerConsistent } from '../store/customers.ts';
import { replayFrom } from '../store/idempotency.ts';
import { getProgram } from '../store/program.ts';
import {
  codeFailures,
  codeUseItem,
  countCodeFailure,
  countLapsedHolds,
  HOLD_SHARDS,
  lapsedHoldIds,
  loadAuthorizationContext,
  loadRedemptionContext,
  type Place,
  type Redemption,
  redemptionItem,
  settlementItems,
} from '../store/redemptions.ts';
import { partnerSettlementState, settlementTotals } from '../store/settlements.ts';
import {
  type Answer,
  answered,
  changeCustomers,
  done,
  refuseIfErased,
  replayed,
  write,
} from './change.ts';
import { totalLegacyCaptures } from './settlementTotals.ts';

/** 429 until the next minute, when the credential's failures count from 0 again. */
const rateLimited = (now: Date) =>
  new DomainError('rate-limited', 'Too many failed code attempts this minute', {
    retryAfterSeconds: secondsToNextMinute(now),
  });

/** Where the redemption happens: the key's own store or partner; an admin names one. */
function placeOf(
  principal: Principal,
  input: AuthorizeRedemptionInput,
): { storeId?: string; partnerId?: string; check?: Place } {
  if (principal.role === 'pos') return { storeId: principal.storeId as string };
  if (principal.role === 'partner') return { partnerId: principal.partnerId as string };
  if ((input.storeId === undefined) === (input.partnerId === undefined)) {
    throw validationFailed([
      { path: 'storeId', message: 'an admin key names exactly one of storeId or partnerId' },
    ]);
  }
  return input.storeId !== undefined
    ? { storeId: input.storeId, check: { storeId: input.storeId } }
    : { partnerId: input.partnerId as string, check: { partnerId: input.partnerId as string } };
}

/** What a client sees of a redemption. */
export type ShownRedemption = Omit<Redemption, 'updatedAt' | 'lots'>;

function shown(r: Redemption): ShownRedemption {
  const { updatedAt: _, lots: __, ...rest } = r;
  return rest;
}

/**
 * Authorizes (holds) or, with `capture`, spends points against a customer's code. Points
 * leave `available` in the same transaction that uses the code, so however many tills
 * race on one customer, available never goes below 0 and a code is used once.
 */
export async function authorizeRedemption(
  principal: Principal,
  input: AuthorizeRedemptionInput,
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<ShownRedemption>> {
  const program = await getProgram();
  const { check, ...place } = placeOf(principal, input);
  return changeCustomers<Answer<ShownRedemption>>({
    clock,
    idempotency: { ctx: idem, replay: replayed },
    conflicts: {
      'code-used': () => new DomainError('invalid-redemption-code', 'This code was used meanwhile'),
    },
    attempt: async (now) => {
      const minute = codeFailureMinute(now);
      const failures = { keyId: principal.keyId, minute };
      const context = await loadAuthorizationContext(input.code, idem, check, failures);
      const replay = replayFrom(context.idempotencyItem, idem, now);
      if (replay) return done(replayed(replay));
      if (!context.placeExists) throw notFound(place.storeId ? 'Store' : 'Partner');
      if (input.amount.currency !== program.currency) {
        throw new DomainError(
          'currency-mismatch',
          `This program's currency is ${program.currency}`,
        );
      }
      // Guessing codes is throttled per credential: a few wrong tries a minute, then 429.
      // Failures are counted atomically, and a right code is only answered while the count
      // is under the limit (read again just before the answer), so however many requests
      // race, at most 10 wrong codes a minute are answered as wrong, and every answer after
      // that is 429, right code or not. The count is an item of its own, in no transaction,
      // so redemptions by one key never contend on it.
      if (context.failures >= MAX_CODE_FAILURES_PER_MINUTE) throw rateLimited(now);
      const code = context.code;
      if (!code || code.usedAt || (code.expiresAt as number) <= Math.floor(now.getTime() / 1000)) {
        const counted = await countCodeFailure(
          failures,
          (minute + 2) * 60,
          MAX_CODE_FAILURES_PER_MINUTE,
        );
        if (!counted) throw rateLimited(now);
        throw new DomainError('invalid-redemption-code', 'The code is unknown, used or expired');
      }
      const customer = await getCustomerConsistent(code.customerId as string);
      if (!customer) throw new DomainError('invalid-redemption-code', 'The code has no customer');
      refuseIfErased(customer);

      const points = pointsToRedeem(input.amount.amount, program.cashValue);
      const capture = input.capture === true;
      const redemption: Redemption = {
        id: newId('red', now.getTime()),
        status: capture ? 'captured' : 'authorized',
        customerId: customer.id,
        amount: input.amount,
        points,
        expiresAt: holdExpiresAt(now, program.holdMinutes).toISOString(),
        ...place,
        createdAt: now.toISOString(),
        ...(capture && { capturedAt: now.toISOString() }),
        updatedAt: now.toISOString(),
      };
      const change = new PointsChange(customer, program, now).settle();
      // Whatever comes next tells a right code from a wrong one: only under the limit.
      if ((await codeFailures(failures)) >= MAX_CODE_FAILURES_PER_MINUTE) throw rateLimited(now);
      if (change.customer.available < points) {
        throw new DomainError(
          'insufficient-points',
          `${points} points are needed; ${Math.max(0, change.customer.available)} are available`,
        );
      }
      const lots = change.hold(points, redemption.id, capture);
      const answer = shown(redemption);
      return write({
        changes: [change],
        extras: [
          redemptionItem(capture ? redemption : { ...redemption, lots }, undefined),
          codeUseItem(input.code, redemption.id, now),
          ...settlementItems(redemption),
        ],
        answer,
        result: answered(answer),
      });
    },
  });
}

function owned(principal: Principal, r: Redemption | undefined): Redemption {
  // Another partner's or store's redemption is as invisible as a missing one.
  if (
    !r ||
    (principal.role === 'partner' && r.partnerId !== principal.partnerId) ||
    (principal.role === 'pos' && r.storeId !== principal.storeId)
  ) {
    throw notFound('Redemption');
  }
  return r;
}

/**
 * Releases an authorization whose hold has lapsed (lazily, when it is next touched).
 * Returns the redemption as it is afterwards.
 */
async function expireIfLapsed(lapsed: Redemption, now: Date): Promise<Redemption> {
  let r = lapsed;
  return changeCustomers<Redemption>({
    clock: () => now,
    attempt: async (_, attempt) => {
      if (attempt > 0) {
        // Lost a race: whatever changed the redemption or its customer, read it again.
        const reread = (await loadRedemptionContext(r.id, undefined)).redemption;
        if (!reread) return done(r);
        r = reread;
      }
      if (!holdLapsed(r, now)) return done(r);
      const [customer, program] = await Promise.all([
        getCustomerConsistent(r.customerId),
        getProgram(),
      ]);
      if (!customer) return done(r);
      const expired: Redemption = { ...r, status: 'expired', updatedAt: now.toISOString() };
      const change = new PointsChange(customer, program, now).settle();
      change.release(r.points, r.id, r.lots);
      return write({
        changes: [change],
        extras: [redemptionItem(expired, 'authorized')],
        result: expired,
      });
    },
  });
}

export async function readRedemption(principal: Principal, id: string, now = new Date()) {
  const { redemption } = await loadRedemptionContext(id, undefined);
  return shown(await expireIfLapsed(owned(principal, redemption), now));
}

/** Capture (points spent) or void (points back) an authorized, unexpired redemption. */
export async function captureOrVoidRedemption(
  principal: Principal,
  id: string,
  action: 'capture' | 'void',
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<ShownRedemption>> {
  return changeCustomers<Answer<ShownRedemption>>({
    clock,
    idempotency: { ctx: idem, replay: replayed },
    attempt: async (now) => {
      const context = await loadRedemptionContext(id, idem);
      const replay = replayFrom(context.idempotencyItem, idem, now);
      if (replay) return done(replayed(replay));
      const current = await expireIfLapsed(owned(principal, context.redemption), now);
      if (current.status !== 'authorized') {
        throw new DomainError(
          'invalid-state',
          `Cannot ${action} a redemption that is ${current.status}`,
        );
      }
      const [customer, program] = await Promise.all([
        getCustomerConsistent(current.customerId),
        getProgram(),
      ]);
      if (!customer) throw notFound('Customer');
      refuseIfErased(customer);
      const next: Redemption = {
        ...current,
        status: action === 'capture' ? 'captured' : 'voided',
        ...(action === 'capture' && { capturedAt: now.toISOString() }),
        updatedAt: now.toISOString(),
      };
      // A capture spends what was held (available already went down at the hold); a void
      // puts it back.
      const change = new PointsChange(customer, program, now).settle();
      if (action === 'capture') change.capture(current.points, current.id);
      else change.release(current.points, current.id, current.lots);
      const answer = shown(next);
      return write({
        changes: [change],
        extras: [redemptionItem(next, 'authorized'), ...settlementItems(next)],
        answer,
        result: answered(answer),
      });
    },
  });
}

/** A settlement's figures are JSON numbers: exact only up to 2^53 - 1. */
function exactly(n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw validationFailed(
      [{ path: 'to', message: 'the total passes 2^53 - 1: ask for a shorter range' }],
      'This range totals more than a JSON number holds exactly',
    );
  }
  return Number(n);
}

/**
 * What the programme owes a partner: its captured redemptions in [from, to), at most
 * SETTLEMENT_MAX_DAYS long. Read from the partner's running totals (store/settlements.ts),
 * so the items read depend on the range, not on how many captures it holds.
 */
export async function partnerSettlement(
  principal: Principal,
  partnerId: string,
  query: { from: string; to: string },
) {
  if (principal.role === 'partner' && principal.partnerId !== partnerId) throw notFound('Partner');
  const from = new Date(query.from).toISOString();
  const to = new Date(query.to).toISOString();
  if (from >= to) throw validationFailed([{ path: 'to', message: 'must be after from' }]);
  if (Date.parse(to) - Date.parse(from) > SETTLEMENT_MAX_MS) {
    throw validationFailed([
      { path: 'to', message: `must be at most ${SETTLEMENT_MAX_DAYS} days after from` },
    ]);
  }
  const [program, partner] = await Promise.all([getProgram(), partnerSettlementState(partnerId)]);
  if (!partner) throw notFound('Partner');
  const totals = await settlementTotals(partnerId, from, to, partner.totalled);
  return {
    partnerId,
    from,
    to,
    count: exactly(totals.count),
    amount: { amount: exactly(totals.amount), currency: program.currency },
    points: exactly(totals.points),
  };
}

/**
 * The `release-holds` job: gives back the points of every authorization whose hold lapsed
 * by `asOf`. Reads only the due holds (GSI1, by shard); each release is the same
 * conditional transaction a read would make, so reruns and overlaps release nothing twice.
 */
export async function releaseLapsedHolds(
  asOf: Date,
  options: { dryRun?: boolean; deadline?: number } = {},
): Promise<{ asOf: string; released: number }> {
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  let released = 0;
  for (let shard = 0; shard < HOLD_SHARDS && Date.now() <= deadline; shard++) {
    if (options.dryRun) {
      // The hold index holds only authorizations, so what is due in it is what would go back.
      released += await countLapsedHolds(shard, asOf.toISOString());
      continue;
    }
    for (;;) {
      const ids = await lapsedHoldIds(shard, asOf.toISOString(), 100);
      let releasedNow = 0;
      for (const id of ids) {
        const { redemption } = await loadRedemptionContext(id, undefined);
        if (redemption?.status !== 'authorized') continue;
        // A customer that keeps changing under the run keeps its hold: the next run takes it.
        const after = await expireIfLapsed(redemption, asOf).catch((error) => {
          if (error instanceof DomainError && error.code === 'service-unavailable') return null;
          throw error;
        });
        if (after?.status === 'expired') releasedNow++;
      }
      released += releasedNow;
      // A short page is the end; a full page that released nothing is only the index lagging.
      if (ids.length < 100 || releasedNow === 0 || Date.now() > deadline) break;
    }
  }
  // Then, with what time is left, and once: captures from before the settlement totals
  // are added to them (holds first, so a long pass never keeps points held past due).
  if (!options.dryRun) await totalLegacyCaptures(options.deadline);
  return { asOf: asOf.toISOString(), released };
}
