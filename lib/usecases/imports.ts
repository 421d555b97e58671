/**
 * Import: a merchant's members and their purchase history, in batches of up to 500.
 * Purchases go through the very steps of `POST /v1/purchases` (`purchaseStep`): per
 * customer in occurredAt order, each on the customer as the previous one left it, so a
 * history imported gives the customers that recording it one purchase at a time gives.
 * What is faster is the writing: many purchases of many customers share a transaction,
 * and a batch reads its customers, receipts and campaign markers in a few BatchGetItems.
 * Receipts make a rerun safe: one already recorded at its store is a duplicate, skipped.
 */
import type { Campaign } from '../domain/campaigns.ts';
import { type CustomerState, newCustomer, totalOutOfBounds } from '../domain/customer.ts';
import { type DayStats, mergeStats } from '../domain/dayStats.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import type { Program } from '../domain/program.ts';
import { DomainError, type ErrorCode } from '../errors.ts';
import { newId } from '../ids.ts';
import type { IdempotencyContext, Principal } from '../principal.ts';
import {
  type ImportCustomerInput,
  type ImportPurchaseInput,
  importCustomerSchema,
  importPurchaseSchema,
} from '../schemas.ts';
import { type CampaignTally, campaignCountItems, campaignsOver } from '../store/campaigns.ts';
import {
  type CustomerChange,
  getCustomerConsistent,
  type Identifiers,
  insertCustomer,
  insertCustomers,
  MAX_TRANSACTION_ITEMS,
  newCustomerItemCount,
} from '../store/customers.ts';
import { keepAnswer, markInFlight, releaseInFlight } from '../store/idempotency.ts';
import type { IdentifierKind } from '../store/keys.ts';
import { lookUp } from '../store/lookups.ts';
import { markModelStale } from '../store/model.ts';
import { getProgram } from '../store/program.ts';
import { purchaseItems } from '../store/purchases.ts';
import {
  isRefusedRequest,
  isStorageFailure,
  isTransactionConflict,
} from '../store/transactions.ts';
import { type Answer, answered, changeCustomers, done, replayed, write } from './change.ts';
import { normalise } from './customers.ts';
import { inParallel } from './parallel.ts';
import {
  campaignsFor,
  checkCurrencies,
  occurredAtOf,
  type PurchaseStep,
  purchaseStep,
} from './purchases.ts';

/** Transactions of one batch written at once: enough to keep DynamoDB busy, few enough to be polite. */
export const CONCURRENT_TRANSACTIONS = 4;

/** An item that was not imported, with the problem code its single route would answer. */
export interface ItemError {
  index: number;
  code: ErrorCode;
  detail: string;
}

export interface CustomerImport {
  created: number;
  /** The customers created, by their item's index (so a client can map its own ids). */
  createdCustomers: { index: number; customerId: string }[];
  /**
   * Items whose identifier already belongs to a customer: that customer, not re-created,
   * and the identifier it was found by: its externalId when that customer has it, else
   * its email or phone (a row's externalId belongs to that customer only when `matchedBy`
   * is `externalId`). Identifiers of two different customers are a `conflict` error.
   */
  existing: { index: number; customerId: string; matchedBy: IdentifierKind }[];
  errors: ItemError[];
}

export interface PurchaseImport {
  imported: number;
  duplicates: number;
  errors: ItemError[];
}

const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;

/** At most this many of an item's problems are told (the answer stays small whatever is sent). */
const MAX_ISSUES_PER_ITEM = 5;

/** An item's schema problems as one line: `path: message; ...`, the first few of them. */
function invalid(
  index: number,
  issues: readonly { path: PropertyKey[]; message: string }[],
): ItemError {
  const told = issues
    .slice(0, MAX_ISSUES_PER_ITEM)
    .map((i) => `${i.path.map(String).join('.').slice(0, 100) || '(item)'}: ${i.message}`);
  const more = issues.length - told.length;
  const detail = told.join('; ') + (more > 0 ? `; and ${more} more` : '');
  return { index, code: 'validation-failed', detail };
}

/** What the single route would answer: a DomainError's code and detail; anything else is ours. */
function problemOf(index: number, error: unknown): ItemError {
  if (!(error instanceof DomainError)) throw error;
  const fields = error.extra.errors?.map((e) => `${e.path || '(item)'}: ${e.message}`);
  return { index, code: error.code, detail: fields?.join('; ') ?? error.detail ?? error.code };
}

/**
 * A batch is many transactions, not one, so its Idempotency-Key is marked in flight first
 * (a second request with the key meanwhile: 409 `idempotency-key-in-use`) and its answer
 * kept after; a batch that failed frees its key at once. Running a batch again is safe in
 * any case: what it recorded is found and skipped.
 */
async function onceFor<T>(
  idem: IdempotencyContext,
  clock: () => Date,
  work: () => Promise<T>,
): Promise<Answer<T>> {
  const mark = await markInFlight(idem, clock());
  if ('replay' in mark) return replayed(mark.replay);
  try {
    const value = await work();
    await keepAnswer(idem, mark.token, value, clock());
    return answered(value);
  } catch (error) {
    await releaseInFlight(idem, mark.token, clock()).catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------- customers

interface NewMember {
  index: number;
  identifiers: Identifiers;
  change: PointsChange;
  /** What enrolling it came to: its id, or the customer that took one of its identifiers first. */
  outcome?: { created: true } | { existingId: string; matchedBy: IdentifierKind } | ItemError;
}

/** An item's identifiers, each with its kind, value and both as one string (`key`). */
const identifierKeys = (identifiers: Identifiers) =>
  Object.entries(identifiers).map(([kind, value]) => ({
    kind: kind as IdentifierKind,
    value: value as string,
    key: `${kind}\u0000${value}`,
  }));

/** Whose each of these identifiers is now (one consistent read of each), by `key`. */
async function ownersOf(taken: ReturnType<typeof identifierKeys>): Promise<Map<string, string>> {
  const found = await lookUp({ identifiers: taken });
  const owners = new Map<string, string>();
  for (const t of taken) {
    const owner = found.owner(t.kind, t.value);
    if (owner !== undefined) owners.set(t.key, owner);
  }
  return owners;
}

/**
 * Whom an item's identifiers already belong to, given each identifier's owner (if any):
 * nobody; one owner, found by the item's externalId when that is one of its identifiers
 * (so a file run again matches its rows by externalId, whatever else they carry), else by
 * the first of email and phone; or two owners or more, which is a conflict: `conflictOf`
 * says whose each identifier is.
 */
function ownerOf<Owner>(
  taken: ReturnType<typeof identifierKeys>,
  ownerOfKey: (key: string) => Owner | undefined,
): { owner: Owner; matchedBy: IdentifierKind } | { owners: [IdentifierKind, Owner][] } | undefined {
  const owned = taken.flatMap((t) => {
    const owner = ownerOfKey(t.key);
    return owner === undefined ? [] : [[t.kind, owner] as [IdentifierKind, Owner]];
  });
  const first = owned[0];
  if (first === undefined) return undefined;
  if (owned.some(([, owner]) => owner !== first[1])) return { owners: owned };
  const byExternalId = owned.find(([kind]) => kind === 'externalId');
  return { owner: first[1], matchedBy: (byExternalId ?? first)[0] };
}

/** The item's identifiers belong to different customers: a conflict, telling whose each is. */
const conflictOf = (index: number, owners: [IdentifierKind, string][]): ItemError => ({
  index,
  code: 'conflict',
  detail: `Its identifiers belong to different customers: ${owners
    .map(([kind, owner]) => `its ${kind} to ${owner}`)
    .join(', ')}`,
});

/** Consecutive groups whose items add up to at most `room` (an item bigger alone is a group). */
function packed<T>(list: readonly T[], size: (t: T) => number, room: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let used = 0;
  for (const t of list) {
    if (group.length > 0 && used + size(t) > room) {
      groups.push(group);
      group = [];
      used = 0;
    }
    group.push(t);
    used += size(t);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Creates the batch's new members: an item whose identifier (in the table, or of an
 * earlier item of the batch) already has a customer is `existing`; the rest are created,
 * many to a transaction, with their opening balance as an `adjust` entry. Imported members
 * are members already, so enrolment campaigns do not credit them.
 */
export async function importCustomers(
  items: readonly unknown[],
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<CustomerImport>> {
  return onceFor(idem, clock, async () => {
    const now = clock();
    const program = await getProgram();
    const errors: ItemError[] = [];
    const parsed: { index: number; identifiers: Identifiers; input: ImportCustomerInput }[] = [];
    items.forEach((raw, index) => {
      const result = importCustomerSchema.safeParse(raw);
      if (!result.success) errors.push(invalid(index, result.error.issues));
      else parsed.push({ index, input: result.data, identifiers: normalise(result.data) });
    });

    const owners = await ownersOf(parsed.flatMap((p) => identifierKeys(p.identifiers)));
    const existing: CustomerImport['existing'] = [];
    const claimedBy = new Map<string, NewMember>();
    const followers: { index: number; of: NewMember; matchedBy: IdentifierKind }[] = [];
    const members: NewMember[] = [];
    for (const { index, input, identifiers } of parsed) {
      const taken = identifierKeys(identifiers);
      // An identifier of a customer in the table and one of an earlier item's new member
      // belong to two customers; so do identifiers of two earlier items' new members.
      const claimed = (key: string) => claimedBy.get(key);
      const owner = ownerOf(taken, (key) => owners.get(key) ?? claimed(key)?.change.customer.id);
      if (owner && 'owners' in owner) {
        errors.push(conflictOf(index, owner.owners));
        continue;
      }
      if (owner && owners.has(taken.find((t) => t.kind === owner.matchedBy)?.key ?? '')) {
        existing.push({ index, customerId: owner.owner, matchedBy: owner.matchedBy });
        continue;
      }
      if (owner) {
        const of = claimed(taken.find((t) => t.kind === owner.matchedBy)?.key ?? '') as NewMember;
        followers.push({ index, of, matchedBy: owner.matchedBy });
        continue;
      }
      const customer = newCustomer(
        newId('cus', now.getTime()),
        {
          ...identifiers,
          ...(input.name !== undefined && { name: input.name }),
          ...(input.birthDate !== undefined && { birthDate: input.birthDate }),
        },
        program,
        now,
      );
      const change = new PointsChange(customer, program, now).enrolled();
      if (input.openingPoints) change.adjust(input.openingPoints, 'opening balance');
      const member: NewMember = { index, identifiers, change };
      for (const t of taken) claimedBy.set(t.key, member);
      members.push(member);
    }

    // A few items per transaction are the counts by day (the day they joined, the mark).
    const groups = packed(
      members,
      (m) => newCustomerItemCount(m.change, m.identifiers),
      MAX_TRANSACTION_ITEMS - 3,
    );
    await inParallel(groups, CONCURRENT_TRANSACTIONS, async (group) => {
      try {
        await enrolGroup(group);
      } catch (error) {
        if (!isRefusedRequest(error)) return sendAgain(group, error);
        // Refused (nothing of that write went in): each customer alone, to find whose it is.
        for (const m of group.filter((m) => m.outcome === undefined)) {
          try {
            await enrolGroup([m]);
          } catch (error) {
            if (!isRefusedRequest(error)) sendAgain([m], error);
            else {
              console.error('loyalty: import transaction refused:', (error as Error).name);
              m.outcome = {
                index: m.index,
                code: 'internal-error',
                detail:
                  'The database refused to create this customer (logged); sent again as it ' +
                  'is, it would be refused again',
              };
            }
          }
        }
      }
    });
    /** The database failed: what was not created is told, to be sent again. */
    function sendAgain(group: NewMember[], error: unknown): void {
      if (!isStorageFailure(error)) throw error;
      for (const m of group) {
        m.outcome ??= {
          index: m.index,
          code: 'service-unavailable',
          detail: 'The database failed while these were written; send them again',
        };
      }
    }
    async function enrolGroup(group: NewMember[]): Promise<void> {
      if (await insertCustomers(group)) {
        for (const m of group) m.outcome = { created: true };
        return;
      }
      // An identifier was taken meanwhile (or a race): each on its own, to tell which.
      for (const m of group) {
        try {
          const result = await insertCustomer(m.change, m.identifiers);
          if (result.ok) m.outcome = { created: true };
          else if ('takenBy' in result && result.takenBy.customerId !== undefined) {
            m.outcome = await takenMeanwhile(m, {
              existingId: result.takenBy.customerId,
              matchedBy: result.takenBy.kind,
            });
          } else {
            m.outcome = { index: m.index, code: 'conflict', detail: 'An identifier is taken' };
          }
        } catch (error) {
          if (!isTransactionConflict(error)) throw error;
          m.outcome = {
            index: m.index,
            code: 'service-unavailable',
            detail: 'Other enrolments kept getting in the way; send this customer again',
          };
        }
      }
    }

    const idOf = (m: NewMember) =>
      m.outcome && 'existingId' in m.outcome ? m.outcome.existingId : m.change.customer.id;
    const createdCustomers = members
      .filter((m) => m.outcome && 'created' in m.outcome)
      .map((m) => ({ index: m.index, customerId: m.change.customer.id }));
    for (const m of members) {
      if (m.outcome && 'existingId' in m.outcome) {
        existing.push({
          index: m.index,
          customerId: m.outcome.existingId,
          matchedBy: m.outcome.matchedBy,
        });
      } else if (m.outcome && 'code' in m.outcome) errors.push(m.outcome);
    }
    for (const f of followers) {
      if (f.of.outcome && 'code' in f.of.outcome) errors.push({ ...f.of.outcome, index: f.index });
      else existing.push({ index: f.index, customerId: idOf(f.of), matchedBy: f.matchedBy });
    }
    return {
      created: createdCustomers.length,
      createdCustomers,
      existing: existing.sort(byIndex),
      errors: errors.sort(byIndex),
    };
  });
}

/**
 * A member whose identifier another enrolment took meanwhile: whom its identifiers belong
 * to now (read again, all of them), as an item found so in the first place would be told.
 */
async function takenMeanwhile(
  m: NewMember,
  takenBy: { existingId: string; matchedBy: IdentifierKind },
): Promise<NonNullable<NewMember['outcome']>> {
  const taken = identifierKeys(m.identifiers);
  const now = await ownersOf(taken);
  const owner = ownerOf(taken, (key) => now.get(key));
  if (owner === undefined) return takenBy;
  if ('owners' in owner) return conflictOf(m.index, owner.owners);
  return { existingId: owner.owner, matchedBy: owner.matchedBy };
}

// ---------------------------------------------------------------- purchases

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
  expectedVersion: chain.expectedVersion,
  entries: chain.changes.flatMap((c) => c.entries),
  events: chain.changes.flatMap((c) => c.events),
  stats: chain.changes.reduce((all, c) => mergeStats(all, c.stats), new Map() as DayStats),
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
  let used = 1;

  for (const [w, work] of unit.entries()) {
    const read = found.customer(work.customerId);
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
      const cost =
        newDays.size +
        newChains +
        changed.reduce((s, c) => s + c.entries.length + c.events.length, 0) +
        purchaseItems(step.purchase).length +
        newTallyItems;
      if (used > 1 && used + cost > MAX_TRANSACTION_ITEMS) {
        plan.leftover.push({ customerId: work.customerId, items: work.items.slice(n) });
        plan.leftover.push(...unit.slice(w + 1));
        return finish();
      }
      used += cost;
      for (const d of newDays) daysInTransaction.add(d);
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
        ...steps.flatMap((s) => purchaseItems(s.purchase, 'stale')),
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
    const program = await getProgram();
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
      } else applicable.push(item);
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
