/**
 * A customer's data rights: merging two records of one person (the points move, none lost
 * or made), and erasing one on request (their personal data gone from every item, their
 * points forfeited, the financial record kept under the bare id). Both are one change
 * through the customer-change path, so however many purchases race with them, every point
 * lands once: a purchase that read the customer before loses its race and, read again,
 * finds the survivor (or is refused: customer-erased).
 */
import { type CustomerState, type CustomerView, customerView } from '../domain/customer.ts';
import { eraseChange } from '../domain/erase.ts';
import { mergeChanges, mergeRefusal } from '../domain/merge.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import { DomainError, notFound, validationFailed } from '../errors.ts';
import type { IdempotencyContext } from '../principal.ts';
import { liveCampaigns } from '../store/campaigns.ts';
import { getCustomerAsStored, getCustomerConsistent } from '../store/customers.ts';
import {
  cancelCodes,
  identifierDeletes,
  ledgerNewestFirst,
  scrubAnswer,
} from '../store/erasure.ts';
import { deleteCustomerExports } from '../store/exports.ts';
import { IDEMPOTENCY_TTL_SECONDS, readReplay } from '../store/idempotency.ts';
import type { Key } from '../store/keys.ts';
import {
  campaignMarkers,
  campaignsToCarry,
  carryMarkers,
  identifierMoves,
} from '../store/merges.ts';
import { getModel } from '../store/model.ts';
import { getProgram } from '../store/program.ts';
import { type RedemptionCode, usableCodes } from '../store/redemptionCodes.ts';
import { getRedemptions, type Redemption, redemptionItem } from '../store/redemptions.ts';
import {
  type Answer,
  answered,
  changeCustomers,
  done,
  refuseIfErased,
  replayed,
  write,
} from './change.ts';

/** Campaign markers a merge writes in its own transaction; any more right after it. */
const MARKERS_IN_TRANSACTION = 40;

/**
 * Merges customer `from` into `id` (the survivor; a merged `id` means the customer it went
 * into): see domain/merge.ts for what moves. Refused while `from` has points held or a
 * usable redemption code (409 merge-blocked), into itself (422), and when either side was
 * merged already (`from`) or erased (409 conflict). Idempotent like every POST.
 */
export async function mergeCustomers(
  id: string,
  from: string,
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<CustomerView>> {
  const program = await getProgram();
  let carryLater: { ids: string[]; to: string; at: Date } | undefined;
  const answer = await changeCustomers<Answer<CustomerView>>({
    clock,
    idempotency: { ctx: idem, replay: replayed },
    attempt: async (now) => {
      const stored = await readReplay(idem, now);
      if (stored) return done(replayed(stored));
      const [survivor, source] = await Promise.all([
        getCustomerConsistent(id),
        getCustomerAsStored(from),
      ]);
      if (!survivor) throw notFound('Customer');
      if (!source) throw notFound('Customer to merge (from)');
      const refusal = mergeRefusal(survivor, source);
      if (refusal?.code === 'validation-failed') {
        throw validationFailed([{ path: 'from', message: refusal.detail }], refusal.detail);
      }
      if (refusal) throw new DomainError(refusal.code, refusal.detail);
      if ((await usableCodes(source.id, now)).length > 0) {
        throw new DomainError(
          'merge-blocked',
          `Customer ${source.id} has a redemption code not yet used: wait for it to expire (10 minutes)`,
        );
      }
      const out = new PointsChange(source, program, now).settle();
      const into = new PointsChange(survivor, program, now).settle();
      mergeChanges(into, out, program, now, now);
      const carry = await campaignsToCarry(
        source.id,
        survivor.id,
        (await liveCampaigns()).map((c) => c.id),
      );
      carryLater = { ids: carry.slice(MARKERS_IN_TRANSACTION), to: survivor.id, at: now };
      const view = customerView(into.customer, program, now, await getModel());
      return write({
        changes: [into, out],
        extras: [
          ...identifierMoves(source, survivor.id),
          ...campaignMarkers(carry.slice(0, MARKERS_IN_TRANSACTION), survivor.id, now),
        ],
        answer: view,
        result: answered(view),
      });
    },
  });
  if (carryLater && carryLater.ids.length > 0) {
    await carryMarkers(carryLater.ids, carryLater.to, carryLater.at);
  } else if (answer.replayed) {
    // The first run may have stopped after its commit: whatever it had left to carry.
    const live = (await liveCampaigns()).map((c) => c.id);
    const to = answer.value.id;
    await carryMarkers(await campaignsToCarry(from, to, live), to, clock());
  }
  return answer;
}

/** What an erase answers. */
export interface ErasedCustomer {
  id: string;
  status: 'erased';
  pointsForfeited: number;
}

/** The answers kept for replays last this long; an erase scrubs those of this window. */
const ANSWER_WINDOW_MS = (IDEMPOTENCY_TTL_SECONDS + 3_600) * 1000;
/** Exports are kept 7 days: an erase deletes those of the records merged in since then. */
const EXPORT_WINDOW_MS = 8 * 86_400_000;

/**
 * Erases customer `id` (a merged one: the customer it went into) on request: open holds
 * voided, usable codes cancelled, every point forfeited by one `erase` entry (the
 * liability falls by their value), the personal fields gone from the customer, the
 * identifiers that found them, the answers kept for replays of the requests about them,
 * and their exports. The ledger, purchases, refunds and redemptions stay under the bare
 * id. Event `customer.erased`. Erasing again: 409 customer-erased. Idempotent.
 */
export async function eraseCustomer(
  id: string,
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<ErasedCustomer>> {
  const program = await getProgram();
  let after: { ids: ReadonlySet<string>; codes: RedemptionCode[]; at: Date } | undefined;
  const answer = await changeCustomers<Answer<ErasedCustomer>>({
    clock,
    idempotency: { ctx: idem, replay: replayed },
    attempt: async (now) => {
      const stored = await readReplay(idem, now);
      if (stored) return done(replayed(stored));
      const customer = await getCustomerConsistent(id);
      if (!customer) throw notFound('Customer');
      refuseIfErased(customer);
      const { holds, answers, ids } = await openHoldsAndAnswers(customer, now);
      // Before the erase is committed: a request answered meanwhile changed the customer,
      // so this attempt loses its race and the next scrubs that answer too.
      await Promise.all(answers.map((key) => scrubAnswer(key, ids, now)));
      const codes = await usableCodes(customer.id, now);
      const change = new PointsChange(customer, program, now).settle();
      for (const r of holds) change.release(r.points, r.id, r.lots);
      const entry = eraseChange(change, now);
      const voided = holds.map((r) =>
        redemptionItem({ ...r, status: 'voided', updatedAt: now.toISOString() }, 'authorized'),
      );
      // After the commit: a code of an erased customer redeems nothing anyway (the change
      // it would make is refused), and any number of them would not fit the transaction.
      after = { ids, codes, at: now };
      const value: ErasedCustomer = {
        id: customer.id,
        status: 'erased',
        pointsForfeited: -(entry.points + (entry.pendingPoints ?? 0)),
      };
      return write({
        changes: [change],
        extras: [...voided, ...identifierDeletes(customer)],
        answer: value,
        result: answered(value),
      });
    },
  });
  // Again on a replay (the first run may have stopped after its commit): both idempotent.
  const ids = after?.ids ?? new Set([answer.value.id]);
  for (const customerId of ids) await deleteCustomerExports(customerId);
  await cancelCodes(after?.codes ?? [], after?.at ?? clock());
  return answer;
}

/**
 * From the customer's ledger, newest first: the redemptions still authorized (read until
 * they add up to the points held), and the answers kept for replays of the requests of
 * the last IDEMPOTENCY_TTL (read back that far), with those of the records merged into
 * the customer in that time (an answer about one of them names its id).
 */
async function openHoldsAndAnswers(customer: CustomerState, now: Date) {
  const holds: Redemption[] = [];
  // One answer may be about several of them (a merge's): each is rewritten once, for all.
  const answers = new Map<string, Key>();
  const ids = new Set<string>();
  const since = new Date(now.getTime() - ANSWER_WINDOW_MS).toISOString();
  const mergedSince = new Date(now.getTime() - EXPORT_WINDOW_MS).toISOString();
  const read = async (id: string, held: number) => {
    ids.add(id);
    let found = 0;
    for await (const page of ledgerNewestFirst(id)) {
      const holdIds = page.flatMap(({ entry }) =>
        entry.type === 'hold' && entry.redemptionId !== undefined ? [entry.redemptionId] : [],
      );
      for (const r of await getRedemptions(holdIds)) {
        if (r.status === 'authorized' && found < held) {
          holds.push(r);
          found += r.points;
        }
      }
      const merged: string[] = [];
      for (const { entry, answerKey } of page) {
        if (
          entry.type === 'merge-in' &&
          entry.mergedFrom !== undefined &&
          entry.at >= mergedSince
        ) {
          merged.push(entry.mergedFrom);
        }
        if (entry.at < since) continue;
        if (answerKey !== undefined) answers.set(`${answerKey.PK}\u0000${answerKey.SK}`, answerKey);
      }
      // A merged record holds nothing: only its answers are read.
      for (const from of merged) await read(from, 0);
      const oldest = page.at(-1)?.entry.at ?? '';
      if (found >= held && oldest < mergedSince) break;
    }
  };
  await read(customer.id, customer.held);
  return { holds, answers: [...answers.values()], ids };
}
