/**
 * Import of a merchant's members, in batches of up to 500: each item is enrolled as
 * `POST /v1/customers` would enrol it, with its opening balance, unless one of its
 * identifiers (in the table, or of an earlier item of the batch) already has a customer;
 * many new members share a transaction.
 */
import { newCustomer } from '../domain/customer.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import { newId } from '../ids.ts';
import type { IdempotencyContext } from '../principal.ts';
import { type ImportCustomerInput, importCustomerSchema } from '../schemas/imports.ts';
import {
  type Identifiers,
  insertCustomer,
  insertCustomers,
  MAX_TRANSACTION_ITEMS,
  newCustomerItemCount,
} from '../store/customers.ts';
import type { IdentifierKind } from '../store/keys.ts';
import { lookUp } from '../store/lookups.ts';
import { getProgram } from '../store/program.ts';
import {
  isRefusedRequest,
  isStorageFailure,
  isTransactionConflict,
} from '../store/transactions.ts';
import type { Answer } from './change.ts';
import { normalise } from './customers.ts';
import {
  byIndex,
  CONCURRENT_TRANSACTIONS,
  type ItemError,
  invalid,
  onceFor,
  packed,
} from './importBatches.ts';
import { inParallel } from './parallel.ts';

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
