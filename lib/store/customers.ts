import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import { db, tableName } from './client.ts';
import { type IdentifierKind, keys, LEDGER_PREFIX } from './keys.ts';
import { type Page, queryPage } from './pagination.ts';
import { backoff, failedConditions, isTransactionConflict } from './transactions.ts';

export interface LedgerEntry {
  id: string;
  type:
    | 'earn'
    | 'refund'
    | 'hold'
    | 'release'
    | 'redeem'
    | 'expire'
    | 'adjust'
    | 'pending'
    | 'activate';
  points: number;
  balanceAfter: number;
  at: string;
  purchaseId?: string;
  refundId?: string;
  redemptionId?: string;
  reason?: string;
}

export const customerItem = (customer: CustomerState) => ({
  ...keys.customer(customer.id),
  ...customer,
});

export const ledgerItem = (customerId: string, version: number, entry: LedgerEntry) => ({
  ...keys.ledgerEntry(customerId, version),
  ...entry,
});

/**
 * The two transaction items of every change to points: the ledger entry (new, keyed by
 * the customer's new version) and the customer, conditional on the version read. Either
 * both are written or neither, so the balance always equals the ledger.
 */
export function balanceChange(
  customer: CustomerState,
  expectedVersion: number,
  ledger: LedgerEntry,
) {
  return [
    {
      Put: {
        TableName: tableName(),
        Item: ledgerItem(customer.id, customer.version, ledger),
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    {
      Put: {
        TableName: tableName(),
        Item: customerItem(customer),
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': expectedVersion },
      },
    },
  ];
}

export function withoutKeys<T>(item: Record<string, unknown>): T {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as T;
}

export function customerFromItem(
  item: Record<string, unknown> | undefined,
): CustomerState | undefined {
  return item ? withoutKeys<CustomerState>(item) : undefined;
}

/** The customer as of now (a consistent read), for a change conditional on its version. */
export async function getCustomerConsistent(id: string): Promise<CustomerState | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.customer(id), ConsistentRead: true }),
  );
  return customerFromItem(Item);
}

export async function getCustomer(id: string): Promise<CustomerState | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.customer(id) }),
  );
  return customerFromItem(Item);
}

export type Identifiers = Partial<Record<IdentifierKind, string>>;

export type EnrolResult =
  | { ok: true }
  | { ok: false; takenBy: { kind: IdentifierKind; customerId: string | undefined } };

/** The customer and one item per identifier, all or nothing: identifiers stay unique. */
export async function insertCustomer(
  customer: CustomerState,
  identifiers: Identifiers,
): Promise<EnrolResult> {
  const idents = Object.entries(identifiers).filter(([, v]) => v !== undefined) as [
    IdentifierKind,
    string,
  ][];
  const enrolment = new TransactWriteCommand({
    TransactItems: [
      {
        Put: {
          TableName: tableName(),
          Item: customerItem(customer),
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      ...idents.map(([kind, value]) => ({
        Put: {
          TableName: tableName(),
          Item: { ...keys.identifier(kind, value), customerId: customer.id },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      })),
    ],
  });
  // Two enrolments racing for one identifier may collide mid-transaction rather than
  // fail a condition; the retry then sees the winner's identifier and answers 409.
  for (let attempt = 1; ; attempt++) {
    try {
      await db().send(enrolment);
      return { ok: true };
    } catch (error) {
      if (isTransactionConflict(error) && attempt < 5) {
        await backoff(attempt);
        continue;
      }
      const failed = failedConditions(error)?.find((i) => i > 0);
      if (failed === undefined) throw error;
      const [kind, value] = idents[failed - 1] as [IdentifierKind, string];
      return { ok: false, takenBy: { kind, customerId: await customerIdFor(kind, value) } };
    }
  }
}

export async function customerIdFor(
  kind: IdentifierKind,
  value: string,
): Promise<string | undefined> {
  const { Item } = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: keys.identifier(kind, value),
      ConsistentRead: true,
    }),
  );
  return Item?.customerId as string | undefined;
}

export async function listLedger(
  customerId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<LedgerEntry>> {
  const { PK } = keys.customer(customerId);
  const page = await queryPage(
    {
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ledger)',
      ExpressionAttributeValues: { ':pk': PK, ':ledger': LEDGER_PREFIX },
      ScanIndexForward: false,
    },
    PK,
    limit,
    cursor,
  );
  return {
    items: page.items.map((item) => withoutKeys<LedgerEntry>(item)),
    nextCursor: page.nextCursor,
  };
}
