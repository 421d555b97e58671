import {
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import { lapsedScores } from '../domain/customerKeys.ts';
import { type DayStats, mergeStats } from '../domain/dayStats.ts';
import type { DomainEvent, LedgerEntry } from '../domain/ledger.ts';
import { MAX_MERGES } from '../domain/merge.ts';
import type { ModelParams } from '../domain/model.ts';
import type { UpliftTallies } from '../domain/winBack.ts';
import { db, tableName } from './client.ts';
import {
  dueShardOf,
  type IdentifierKind,
  indexKeys,
  type Key,
  keys,
  LEDGER_PREFIX,
  sampleShardOf,
} from './keys.ts';
import { getModel } from './model.ts';
import { type Page, queryPage } from './pagination.ts';
import { dayStatsItems } from './reports.ts';
import { AGAIN, failedConditions, isTransactionConflict, optimistic } from './transactions.ts';
import { upliftItems, upliftOf } from './uplift.ts';

export type { LedgerEntry } from '../domain/ledger.ts';

/** A change to one customer: what PointsChange produces and a transaction writes. */
export interface CustomerChange {
  customer: CustomerState;
  /** The customer's status as read (an erased one is refused before any write). */
  was?: CustomerState['status'];
  expectedVersion: number;
  entries: { version: number; entry: LedgerEntry }[];
  events: DomainEvent[];
  /** What it adds to the counts by day (the reports). */
  stats?: DayStats;
  /** What it adds to the win-back experiments' counts (winBack.ts). */
  uplift?: UpliftTallies;
  /** When it is written (PointsChange's clock): a lapsed customer is scored as of then. */
  at?: Date;
}

/** Attributes of the customer item that only exist for the sparse due indexes (table.ts). */
const DUE_ATTRIBUTES = [
  'dueShard',
  'sampleShard',
  'activateAt',
  'oldestLot',
  'remindLot',
  'lapsedList',
  'lapsedValue',
  'GSI1PK',
  'GSI1SK',
] as const;

/** The first of the sorted lot days whose `points.expiring` reminder is still to go. */
const firstUnreminded = (lotDays: string[], reminded: string[] | undefined) =>
  lotDays.find((day) => !(reminded ?? []).includes(day));

/** The oldest lot whose `points.expiring` reminder is still to go (the RemindDue index). */
export const remindLotOf = (customer: Pick<CustomerState, 'lots' | 'remindedLots'>) =>
  firstUnreminded(Object.keys(customer.lots ?? {}).sort(), customer.remindedLots);

/** The Lapsed index's one partition. */
export const LAPSED_LIST = 'LAPSED';

/** What a lapsed customer is scored by when written: the model in force, the write's clock. */
export interface RiskScoring {
  model: ModelParams | undefined;
  at: Date;
}

/**
 * The customer item: the state plus the keys of the due indexes, derived from it on every
 * write (a Put replaces the item, so an attribute no longer due disappears from its index).
 * A lapsed customer written so is in neither sorted order of the lapsed list until the
 * daily refresh scores it (usecases/lapsedScores.ts): a change writes scoredCustomerItem.
 */
export function customerItem(customer: CustomerState) {
  const pendingAt = Object.keys(customer.pendingLots ?? {}).sort()[0];
  const lotDays = Object.keys(customer.lots ?? {}).sort();
  const oldestLot = lotDays[0];
  const remindLot = firstUnreminded(lotDays, customer.remindedLots);
  return {
    ...keys.customer(customer.id),
    ...customer,
    dueShard: dueShardOf(customer.id),
    sampleShard: sampleShardOf(customer.id),
    ...(pendingAt !== undefined && { activateAt: pendingAt }),
    ...(oldestLot !== undefined && { oldestLot }),
    ...(remindLot !== undefined && { remindLot }),
    ...(customer.status === 'lapsed' && { lapsedList: LAPSED_LIST }),
  };
}

/** The customer item with, when lapsed, its keys in the lapsed list's sorted orders. */
export function scoredCustomerItem(customer: CustomerState, scoring: RiskScoring) {
  return { ...customerItem(customer), ...riskKeys(customer, scoring) };
}

/** A lapsed customer's keys in the two sorted orders of the lapsed list (keys.ts). */
export function riskKeys(
  customer: CustomerState,
  { model, at }: RiskScoring,
): { lapsedValue: string; GSI1PK: string; GSI1SK: string } | undefined {
  const scores = lapsedScores(customer, model, at);
  if (!scores) return undefined;
  return {
    lapsedValue: indexKeys.lapsedByValue(scores.valueAtRisk, customer.id),
    ...indexKeys.lapsedByChurn(customer.id, scores.churnRisk),
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
function changeItems(
  change: CustomerChange,
  answer: Key | undefined,
  model: ModelParams | undefined,
) {
  const TableName = tableName();
  // PointsChange derives its customer on each read: take it once.
  const customer = change.customer;
  return [
    {
      Put: {
        TableName,
        Item: scoredCustomerItem(customer, { model, at: change.at ?? new Date() }),
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': change.expectedVersion },
      },
    },
    ...change.entries.map(({ version, entry }) => ({
      Put: {
        TableName,
        // The answer kept for a replay of the request, so an erase finds it (erasure.ts).
        Item: { ...ledgerItem(customer.id, version, entry), ...(answer && { answerKey: answer }) },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    })),
    ...change.events.map((event) => ({
      Put: {
        TableName,
        // Under the customer it names too (GSI1), so their export finds it in one Query.
        Item: {
          ...keys.event(event.id),
          ...event,
          ...(event.customerId !== null && indexKeys.customerEvent(event.customerId, event.id)),
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    })),
  ];
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * An item written in the same transaction as customer changes (a purchase, a refund's
 * running total, a redemption, a code's use, a receipt) and what its failed condition
 * means: that what was read is stale (retry), or a conflict the caller names.
 */
export interface ExtraItem {
  item: TransactItem;
  /** A failed condition on this item: 'stale' to retry from a fresh read, or a conflict's name. */
  onFailure: 'stale' | string;
}

export type CommitResult =
  | { outcome: 'committed' }
  | { outcome: 'stale' }
  | { outcome: 'idempotency-key-taken' }
  | { outcome: 'conflict'; name: string };

/** At most this many items in one transaction: DynamoDB's limit. */
export const MAX_TRANSACTION_ITEMS = 100;

/**
 * The one write of every change to customers: each change (the customer, conditional on
 * the version read, its ledger entries and outbox events), the extra items, and the
 * idempotency record, in one TransactWriteItems: all or nothing. Many changes to one
 * customer are one change with many ledger entries (an import chains one PointsChange per
 * purchase into one change per customer); `changes` are of distinct customers, since a transaction
 * touches an item once. A failed condition is decoded in one order: the idempotency key
 * first (a replay also finds the rest taken), then a lost race (a customer's version, a
 * stale extra, a conflicting transaction), then the extra items' named conflicts.
 */
export async function commitChanges(args: {
  changes: CustomerChange[];
  extras?: ExtraItem[];
  idempotency?: TransactItem;
}): Promise<CommitResult> {
  const items: TransactItem[] = [];
  const customerIndexes = new Set<number>();
  if (new Set(args.changes.map((c) => c.customer.id)).size < args.changes.length) {
    throw new Error('one change per customer in a transaction: combine the operations');
  }
  const answer = args.idempotency?.Put?.Item as Key | undefined;
  // The model (cached) only when a lapsed customer is written: their keys in the sorted lists.
  const model = args.changes.some((c) => c.customer.status === 'lapsed')
    ? await getModel()
    : undefined;
  for (const change of args.changes) {
    customerIndexes.add(items.length);
    items.push(...changeItems(change, answer && { PK: answer.PK, SK: answer.SK }, model));
  }
  items.push(...dayStatsItems(statsOf(args.changes)));
  items.push(...upliftItems(upliftOf(args.changes)));
  const idemIndex = args.idempotency ? items.length : -1;
  if (args.idempotency) items.push(args.idempotency);
  const extrasAt = items.length;
  items.push(...(args.extras ?? []).map((extra) => extra.item));
  if (items.length > MAX_TRANSACTION_ITEMS) {
    throw new Error(`${items.length} items: a transaction takes ${MAX_TRANSACTION_ITEMS}`);
  }
  try {
    await db().send(new TransactWriteCommand({ TransactItems: items }));
    return { outcome: 'committed' };
  } catch (error) {
    const failed = failedConditions(error) ?? [];
    if (failed.includes(idemIndex)) return { outcome: 'idempotency-key-taken' };
    const extraFailures = failed
      .filter((i) => i >= extrasAt)
      .map((i) => args.extras?.[i - extrasAt]?.onFailure);
    if (
      failed.some((i) => customerIndexes.has(i)) ||
      extraFailures.includes('stale') ||
      isTransactionConflict(error)
    ) {
      return { outcome: 'stale' };
    }
    const conflict = extraFailures.find((name) => name !== undefined);
    if (conflict !== undefined) return { outcome: 'conflict', name: conflict };
    throw error;
  }
}

/** The counts by day of changes to write together. */
export const statsOf = (changes: readonly CustomerChange[]): DayStats =>
  changes.reduce((all, c) => (c.stats ? mergeStats(all, c.stats) : all), new Map() as DayStats);

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

/**
 * A customer merged into another is read as the customer it went into, however many
 * merges led there (each merge refuses a merged customer on either side, so a chain only
 * grows when its end is merged on, and is at most MAX_MERGES long).
 */
export async function survivorOf(
  customer: CustomerState | undefined,
  read: (id: string) => Promise<CustomerState | undefined>,
): Promise<CustomerState | undefined> {
  let c = customer;
  for (let hops = 0; c?.status === 'merged' && hops <= MAX_MERGES; hops++) {
    c = await read(c.mergedInto as string);
  }
  return c?.status === 'merged' ? undefined : c;
}

/** The customer as stored under this id: a merged one as it is, not its survivor. */
export async function getCustomerAsStored(id: string): Promise<CustomerState | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.customer(id), ConsistentRead: true }),
  );
  return customerFromItem(Item);
}

/**
 * The customer as of now (a consistent read), for a change conditional on its version;
 * a merged one's survivor.
 */
export async function getCustomerConsistent(id: string): Promise<CustomerState | undefined> {
  return survivorOf(await getCustomerAsStored(id), getCustomerAsStored);
}

export async function getCustomer(id: string): Promise<CustomerState | undefined> {
  const read = async (key: string) => {
    const { Item } = await db().send(
      new GetCommand({ TableName: tableName(), Key: keys.customer(key) }),
    );
    return customerFromItem(Item);
  };
  return survivorOf(await read(id), read);
}

export type Identifiers = Partial<Record<IdentifierKind, string>>;

export type EnrolResult =
  | { ok: true }
  | { ok: false; takenBy: { kind: IdentifierKind; customerId: string | undefined } }
  | { ok: false; referrerMissing: true };

const identifiersOf = (identifiers: Identifiers) =>
  Object.entries(identifiers).filter(([, v]) => v !== undefined) as [IdentifierKind, string][];

/** A new customer's items: the customer, one per identifier (each unique), its ledger entries. */
function newCustomerItems(change: CustomerChange, identifiers: Identifiers): TransactItem[] {
  const TableName = tableName();
  const customer = change.customer;
  return [
    {
      Put: {
        TableName,
        Item: customerItem(customer),
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    ...identifiersOf(identifiers).map(([kind, value]) => ({
      Put: {
        TableName,
        Item: { ...keys.identifier(kind, value), customerId: customer.id },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    })),
    ...change.entries.map(({ version, entry }) => ({
      Put: { TableName, Item: ledgerItem(customer.id, version, entry) },
    })),
  ];
}

/** How many transaction items enrolling a customer takes, besides the count (see insertCustomers). */
export const newCustomerItemCount = (change: CustomerChange, identifiers: Identifiers) =>
  newCustomerItems(change, identifiers).length;

/**
 * The new customer (with what its enrolment credited: ledger entries and their campaign
 * counts) and one item per identifier, all or nothing: identifiers stay unique. A
 * referrer, if named, must exist (checked in the same transaction).
 */
export async function insertCustomer(
  change: CustomerChange,
  identifiers: Identifiers,
  options: { referrer?: string; extras?: ExtraItem[] } = {},
): Promise<EnrolResult> {
  const idents = identifiersOf(identifiers);
  const own = newCustomerItems(change, identifiers);
  // The referrer's check goes after the customer and its identifiers, whose failed
  // conditions are read by position.
  const referrerAt = 1 + idents.length;
  const enrolment = new TransactWriteCommand({
    TransactItems: [
      ...own.slice(0, referrerAt),
      ...(options.referrer === undefined
        ? []
        : [
            {
              ConditionCheck: {
                TableName: tableName(),
                Key: keys.customer(options.referrer),
                ConditionExpression: 'attribute_exists(PK)',
              },
            },
          ]),
      ...own.slice(referrerAt),
      ...dayStatsItems(statsOf([change])),
      ...(options.extras ?? []).map((e) => e.item),
    ],
  });
  // Two enrolments racing for one identifier may collide mid-transaction rather than
  // fail a condition; the retry then sees the winner's identifier and answers 409.
  const attempts = 5;
  return optimistic<EnrolResult>(
    async (n) => {
      try {
        await db().send(enrolment);
        return { ok: true };
      } catch (error) {
        if (isTransactionConflict(error) && n < attempts - 1) return AGAIN;
        const failed = failedConditions(error) ?? [];
        const ident = failed.find((i) => i > 0 && i <= idents.length);
        if (ident !== undefined) {
          const [kind, value] = idents[ident - 1] as [IdentifierKind, string];
          return { ok: false, takenBy: { kind, customerId: await customerIdFor(kind, value) } };
        }
        if (options.referrer !== undefined && failed.includes(referrerAt)) {
          return { ok: false, referrerMissing: true };
        }
        throw error;
      }
    },
    { attempts },
  );
}

/**
 * Several new customers (as `insertCustomer`, with no referrer or extras) in one
 * transaction, and their count. All or nothing: `false` when any identifier was taken
 * meanwhile or another transaction got in the way; then enrol them one by one.
 */
export async function insertCustomers(
  news: { change: CustomerChange; identifiers: Identifiers }[],
): Promise<boolean> {
  const items = [
    ...news.flatMap((n) => newCustomerItems(n.change, n.identifiers)),
    ...dayStatsItems(statsOf(news.map((n) => n.change))),
  ];
  if (items.length > MAX_TRANSACTION_ITEMS) {
    throw new Error(`${items.length} items: a transaction takes ${MAX_TRANSACTION_ITEMS}`);
  }
  try {
    await db().send(new TransactWriteCommand({ TransactItems: items }));
    return true;
  } catch (error) {
    if (failedConditions(error) !== undefined || isTransactionConflict(error)) return false;
    throw error;
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
    items: page.items.map(({ answerKey: _, ...item }) => withoutKeys<LedgerEntry>(item)),
    nextCursor: page.nextCursor,
  };
}
