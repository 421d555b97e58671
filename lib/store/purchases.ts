import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import type { BreakdownItem } from '../domain/earning.ts';
import type { Money } from '../domain/money.ts';
import type { IdempotencyContext } from '../principal.ts';
import { db, tableName } from './client.ts';
import {
  customerFromItem,
  type ExtraItem,
  getCustomerAsStored,
  survivorOf,
  withoutKeys,
} from './customers.ts';
import { idempotencyKey } from './idempotency.ts';
import { type Key, keys } from './keys.ts';
import { batchGet, pick } from './reads.ts';

export interface Purchase {
  id: string;
  customerId: string;
  storeId: string;
  total: Money;
  occurredAt: string;
  recordedAt: string;
  receiptId?: string;
  lines?: { sku: string; category?: string; quantity: number; unitPrice: Money }[];
  pointsEarned: number;
  /** Where the points came from (base, campaigns); sums to pointsEarned. */
  breakdown: BreakdownItem[];
  pointsStatus: 'available' | 'pending';
  /** When pending points become available (only when they were pending at the purchase). */
  availableAt?: string;
  refunded: Money;
  /** The total less excluded lines, when that is less than the total (refunds take it back in proportion). */
  earnableSpend?: number;
}

/** A purchase item as the code reads it: those recorded before breakdowns had only a base. */
export function purchaseFromItem(item: Record<string, unknown>): Purchase {
  const p = withoutKeys<Purchase>(item);
  return p.breakdown ? p : { ...p, breakdown: [{ source: 'base', points: p.pointsEarned }] };
}

export interface PurchaseContext {
  customer: CustomerState | undefined;
  idempotencyItem: Record<string, unknown> | undefined;
  storeExists: boolean;
  /** Of the campaigns asked about, those the customer already took part in. */
  campaignsSeen: Set<string>;
}

/**
 * The purchase's first round trip: the customer, the idempotency record, (for admin keys,
 * which name a store) the store, and whether the customer took part in each campaign that
 * may apply, in one consistent BatchGetItem.
 */
export async function loadPurchaseContext(
  customerId: string,
  idem: IdempotencyContext | undefined,
  storeToCheck: string | undefined,
  campaignIds: readonly string[] = [],
): Promise<PurchaseContext> {
  const wanted: Key[] = [keys.customer(customerId)];
  if (idem) wanted.push(idempotencyKey(idem));
  if (storeToCheck) wanted.push(keys.store(storeToCheck));
  for (const id of campaignIds) wanted.push(keys.campaignCustomer(id, customerId));
  const found = await batchGet(wanted);
  const customer = customerFromItem(pick(found, keys.customer(customerId)));
  const context = {
    customer,
    idempotencyItem: idem ? pick(found, idempotencyKey(idem)) : undefined,
    storeExists: storeToCheck ? pick(found, keys.store(storeToCheck)) !== undefined : true,
    campaignsSeen: new Set(
      campaignIds.filter((id) => pick(found, keys.campaignCustomer(id, customerId))),
    ),
  };
  // A merged customer's purchase is its survivor's: read again as that one (rare).
  if (customer?.status !== 'merged') return context;
  const survivor = await survivorOf(customer, getCustomerAsStored);
  if (!survivor) return { ...context, customer: undefined };
  const again = await loadPurchaseContext(survivor.id, undefined, undefined, campaignIds);
  return { ...context, customer: again.customer, campaignsSeen: again.campaignsSeen };
}

/**
 * What a purchase adds to its customer's transaction: the purchase itself, which, with a
 * receipt id, is the receipt's guard in its store (its id is the receipt's: ids.ts). A
 * receipt already recorded is the conflict `receipt-taken` (or, for an import, which then
 * finds it a duplicate, `stale`). While older guards may be unpassed (`legacyGuard`,
 * store/receiptGuards.ts), the old guard item is written too.
 */
export function purchaseItems(
  purchase: Purchase,
  options: { legacyGuard: boolean; onReceiptTaken?: 'receipt-taken' | 'stale' },
): ExtraItem[] {
  const TableName = tableName();
  const onReceiptTaken = options.onReceiptTaken ?? 'receipt-taken';
  const receipt = purchase.receiptId;
  return [
    {
      item: {
        Put: {
          TableName,
          Item: { ...keys.purchase(purchase.id), ...purchase },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      onFailure: receipt === undefined ? 'stale' : onReceiptTaken,
    },
    ...(receipt === undefined || !options.legacyGuard
      ? []
      : [
          {
            item: {
              Put: {
                TableName,
                Item: { ...keys.receipt(purchase.storeId, receipt), purchaseId: purchase.id },
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
            onFailure: onReceiptTaken,
          },
        ]),
  ];
}

/** A purchase's item, or the guard of an older purchase's receipt (no purchase: undefined). */
const asPurchase = (item: Record<string, unknown> | undefined) =>
  item && item.legacyReceiptOf === undefined ? purchaseFromItem(item) : undefined;

export async function getPurchase(id: string): Promise<Purchase | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.purchase(id) }),
  );
  return asPurchase(Item);
}

/** Purchases by id, those that exist (one BatchGetItem per 100). */
export async function getPurchases(ids: readonly string[]): Promise<Purchase[]> {
  if (ids.length === 0) return [];
  return (await batchGet(ids.map((id) => keys.purchase(id)))).flatMap((item) => {
    const purchase = asPurchase(item);
    return purchase ? [purchase] : [];
  });
}

/** A purchase, the idempotency record, in one consistent read (a refund's first round trip). */
export async function loadRefundContext(purchaseId: string, idem: IdempotencyContext) {
  const found = await batchGet([keys.purchase(purchaseId), idempotencyKey(idem)]);
  return {
    purchase: asPurchase(pick(found, keys.purchase(purchaseId))),
    idempotencyItem: pick(found, idempotencyKey(idem)),
  };
}

/**
 * What a refund adds to its customer's transaction: the purchase's running `refunded`,
 * conditional on the amount read, so two refunds can't both pass the total check.
 */
export function refundedItem(purchase: Purchase, refundedBefore: number): ExtraItem {
  return {
    item: {
      Put: {
        TableName: tableName(),
        Item: { ...keys.purchase(purchase.id), ...purchase },
        ConditionExpression: 'refunded.amount = :before',
        ExpressionAttributeValues: { ':before': refundedBefore },
      },
    },
    onFailure: 'stale',
  };
}
