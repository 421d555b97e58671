import { inAudience, runsAt } from '../domain/campaigns.ts';
import { type CustomerView, customerView, newCustomer } from '../domain/customer.ts';
import type { ErasedCustomerView } from '../domain/erase.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import { DomainError, notFound } from '../errors.ts';
import { newId } from '../ids.ts';
import type { CreateCustomerInput } from '../schemas/customers.ts';
import { campaignCountItems, liveCampaigns } from '../store/campaigns.ts';
import {
  customerIdFor,
  getCustomer,
  type Identifiers,
  insertCustomer,
  type LedgerEntry,
  listLedger,
} from '../store/customers.ts';
import type { IdentifierKind } from '../store/keys.ts';
import type { Page } from '../store/pagination.ts';
import { getProgram } from '../store/program.ts';
import { getPurchases } from '../store/purchases.ts';
import { mintCustomerToken } from '../tokens.ts';
import { readSettledCustomer, settledCustomer } from './settledCustomer.ts';

/** Emails are matched case-insensitively; phones and external ids exactly. */
export const normalise = (input: Identifiers): Identifiers => ({
  ...(input.email !== undefined && { email: input.email.trim().toLowerCase() }),
  ...(input.phone !== undefined && { phone: input.phone }),
  ...(input.externalId !== undefined && { externalId: input.externalId }),
});

/**
 * Enrols a customer; each `enrolment` campaign running now credits its points in the
 * same transaction (a `bonus` ledger entry), and its counts with them.
 */
export async function enrolCustomer(
  input: CreateCustomerInput,
  now = new Date(),
): Promise<CustomerView> {
  const [program, campaigns] = await Promise.all([getProgram(), liveCampaigns()]);
  const identifiers = normalise(input);
  const customer = newCustomer(
    newId('cus', now.getTime()),
    {
      ...identifiers,
      ...(input.name !== undefined && { name: input.name }),
      ...(input.birthDate !== undefined && { birthDate: input.birthDate }),
      ...(input.referredBy !== undefined && { referredBy: input.referredBy }),
    },
    program,
    now,
  );
  const change = new PointsChange(customer, program, now).enrolled();
  const who = { tierId: customer.tierId, status: customer.status };
  for (const c of campaigns) {
    if (c.type === 'enrolment' && runsAt(c, now) && inAudience(c, who)) {
      change.bonus(c.points ?? 0, c.id);
    }
  }
  const extras = campaignCountItems(
    change.entries.map(({ entry }) => ({
      campaignId: entry.campaignId as string,
      customerId: customer.id,
      points: entry.points,
      purchase: false,
      newCustomer: true,
    })),
    now,
  );
  const result = await insertCustomer(change, identifiers, {
    ...(input.referredBy !== undefined && { referrer: input.referredBy }),
    extras,
  });
  if (!result.ok) {
    if ('referrerMissing' in result) throw notFound('The referring customer (referredBy)');
    throw new DomainError('conflict', `This ${result.takenBy.kind} already belongs to a customer`, {
      existingCustomerId: result.takenBy.customerId,
    });
  }
  return customerView(change.customer, program, now);
}

export async function findCustomer(
  query: Identifiers,
  now = new Date(),
): Promise<CustomerView | ErasedCustomerView> {
  const [kind, value] = Object.entries(normalise(query))[0] as [IdentifierKind, string];
  const id = await customerIdFor(kind, value);
  if (id === undefined) throw notFound(`A customer with this ${kind}`);
  return readCustomer(id, now);
}

/** A customer as of now: what fell due since the last change is applied first. */
export const readCustomer = readSettledCustomer;

/**
 * The ledger, newest first, as of now: what fell due since the last change is written
 * first (as a read of the customer does), so the first page always adds up to the balance.
 */
export async function customerActivity(
  id: string,
  limit: number,
  cursor: string | undefined,
  now = new Date(),
): Promise<Page<LedgerEntry>> {
  const customer = cursor
    ? await getCustomer(id)
    : await settledCustomer(id, await getProgram(), now);
  if (!customer) throw notFound('Customer');
  // A merged customer's activity is its survivor's.
  const page = await listLedger(customer.id, limit, cursor);
  return { ...page, items: await withPurchaseFacts(page.items) };
}

/**
 * Entries of a purchase written before entries carried when and where it was made (an
 * import's earlier history, say) get them from the purchase, so every purchase entry says
 * when it was bought; one read for the page, and none once every entry carries them.
 */
export async function withPurchaseFacts(entries: LedgerEntry[]): Promise<LedgerEntry[]> {
  const missing = entries.filter((e) => e.purchaseId !== undefined && e.occurredAt === undefined);
  if (missing.length === 0) return entries;
  const purchases = new Map(
    (await getPurchases(missing.map((e) => e.purchaseId as string))).map((p) => [p.id, p]),
  );
  return entries.map((entry) => {
    const purchase = entry.occurredAt === undefined && purchases.get(entry.purchaseId ?? '');
    if (!purchase) return entry;
    return {
      ...entry,
      occurredAt: purchase.occurredAt,
      storeId: purchase.storeId,
      ...(purchase.receiptId !== undefined && { receiptId: purchase.receiptId }),
    };
  });
}

/** A session token for the customer's app (at most 1 h); the customer must exist. */
export async function createSessionToken(
  id: string,
  now = new Date(),
): Promise<{ token: string; expiresAt: string }> {
  if (!(await getCustomer(id))) throw notFound('Customer');
  return mintCustomerToken(id, now);
}
