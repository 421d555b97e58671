/**
 * Customers' data exports (the README's "Your customers' data").
 * - `EXPORT#<id>` / `EXPORT`: an export: whose, who asked (only that credential may read
 *   it), its status, its document's name and size. While the document is still to write it
 *   carries GSI1 keys under `EXPORTS`, by when it is next due: the exports job reads only
 *   those, and claims one by moving its due time on past its run (a lease), so a run that
 *   dies leaves it due again and no two runs write one export at once.
 * - `CUS#<customerId>` / `EXPORT#<id>`: the export listed under its customer, so
 *   deleteCustomerExports finds every one with one Query.
 * Both go 7 days after the request (TTL `expiresAt`), as the document does (the bucket's
 * lifecycle rule; locally deleteCustomerExports or a later run of nothing: see README).
 */
import {
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DomainEvent } from '../domain/ledger.ts';
import { documentName, exportSink } from '../exports/sinks.ts';
import type { IdempotencyContext } from '../principal.ts';
import { db, tableName, writeIf } from './client.ts';
import { withoutKeys } from './customers.ts';
import { claimIdempotencyKey } from './idempotency.ts';
import {
  EVENTS_PARTITION,
  EXPORT_PREFIX,
  EXPORTS_DUE,
  indexKeys,
  type Key,
  keys,
  LEDGER_PREFIX,
} from './keys.ts';
import { queryPages } from './pagination.ts';
import { batchGet } from './reads.ts';
import { failedConditions } from './transactions.ts';
import { eventIndexState } from './upgrades.ts';
import type { Delivery } from './webhooks.ts';

export type ExportStatus = 'running' | 'ready' | 'failed';

export interface CustomerExport {
  id: string;
  customerId: string;
  /** The credential that asked (an API key's id, or `token:<customerId>`): only it reads it. */
  requestedBy: string;
  status: ExportStatus;
  createdAt: string;
  /** Runs that took it on (a run that dies or fails leaves it due again, up to a limit). */
  attempts: number;
  readyAt?: string;
  failedAt?: string;
  /** The document's name in the sink (exports/sink.ts), once written. */
  document?: string;
  bytes?: number;
  /** When it goes, with its document (epoch seconds; the table's TTL). */
  expiresAt: number;
}

/** A claimed export: `lease` is its due key while this run holds it. */
export interface ClaimedExport extends CustomerExport {
  lease: string;
}

const exportOf = (item: Record<string, unknown>): CustomerExport => {
  const { GSI1PK: _pk, GSI1SK: _sk, ...rest } = withoutKeys<Record<string, unknown>>(item);
  return rest as unknown as CustomerExport;
};

/**
 * Records a requested export, due at once, with its idempotent answer in the same
 * transaction. 'idempotency-key-taken' when another request took the key first.
 */
export async function insertExport(
  record: CustomerExport,
  idempotency: { ctx: IdempotencyContext; answer: unknown } | undefined,
  now: Date,
): Promise<'saved' | 'idempotency-key-taken'> {
  const TableName = tableName();
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName,
              Item: {
                ...keys.export(record.id),
                ...record,
                ...indexKeys.exportDue(record.createdAt, record.id),
              },
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
          {
            Put: {
              TableName,
              Item: {
                ...keys.customerExport(record.customerId, record.id),
                exportId: record.id,
                expiresAt: record.expiresAt,
              },
            },
          },
          ...(idempotency ? [claimIdempotencyKey(idempotency.ctx, idempotency.answer, now)] : []),
        ],
      }),
    );
    return 'saved';
  } catch (error) {
    if (idempotency && failedConditions(error)?.includes(2)) return 'idempotency-key-taken';
    throw error;
  }
}

/** An export by id, unless it is gone (DynamoDB deletes expired items late). */
export async function getExport(id: string, now: Date): Promise<CustomerExport | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.export(id), ConsistentRead: true }),
  );
  if (!Item || (Item.expiresAt as number) <= Math.floor(now.getTime() / 1000)) return undefined;
  return exportOf(Item);
}

/** Exports whose document is due to be written at `asOf`, oldest first (at most `limit`). */
export async function dueExports(asOf: Date, limit: number): Promise<ClaimedExport[]> {
  const { Items = [] } = await db().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :due AND GSI1SK <= :asOf',
      ExpressionAttributeValues: { ':due': EXPORTS_DUE, ':asOf': `${asOf.toISOString()}#~` },
      Limit: limit,
    }),
  );
  return Items.map((item) => ({ ...exportOf(item), lease: item.GSI1SK as string }));
}

/**
 * Takes `e` on until `until` (it leaves the due range until then), counting the attempt;
 * undefined if another run took it first (or it was finished, or deleted).
 */
export async function claimExport(
  e: ClaimedExport,
  until: Date,
): Promise<ClaimedExport | undefined> {
  const lease = indexKeys.exportDue(until.toISOString(), e.id).GSI1SK;
  const claimed = await writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.export(e.id),
      UpdateExpression: 'SET GSI1SK = :lease, attempts = attempts + :one',
      ConditionExpression: 'GSI1SK = :held',
      ExpressionAttributeValues: { ':lease': lease, ':one': 1, ':held': e.lease },
    }),
  );
  return claimed ? { ...e, attempts: e.attempts + 1, lease } : undefined;
}

/** Leaves a claimed export due again at `at` (a run out of time, or a failure to retry). */
export async function releaseExport(
  e: ClaimedExport,
  at: Date,
  options: { uncount?: boolean } = {},
): Promise<void> {
  await writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.export(e.id),
      UpdateExpression: `SET GSI1SK = :due${options.uncount ? ', attempts = attempts - :one' : ''}`,
      ConditionExpression: 'GSI1SK = :held',
      ExpressionAttributeValues: {
        ':due': indexKeys.exportDue(at.toISOString(), e.id).GSI1SK,
        ':held': e.lease,
        ...(options.uncount && { ':one': 1 }),
      },
    }),
  );
}

/**
 * Settles a claimed export: ready with its document, or failed. False if the run no longer
 * held it (its lease ran out and another took it, or the export was deleted meanwhile).
 */
export async function settleExport(
  e: ClaimedExport,
  outcome:
    | { status: 'ready'; at: Date; document: string; bytes: number }
    | { status: 'failed'; at: Date },
): Promise<boolean> {
  const ready = outcome.status === 'ready';
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.export(e.id),
      UpdateExpression: ready
        ? 'SET #status = :status, readyAt = :at, document = :document, bytes = :bytes REMOVE GSI1PK, GSI1SK'
        : 'SET #status = :status, failedAt = :at REMOVE GSI1PK, GSI1SK',
      ConditionExpression: 'GSI1SK = :held',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':status': outcome.status,
        ':at': outcome.at.toISOString(),
        ':held': e.lease,
        ...(ready && { ':document': outcome.document, ':bytes': outcome.bytes }),
      },
    }),
  );
}

/**
 * Deletes every export of a customer: their documents (the bucket's objects, or the local
 * files) first, then the items. An export being written meanwhile finds its item gone when
 * it settles, and removes the document it wrote (usecases/exports.ts). For the erase.
 */
export async function deleteCustomerExports(customerId: string): Promise<number> {
  const { PK } = keys.customer(customerId);
  let deleted = 0;
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':pk': PK, ':prefix': EXPORT_PREFIX },
    ConsistentRead: true,
    Limit: 25,
  })) {
    const ids = items.map((item) => item.exportId as string);
    if (ids.length === 0) continue;
    const sink = exportSink();
    for (const id of ids) await sink.remove(documentName(id));
    const pending: Key[] = ids.flatMap((id) => [
      keys.export(id),
      keys.customerExport(customerId, id),
    ]);
    for (let i = 0; i < pending.length; i += 25) {
      let batch = pending.slice(i, i + 25);
      for (let attempt = 0; batch.length > 0; attempt++) {
        if (attempt > 8) throw new Error('BatchWriteItem left deletes unprocessed');
        if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        const { UnprocessedItems } = await db().send(
          new BatchWriteCommand({
            RequestItems: { [tableName()]: batch.map((Key) => ({ DeleteRequest: { Key } })) },
          }),
        );
        batch = (UnprocessedItems?.[tableName()] ?? []).map(
          (request) => request.DeleteRequest?.Key as Key,
        );
      }
    }
    deleted += ids.length;
  }
  return deleted;
}

// ---------------------------------------------------------------- what an export reads

/** How many ledger entries an export reads at a time (one Query page, at most ~100 KB). */
export const LEDGER_PAGE = 500;

/** A customer's whole ledger, newest first (as the activity pages list it), a page at a time. */
export async function* ledgerPages(
  customerId: string,
): AsyncGenerator<import('../domain/ledger.ts').LedgerEntry[]> {
  const { PK } = keys.customer(customerId);
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ledger)',
    ExpressionAttributeValues: { ':pk': PK, ':ledger': LEDGER_PREFIX },
    ScanIndexForward: false,
    Limit: LEDGER_PAGE,
  })) {
    // answerKey: the answer kept for a replay of the entry's request (erasure.ts), not the entry's.
    yield items.map(({ answerKey: _, ...item }) => withoutKeys(item));
  }
}

/**
 * The outbox events naming a customer, oldest first, a page at a time: one Query of GSI1,
 * where each event sits under its customer. Until the pass that gives events from before
 * that index their place is done (usecases/eventIndex.ts), the outbox is read whole,
 * filtered (each page bounded: 1,000 events read however few pass).
 */
export async function* customerEventPages(customerId: string): AsyncGenerator<DomainEvent[]> {
  const indexed = (await eventIndexState()).done;
  for await (const items of queryPages(
    indexed
      ? {
          TableName: tableName(),
          IndexName: 'GSI1',
          KeyConditionExpression: 'GSI1PK = :pk',
          ExpressionAttributeValues: { ':pk': indexKeys.customerEvents(customerId) },
          Limit: 1000,
        }
      : {
          TableName: tableName(),
          KeyConditionExpression: 'PK = :pk',
          FilterExpression: 'customerId = :customer',
          ExpressionAttributeValues: { ':pk': EVENTS_PARTITION, ':customer': customerId },
          Limit: 1000,
        },
  )) {
    yield items.map(({ id, type, at, customerId: c, data }) => ({
      id,
      type,
      at,
      customerId: c,
      data,
    })) as DomainEvent[];
  }
}

/** The deliveries of these events to these endpoints, those that exist (and are not past TTL). */
export async function deliveriesOf(
  endpointIds: readonly string[],
  eventIds: readonly string[],
  now: Date,
): Promise<Delivery[]> {
  const wanted = endpointIds.flatMap((endpointId) =>
    eventIds.map((eventId) => keys.webhookDelivery(endpointId, eventId)),
  );
  const nowSeconds = Math.floor(now.getTime() / 1000);
  return (await batchGet(wanted))
    .map((item) => {
      const { dueShard: _shard, ...rest } = withoutKeys<Record<string, unknown>>(item);
      return rest as unknown as Delivery;
    })
    .filter((d) => d.expiresAt === undefined || d.expiresAt > nowSeconds);
}
