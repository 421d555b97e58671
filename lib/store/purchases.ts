import {
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import type { Money } from '../domain/money.ts';
import { db, tableName } from './client.ts';
import { type CustomerChange, changeItems, customerFromItem, withoutKeys } from './customers.ts';
import {
  claimIdempotencyKey,
  type IdempotencyContext,
  idempotencyKey,
  type StoredResponse,
} from './idempotency.ts';
import { type Key, keys } from './keys.ts';
import { batchGet, pick } from './reads.ts';
import { failedConditions, isTransactionConflict } from './transactions.ts';

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
  pointsStatus: 'available' | 'pending';
  /** When pending points become available (only when they were pending at the purchase). */
  availableAt?: string;
  refunded: Money;
}

export interface PurchaseContext {
  customer: CustomerState | undefined;
  idempotencyItem: Record<string, unknown> | undefined;
  storeExists: boolean;
}

/**
 * The purchase's first round trip: the customer, the idempotency record and (for admin
 * keys, which name a store) the store, in one consistent BatchGetItem.
 */
export async function loadPurchaseContext(
  customerId: string,
  idem: IdempotencyContext,
  storeToCheck: string | undefined,
): Promise<PurchaseContext> {
  const wanted: Key[] = [keys.customer(customerId), idempotencyKey(idem)];
  if (storeToCheck) wanted.push(keys.store(storeToCheck));
  const found = await batchGet(wanted);
  return {
    customer: customerFromItem(pick(found, keys.customer(customerId))),
    idempotencyItem: pick(found, idempotencyKey(idem)),
    storeExists: storeToCheck ? pick(found, keys.store(storeToCheck)) !== undefined : true,
  };
}

export type CommitOutcome =
  | 'committed'
  | 'stale-customer'
  | 'receipt-taken'
  | 'idempotency-key-taken';

/**
 * The purchase's second round trip: purchase, ledger entry, customer (conditional on the
 * version read), receipt uniqueness and idempotency record in one TransactWriteItems.
 */
export async function commitPurchase(args: {
  purchase: Purchase;
  change: CustomerChange;
  idem: IdempotencyContext;
  response: StoredResponse;
  now: Date;
}): Promise<CommitOutcome> {
  const { purchase, change, idem, response, now } = args;
  const TableName = tableName();
  const items: NonNullable<TransactWriteCommandInput['TransactItems']> = changeItems(change);
  const idemIndex = items.length;
  items.push(claimIdempotencyKey(idem, response, now), {
    Put: {
      TableName,
      Item: { ...keys.purchase(purchase.id), ...purchase },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  });
  const receiptIndex = items.length;
  if (purchase.receiptId !== undefined) {
    items.push({
      Put: {
        TableName,
        Item: { ...keys.receipt(purchase.storeId, purchase.receiptId), purchaseId: purchase.id },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    });
  }
  try {
    await db().send(new TransactWriteCommand({ TransactItems: items }));
    return 'committed';
  } catch (error) {
    const failed = failedConditions(error) ?? [];
    // The idempotency key first: a replayed request also finds its receipt and version taken.
    if (failed.includes(idemIndex)) return 'idempotency-key-taken';
    if (failed.includes(0) || isTransactionConflict(error)) return 'stale-customer';
    if (failed.includes(receiptIndex)) return 'receipt-taken';
    throw error;
  }
}

export async function getPurchase(id: string): Promise<Purchase | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.purchase(id) }),
  );
  return Item ? withoutKeys<Purchase>(Item) : undefined;
}

/** A purchase, the idempotency record, in one consistent read (a refund's first round trip). */
export async function loadRefundContext(purchaseId: string, idem: IdempotencyContext) {
  const found = await batchGet([keys.purchase(purchaseId), idempotencyKey(idem)]);
  const item = pick(found, keys.purchase(purchaseId));
  return {
    purchase: item ? withoutKeys<Purchase>(item) : undefined,
    idempotencyItem: pick(found, idempotencyKey(idem)),
  };
}

/**
 * A refund: the purchase's running `refunded` (conditional on the amount read, so two
 * refunds can't both pass the total check), the ledger entry and the customer, and the
 * idempotency record, in one TransactWriteItems.
 */
export async function commitRefund(args: {
  purchase: Purchase;
  refundedBefore: number;
  change: CustomerChange;
  idem: IdempotencyContext;
  response: StoredResponse;
  now: Date;
}): Promise<'committed' | 'stale' | 'idempotency-key-taken'> {
  const { purchase, refundedBefore, change, idem, response, now } = args;
  const items = changeItems(change);
  const idemIndex = items.length;
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          ...items,
          claimIdempotencyKey(idem, response, now),
          {
            Put: {
              TableName: tableName(),
              Item: { ...keys.purchase(purchase.id), ...purchase },
              ConditionExpression: 'refunded.amount = :before',
              ExpressionAttributeValues: { ':before': refundedBefore },
            },
          },
        ],
      }),
    );
    return 'committed';
  } catch (error) {
    const failed = failedConditions(error) ?? [];
    if (failed.includes(idemIndex)) return 'idempotency-key-taken';
    if (failed.length > 0 || isTransactionConflict(error)) return 'stale';
    throw error;
  }
}
