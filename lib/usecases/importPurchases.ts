/**
 * Import of a merchant's purchase history, in batches of up to 500.
 * Purchases go through the very steps of `POST /v1/purchases` (`purchaseStep`): per
 * customer in occurredAt order, each on the customer as the previous one left it, so a
 * history imported gives the customers that recording it one purchase at a time gives.
 * What is faster is the writing: many purchases of many customers share a transaction,
 * and a batch reads its customers, receipts and campaign markers in a few BatchGetItems.
 * Receipts make a rerun safe: one already recorded at its store is a duplicate, skipped.
 */
import type { Campaign } from '../domain/campaigns.ts';
import { type CustomerState, totalOutOfBounds } from '../domain/customer.ts';
import { type DayStats, mergeStats } from '../domain/dayStats.ts';
import type { PointsChange } from '../domain/pointsChange.ts';
import type { Program } from '../domain/program.ts';
import { mergeTallies, type UpliftTallies } from '../domain/winBack.ts';
import type { IdempotencyContext, Principal } from '../principal.ts';
import { type ImportPurchaseInput, importPurchaseSchema } from '../schemas/imports.ts';
import { type CampaignTally, campaignCountItems, campaignsOver } from '../store/campaigns.ts';
import {
  type CustomerChange,
  getCustomerConsistent,
  MAX_TRANSACTION_ITEMS,
} from '../store/customers.ts';
import { lookUp } from '../store/lookups.ts';
import { markModelStale } from '../store/model.ts';
import { purchaseItems } from '../store/purchases.ts';
import { legacyReceiptGuards } from '../store/receiptGuards.ts';
import { isRefusedRequest, isStorageFailure } from '../store/transactions.ts';
import { type Answer, changeCustomers, done, write } from './change.ts';
import {
  byIndex,
  CONCURRENT_TRANSACTIONS,
  type ItemError,
  invalid,
  onceFor,
  packed,
  problemOf,
} from './importBatches.ts';
import { programForPurchases } from './lapseInForce.ts';
import {
  campaignsFor,
  checkCurrencies,
  occurredAtOf,
  type PurchaseStep,
  purchaseStep,
} from './purchases.ts';

export interface PurchaseImport {
  imported: number;
  duplicates: number;
  errors: ItemError[];
}

interface PurchaseItem {
  index: number;
  input: ImportPurchaseInput;
  occurredAt: Date;
}

/** A customer's purchases still to apply, in occurredAt order (then the batch's order). */
interface Work {
  customerId: string;
  items: PurchaseItem[];
}

/** What one transaction applied (once committed), skipped, refused and left for the next. */
interface Plan {
  imported: number[];
  duplicates: number[];
  errors: ItemError[];
  leftover: Work[];
}

/** A guess at one purchase's transaction items (ledger, purchase, receipt, an event), to pack. */
const ITEMS_PER_PURCHASE = 4;

/** A customer's chain of changes within one transaction, each on the state the last left. */
interface Chain {
  expectedVersion: number;
  current: CustomerState;
  changes: PointsChange[];
}

const chainOf = (customer: CustomerState): Chain => ({
  expectedVersion: customer.version,
  current: customer,
  changes: [],
});

/** A chain as one change to its customer: all its ledger entries and events, one version check. */
const asChange = (chain: Chain): CustomerChange => ({
  customer: chain.current,
  // As read: an erased one (erased since the batch looked) refuses the unit, not a 500.
  was: chain.changes[0]?.was,
  expectedVersion: chain.expectedVersion,
  entries: chain.changes.flatMap((c) => c.entries),
  events: chain.changes.flatMap((c) => c.events),
  stats: chain.changes.reduce((all, c) => mergeStats(all, c.stats), new Map() as DayStats),
  uplift: chain.changes.reduce((all, c) => mergeTallies(all, c.uplift), new Map() as UpliftTallies),
});

/** A campaign's marker of a customer as one string, for sets. */
const markerOf = (campaignId: string, customerId: string) => `${campaignId}\u0000${customerId}`;

/**
 * One transaction's worth of `unit`: reads its customers, receipts and campaign markers
 * (one consistent BatchGetItem per 100 keys), then applies each customer's purchases in
 * order, as `POST /v1/purchases` would one after the other, until the transaction is full.
 * A receipt found recorded is a duplicate; a purchase that would take a customer past a
 * bound is refused (as the single route refuses it). What did not fit is left over.
 */
async function planUnit(
  unit: readonly Work[],
  program: Program,
  live: readonly Campaign[],
  now: Date,
): Promise<{ plan: Plan; changes: CustomerChange[]; extras: ReturnType<typeof purchaseItems> }> {
  const credited = unit.flatMap((w) =>
    w.items.flatMap((i) =>
      campaignsFor(live, i.input, i.occurredAt).map((c) => ({
        campaignId: c.id,
        customerId: w.customerId,
      })),
    ),
  );
  const legacyGuard = await legacyReceiptGuards();
  const found = await lookUp({
    customers: unit.map((w) => w.customerId),
    receipts: unit.flatMap((w) => w.items.map((i) => i.input)),
    credited,
  });
  const plan: Plan = { imported: [], duplicates: [], errors: [], leftover: [] };
  const chains = new Map<string, Chain>();
  const steps: PurchaseStep[] = [];
  const markers = new Set(
    credited
      .filter((m) => found.credited(m.campaignId, m.customerId))
      .map((m) => markerOf(m.campaignId, m.customerId)),
  );
  const campaignsInTransaction = new Set<string>();
  // The days the transaction counts on (one item each, dayStatsItems), and room for the
  // mark that a past day changed.
  const daysInTransaction = new Set<string>();
  const upliftInTransaction = new Set<string>();
  let used = 1;

  for (const [w, work] of unit.entries()) {
    const read = found.customer(work.customerId);
    if (read?.status === 'erased') {
      // Erased since the batch looked: nothing about them may change.
      for (const i of work.items) {
        const detail = 'The customer was erased on request';
        plan.errors.push({ index: i.index, code: 'customer-erased', detail });
      }
      continue;
    }
    if (!read && !chains.has(work.customerId)) {
      for (const i of work.items) {
        plan.errors.push({ index: i.index, code: 'not-found', detail: 'Customer was not found' });
      }
      continue;
    }
    for (const [n, item] of work.items.entries()) {
      if (found.receipt(item.input.storeId, item.input.receiptId)) {
        plan.duplicates.push(item.index);
        continue;
      }
      const chain = chains.get(work.customerId) ?? chainOf(read as CustomerState);
      const step = await purchaseStep({
        customer: chain.current,
        program,
        now,
        input: item.input,
        storeId: item.input.storeId,
        live,
        occurredAt: item.occurredAt,
        seen: (campaignId) => markers.has(markerOf(campaignId, work.customerId)),
        referrer: async (id) =>
          chains.get(id)?.current ?? found.customer(id) ?? (await getCustomerConsistent(id)),
      });
      // The customer, and its referrer on a referred customer's first purchase.
      const changed = [step.change, ...step.others];
      if (changed.some((c) => totalOutOfBounds(c.customer))) {
        plan.errors.push({
          index: item.index,
          code: 'validation-failed',
          detail: "This purchase would take the customer's totals past their bounds",
        });
        continue;
      }
      const newChains = changed.filter((c) => !chains.has(c.customer.id)).length;
      const newTallyItems =
        new Set(
          step.tallies.map((t) => t.campaignId).filter((id) => !campaignsInTransaction.has(id)),
        ).size + step.tallies.filter((t) => t.newCustomer).length;
      const newDays = new Set(
        changed.flatMap((c) => [...c.stats.keys()]).filter((d) => !daysInTransaction.has(d)),
      );
      const newUplift = new Set(
        changed.flatMap((c) => [...c.uplift.keys()]).filter((k) => !upliftInTransaction.has(k)),
      );
      const cost =
        newDays.size +
        newUplift.size +
        newChains +
        changed.reduce((s, c) => s + c.entries.length + c.events.length, 0) +
        purchaseItems(step.purchase, { legacyGuard }).length +
        newTallyItems;
      if (used > 1 && used + cost > MAX_TRANSACTION_ITEMS) {
        plan.leftover.push({ customerId: work.customerId, items: work.items.slice(n) });
        plan.leftover.push(...unit.slice(w + 1));
        return finish();
      }
      used += cost;
      for (const d of newDays) daysInTransaction.add(d);
      for (const k of newUplift) upliftInTransaction.add(k);
      for (const change of changed) {
        // A referrer's chain starts from the state its change was made on.
        const c = chains.get(change.customer.id) ?? {
          expectedVersion: change.expectedVersion,
          current: change.customer,
          changes: [],
        };
        c.changes.push(change);
        c.current = change.customer;
        chains.set(change.customer.id, c);
      }
      for (const t of step.tallies) {
        campaignsInTransaction.add(t.campaignId);
        if (t.newCustomer) markers.add(markerOf(t.campaignId, t.customerId));
      }
      steps.push(step);
      plan.imported.push(item.index);
    }
  }
  return finish();

  function finish() {
    const tallies: CampaignTally[] = steps.flatMap((s) => s.tallies);
    return {
      plan,
      changes: [...chains.values()].filter((c) => c.changes.length > 0).map(asChange),
      extras: [
        // A receipt recorded meanwhile (another import of the same file): plan again, and
        // find it a duplicate.
        ...steps.flatMap((s) =>
          purchaseItems(s.purchase, { legacyGuard, onReceiptTaken: 'stale' }),
        ),
        ...campaignCountItems(tallies, now),
      ],
    };
  }
}

/**
 * Applies `unit` in as many transactions as it takes: each commits what fits and leaves
 * the rest; a transaction that lost a race (a customer changed meanwhile, a receipt
 * recorded by another import) is planned again from a fresh read.
 */
async function applyUnit(
  unit: readonly Work[],
  program: Program,
  live: readonly Campaign[],
  clock: () => Date,
): Promise<Plan> {
  return changeCustomers<Plan>({
    clock,
    attempt: async (now) => {
      const { plan, changes, extras } = await planUnit(unit, program, live, now);
      if (changes.length === 0) return done(plan);
      return write({ changes, extras, result: plan });
    },
    // Still contended after every attempt: these purchases are reported, to be sent again.
    onTooContended: () => ({
      imported: [],
      duplicates: [],
      errors: unapplied(
        unit,
        'This customer kept changing during the import; send the purchase again',
      ),
      leftover: [],
    }),
  });
}

/**
 * Imports a batch of purchases: each item is checked as `POST /v1/purchases` checks it (an
 * admin's, so any time in the past), duplicates are skipped (a receipt already recorded at
 * its store, or earlier in the batch), and the rest are applied per customer in occurredAt
 * order, several customers to a transaction, up to CONCURRENT_TRANSACTIONS at a time.
 */
export async function importPurchases(
  principal: Principal,
  items: readonly unknown[],
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<PurchaseImport>> {
  return onceFor(idem, clock, async () => {
    const now = clock();
    const program = await programForPurchases();
    const errors: ItemError[] = [];
    const checked: PurchaseItem[] = [];
    items.forEach((raw, index) => {
      const result = importPurchaseSchema.safeParse(raw);
      if (!result.success) {
        errors.push(invalid(index, result.error.issues));
        return;
      }
      const input = result.data;
      try {
        checkCurrencies(input, program.currency);
        const occurredAt = occurredAtOf(principal, input, program.maxBackdateDays, now);
        checked.push({ index, input, occurredAt });
      } catch (error) {
        errors.push(problemOf(index, error));
      }
    });
    // The campaigns in force over the batch's span, however long ago (one read of each).
    const times = checked.map((c) => c.occurredAt.getTime());
    const live =
      times.length === 0
        ? []
        : await campaignsOver(new Date(Math.min(...times)), new Date(Math.max(...times)));

    // Unknown stores and customers first (one consistent read of each), so that a receipt
    // sent twice in the batch is a duplicate of an item that can be applied.
    const found = await lookUp({
      stores: checked.map((c) => c.input.storeId),
      customers: checked.map((c) => c.input.customerId),
    });
    const applicable: PurchaseItem[] = [];
    for (const item of checked) {
      if (!found.store(item.input.storeId)) {
        errors.push({ index: item.index, code: 'not-found', detail: 'Store was not found' });
      } else if (!found.customer(item.input.customerId)) {
        errors.push({ index: item.index, code: 'not-found', detail: 'Customer was not found' });
      } else if (found.customer(item.input.customerId)?.status === 'erased') {
        const detail = 'The customer was erased on request';
        errors.push({ index: item.index, code: 'customer-erased', detail });
      } else {
        // A customer merged into another: the purchase is the survivor's.
        const customerId = (found.customer(item.input.customerId) as CustomerState).id;
        applicable.push({ ...item, input: { ...item.input, customerId } });
      }
    }

    // The first item with a receipt is applied; later ones with it wait behind it, and are
    // duplicates unless it fails (then the next is applied in its place).
    const behind = new Map<number, PurchaseItem[]>();
    let round: PurchaseItem[] = [];
    const first = new Map<string, PurchaseItem>();
    for (const item of applicable) {
      const receipt = `${item.input.storeId}\u0000${item.input.receiptId}`;
      const ahead = first.get(receipt);
      if (ahead) behind.set(ahead.index, [...(behind.get(ahead.index) ?? []), item]);
      else {
        first.set(receipt, item);
        round.push(item);
      }
    }

    // The lapse model no longer speaks for the history: the next lapse scan refits on it.
    // Marked before the writes, so that a batch failing after some committed, and sent
    // again (all duplicates then), still leaves the mark; and again after them if any went
    // in, for a fit that read the counter between the first mark and the commits.
    if (round.length > 0) await markModelStale();
    const deadline = Date.now() + BATCH_SECONDS * 1000;
    let imported = 0;
    let duplicates = 0;
    while (round.length > 0) {
      const plan = await applyItems(round, program, live, clock, deadline);
      imported += plan.imported.length;
      duplicates += plan.duplicates.length;
      const failed = new Set(plan.errors.map((e) => e.index));
      errors.push(...plan.errors);
      const next: PurchaseItem[] = [];
      for (const item of round) {
        const waiting = behind.get(item.index) ?? [];
        if (waiting.length === 0) continue;
        if (!failed.has(item.index)) duplicates += waiting.length;
        else {
          const [successor, ...rest] = waiting as [PurchaseItem, ...PurchaseItem[]];
          next.push(successor);
          if (rest.length > 0) behind.set(successor.index, rest);
        }
      }
      round = next;
    }
    if (imported > 0) await markModelStale();
    return { imported, duplicates, errors: errors.sort(byIndex) };
  });
}

/**
 * How long a batch starts new transactions for: a function answers within 29 s, so what
 * is not applied by then (only under heavy contention) is reported to be sent again.
 */
export const BATCH_SECONDS = 20;

/**
 * Applies `items` per customer in occurredAt order, several customers to a transaction,
 * up to CONCURRENT_TRANSACTIONS at a time. Once `deadline` has passed, or the database
 * failed (after some transactions may have committed), no new one starts: the items not
 * applied are reported as `service-unavailable`, to be sent again, and the answer still
 * tells what was imported. Only a failure of our own code fails the batch.
 */
async function applyItems(
  items: readonly PurchaseItem[],
  program: Program,
  live: readonly Campaign[],
  clock: () => Date,
  deadline: number,
): Promise<Plan> {
  const works = new Map<string, Work>();
  for (const item of items) {
    const work = works.get(item.input.customerId) ?? {
      customerId: item.input.customerId,
      items: [],
    };
    work.items.push(item);
    works.set(item.input.customerId, work);
  }
  for (const work of works.values()) {
    work.items.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || a.index - b.index);
  }
  // Units of whole customers, by a guess at their items; what does not fit comes back.
  const queue = packed(
    [...works.values()],
    (w) => 1 + ITEMS_PER_PURCHASE * w.items.length,
    MAX_TRANSACTION_ITEMS,
  );
  const result: Plan = { imported: [], duplicates: [], errors: [], leftover: [] };
  let failure: { error: unknown } | undefined;
  let storageFailed = false;
  const workers = Array.from({ length: CONCURRENT_TRANSACTIONS }, async () => {
    for (let unit = queue.shift(); unit && !failure; unit = queue.shift()) {
      if (storageFailed) {
        result.errors.push(
          ...unapplied(unit, 'The database failed during the batch; send these again'),
        );
        continue;
      }
      if (Date.now() > deadline) {
        result.errors.push(...unapplied(unit, 'The batch ran out of time; send these again'));
        continue;
      }
      try {
        const plan = await applyUnit(unit, program, live, clock);
        result.imported.push(...plan.imported);
        result.duplicates.push(...plan.duplicates);
        result.errors.push(...plan.errors);
        if (plan.leftover.length > 0) queue.push(plan.leftover);
      } catch (error) {
        if (isStorageFailure(error)) {
          // No new transaction starts; those in flight finish first.
          storageFailed = true;
          result.errors.push(
            ...unapplied(unit, 'The database failed while these were written; send them again'),
          );
        } else if (!isRefusedRequest(error)) failure ??= { error };
        else if (unit.length > 1) {
          // Refused whole (nothing written): each customer alone, to find whose it refuses.
          queue.push(...unit.map((w) => [w]));
        } else {
          // Refused for this customer (an item over 400 KB, say): the same again if resent.
          console.error('loyalty: import transaction refused:', (error as Error).name);
          result.errors.push(...refused(unit));
        }
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw failure.error;
  return result;
}

/** Every item of `unit` as refused by the database: not applied, and not worth sending again. */
const refused = (unit: readonly Work[]): ItemError[] =>
  unit.flatMap((w) =>
    w.items.map((i) => ({
      index: i.index,
      code: 'internal-error' as const,
      detail:
        "The database refused to write this customer's purchases (logged); sent again as " +
        'they are, they would be refused again',
    })),
  );

/** Every item of `unit` as not applied, to be sent again. */
const unapplied = (unit: readonly Work[], detail: string): ItemError[] =>
  unit.flatMap((w) =>
    w.items.map((i) => ({ index: i.index, code: 'service-unavailable' as const, detail })),
  );
