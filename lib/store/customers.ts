import {
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type CustomerState,
  MAX_CUSTOMER_POINTS,
  MAX_CUSTOMER_SPEND,
  totalOutOfBounds,
} from '../domain/customer.ts';
import type { DomainEvent, LedgerEntry } from '../domain/lifecycle.ts';
import { validationFailed } from '../errors.ts';
import { db, tableName } from './client.ts';
import { dueShardOf, type IdentifierKind, keys, LEDGER_PREFIX, sampleShardOf } from './keys.ts';
import { type Page, queryPage } from './pagination.ts';
import { countEnrolment } from './stats.ts';
import { backoff, failedConditions, isTransactionConflict } from './transactions.ts';

export type { LedgerEntry } from '../domain/lifecycle.ts';

/** A change to one customer: what PointsChange produces and a transaction writes. */
export interface CustomerChange {
  customer: CustomerState;
  expectedVersion: number;
  entries: { version: number; entry: LedgerEntry }[];
  events: DomainEvent[];
}

/** Attributes of the customer item that only exist for the sparse due indexes (table.ts). */
const DUE_ATTRIBUTES = [
  'dueShard',
  'sampleShard',
  'activateAt',
  'oldestLot',
  'lapsedList',
] as const;

/** The Lapsed index's one partition. */
export const LAPSED_LIST = 'LAPSED';

/**
 * The customer item: the state plus the keys of the due indexes, derived from it on every
 * write (a Put replaces the item, so an attribute no longer due disappears from its index).
 */
export function customerItem(customer: CustomerState) {
  const pendingAt = Object.keys(customer.pendingLots ?? {}).sort()[0];
  const oldestLot = Object.keys(customer.lots ?? {}).sort()[0];
  return {
    ...keys.customer(customer.id),
    ...customer,
    dueShard: dueShardOf(customer.id),
    sampleShard: sampleShardOf(customer.id),
    ...(pendingAt !== undefined && { activateAt: pendingAt }),
    ...(oldestLot !== undefined && { oldestLot }),
    ...(customer.status === 'lapsed' && { lapsedList: LAPSED_LIST }),
  };
}

export const ledgerItem = (customerId: string, version: number, entry: LedgerEntry) => ({
  ...keys.ledgerEntry(customerId, version),
  ...entry,
});

/**
 * The transaction items of every change to a customer: the customer first (conditional on
 * the version read), then its new ledger entries (one per version) and the events it
 * records (the outbox). All or nothing, so the balance always equals the ledger.
 */
export function changeItems(change: CustomerChange) {
  const TableName = tableName();
  // PointsChange derives its customer on each read: take it once.
  const customer = change.customer;
  // Refused before anything is written: a total past its bound would no longer be exact.
  const total = totalOutOfBounds(customer);
  if (total !== undefined) {
    throw validationFailed(
      [{ path: '', message: `this would take the customer's ${total} past their bound` }],
      `A customer's points stay within ${MAX_CUSTOMER_POINTS} and qualifying spend within ${MAX_CUSTOMER_SPEND}`,
    );
  }
  return [
    {
      Put: {
        TableName,
        Item: customerItem(customer),
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': change.expectedVersion },
      },
    },
    ...change.entries.map(({ version, entry }) => ({
      Put: {
        TableName,
        Item: ledgerItem(customer.id, version, entry),
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    })),
    ...change.events.map((event) => ({
      Put: {
        TableName,
        Item: { ...keys.event(event.id), ...event },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    })),
  ];
}

/** Writes a change that has nothing else in its transaction (a settle, a job, an adjustment). */
export async function commitChange(
  change: CustomerChange,
  extra: NonNullable<TransactWriteCommandInput['TransactItems']> = [],
): Promise<'committed' | 'stale' | { failed: number[] }> {
  const items = changeItems(change);
  try {
    await db().send(new TransactWriteCommand({ TransactItems: [...items, ...extra] }));
    return 'committed';
  } catch (error) {
    const failed = failedConditions(error) ?? [];
    if (failed.includes(0) || isTransactionConflict(error)) return 'stale';
    const others = failed.filter((i) => i >= items.length).map((i) => i - items.length);
    if (others.length > 0) return { failed: others };
    throw error;
  }
}

export function withoutKeys<T>(item: Record<string, unknown>): T {
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as T;
}

export function customerFromItem(
  item: Record<string, unknown> | undefined,
): CustomerState | undefined {
  if (!item) return undefined;
  const state = withoutKeys<Record<string, unknown>>(item);
  for (const name of DUE_ATTRIBUTES) delete state[name];
  return state as unknown as CustomerState;
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
      countEnrolment(),
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
    { PK, skPrefix: LEDGER_PREFIX },
    limit,
    cursor,
  );
  return {
    items: page.items.map((item) => withoutKeys<LedgerEntry>(item)),
    nextCursor: page.nextCursor,
  };
}
