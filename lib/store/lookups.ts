import type { CustomerState } from '../domain/customer.ts';
import { receiptPurchaseId } from '../ids.ts';
import type { IdempotencyContext } from '../principal.ts';
import { customerFromItem, getCustomerAsStored, survivorOf } from './customers.ts';
import { idempotencyKey } from './idempotency.ts';
import { type IdentifierKind, type Key, keys } from './keys.ts';
import { batchGet, byKey, pick } from './reads.ts';
import { legacyReceiptGuards } from './receiptGuards.ts';

/**
 * Many things looked up at once, in the domain's words: customers, stores, receipts
 * recorded, campaigns' markers of the customers they credited, and identifiers' owners.
 * One consistent BatchGetItem per 100 keys (concurrent for more), whatever the mix, so a
 * use case that needs several of them pays one round trip for up to 100 keys (more when
 * DynamoDB leaves some unprocessed, which are asked again).
 */
export interface Wanted {
  customers?: readonly string[];
  stores?: readonly string[];
  receipts?: readonly { storeId: string; receiptId: string }[];
  credited?: readonly { campaignId: string; customerId: string }[];
  identifiers?: readonly { kind: IdentifierKind; value: string }[];
}

export interface Found {
  /** The customer, or the one it was merged into (however many merges led there). */
  customer(id: string): CustomerState | undefined;
  store(id: string): boolean;
  /** Whether a purchase with this receipt was recorded at the store. */
  receipt(storeId: string, receiptId: string): boolean;
  /** Whether the campaign has counted the customer (its marker is there). */
  credited(campaignId: string, customerId: string): boolean;
  /** The customer the identifier belongs to, if anyone's. */
  owner(kind: IdentifierKind, value: string): string | undefined;
}

export async function lookUp(wanted: Wanted): Promise<Found> {
  const receipts = wanted.receipts ?? [];
  // A receipt's purchase (or, after the one-off pass, its older guard) is under the id the
  // receipt gives; an older guard not yet passed is under its own key.
  const legacy = receipts.length > 0 && (await legacyReceiptGuards());
  const all: Key[] = [
    ...(wanted.customers ?? []).map((id) => keys.customer(id)),
    ...(wanted.stores ?? []).map((id) => keys.store(id)),
    ...receipts.map((r) => keys.purchase(receiptPurchaseId(r.storeId, r.receiptId))),
    ...(legacy ? receipts.map((r) => keys.receipt(r.storeId, r.receiptId)) : []),
    ...(wanted.credited ?? []).map((m) => keys.campaignCustomer(m.campaignId, m.customerId)),
    ...(wanted.identifiers ?? []).map((i) => keys.identifier(i.kind, i.value)),
  ];
  const found = byKey(all.length === 0 ? [] : await batchGet(all));
  const survivors = new Map<string, CustomerState | undefined>();
  for (const id of wanted.customers ?? []) {
    const c = customerFromItem(found(keys.customer(id)));
    if (c?.status === 'merged') survivors.set(id, await survivorOf(c, getCustomerAsStored));
  }
  return {
    customer: (id) =>
      survivors.has(id) ? survivors.get(id) : customerFromItem(found(keys.customer(id))),
    store: (id) => found(keys.store(id)) !== undefined,
    receipt: (storeId, receiptId) =>
      found(keys.purchase(receiptPurchaseId(storeId, receiptId))) !== undefined ||
      (legacy && found(keys.receipt(storeId, receiptId)) !== undefined),
    credited: (campaignId, customerId) =>
      found(keys.campaignCustomer(campaignId, customerId)) !== undefined,
    owner: (kind, value) => found(keys.identifier(kind, value))?.customerId as string | undefined,
  };
}

/** Customers by id, those that exist (consistent reads, one BatchGetItem per 100). */
export async function getCustomers(ids: readonly string[]): Promise<CustomerState[]> {
  if (ids.length === 0) return [];
  const items = await batchGet(ids.map((id) => keys.customer(id)));
  return items.map((item) => customerFromItem(item) as CustomerState);
}

/** A customer and the idempotency record of a change to it, in one consistent read. */
export async function loadCustomerContext(customerId: string, idem: IdempotencyContext) {
  const found = await batchGet([keys.customer(customerId), idempotencyKey(idem)]);
  const customer = customerFromItem(pick(found, keys.customer(customerId)));
  return {
    customer:
      customer?.status === 'merged' ? await survivorOf(customer, getCustomerAsStored) : customer,
    idempotencyItem: pick(found, idempotencyKey(idem)),
  };
}
