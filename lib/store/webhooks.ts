/**
 * Webhook endpoints and their deliveries (the README's "Webhooks").
 * - `WEBHOOKS` / `WHE#<id>`: an endpoint: its URL, the event types it takes, and its
 *   signing secrets, sealed (webhooks/secrets.ts: KMS in AWS), each with when it stops
 *   signing (the old one 24 h after a rotation).
 * - `WEBHOOKS` / `CURSOR`: the last outbox event fanned out to the endpoints.
 * - `WEBHOOKS` / `GONE#<id>`: a deleted endpoint, kept until the delivery job has cancelled
 *   what was left in its lane.
 * - `WHD#<endpointId>` / `DLV#<eventId>`: one event's delivery to one endpoint: the body
 *   sent (the same bytes at each attempt), its status and attempts. While an attempt is
 *   to come it carries `dueShard` + `deliverAt` and so sits in the WebhookDue index, in
 *   its endpoint's lane (dueShard `LANE#<endpointId>`): the job reads each endpoint's due
 *   deliveries apart, only as many as it can send, so a slow endpoint's backlog is never
 *   read past by the others'. (Those written before lanes, in shards `0`-`3`, the job moves
 *   to their lanes.) A worker claims one by moving deliverAt on (a lease), so a worker that dies
 *   mid-delivery leaves it due again, and no two workers send it at once. Delivered,
 *   failed or cancelled (its endpoint deleted), it stays for 30 days (TTL `expiresAt`).
 */
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DomainEvent, eventOfItem } from '../domain/ledger.ts';
import { db, tableName, writeIf } from './client.ts';
import { dueItems } from './due.ts';
import { EVENT_PREFIX, EVENTS_PARTITION, keys } from './keys.ts';
import { type Page, queryPage, queryPages } from './pagination.ts';
import { batchGet, keyOf } from './reads.ts';

export interface SealedSecret {
  /** The secret, encrypted (base64). */
  sealed: string;
  createdAt: string;
  /** When it stops signing: set on the old secret at a rotation. */
  until?: string;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  description?: string;
  status: 'enabled';
  createdAt: string;
  secrets: SealedSecret[];
}

/** `cancelled`: its endpoint was deleted before it was delivered (not a failure). */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface Delivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** The body sent, as sent. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: string;
  lastAttemptAt?: string;
  lastStatusCode?: number;
  lastError?: string;
  nextAttemptAt?: string;
  /** Set while an attempt is to come (or one is under way): the WebhookDue index's key. */
  deliverAt?: string;
  /** When it leaves the log (epoch seconds, the table's TTL), once delivered or failed. */
  expiresAt?: number;
}

const endpointOf = (item: Record<string, unknown>): WebhookEndpoint => ({
  id: item.id as string,
  url: item.url as string,
  events: item.events as string[],
  ...(item.description !== undefined && { description: item.description as string }),
  status: 'enabled',
  createdAt: item.createdAt as string,
  secrets: item.secrets as SealedSecret[],
});

export async function insertEndpoint(endpoint: WebhookEndpoint): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keys.webhookEndpoint(endpoint.id), ...endpoint },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.webhookEndpoint(id), ConsistentRead: true }),
  );
  return Item ? endpointOf(Item) : undefined;
}

const ENDPOINTS = { PK: 'WEBHOOKS', skPrefix: 'WHE#' };

export async function listEndpoints(
  limit: number,
  cursor: string | undefined,
): Promise<Page<WebhookEndpoint>> {
  const page = await queryPage(
    {
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': ENDPOINTS.PK, ':prefix': ENDPOINTS.skPrefix },
    },
    ENDPOINTS,
    limit,
    cursor,
  );
  return { items: page.items.map(endpointOf), nextCursor: page.nextCursor };
}

/** Every endpoint (the fan-out's; a programme has a few). */
export async function allEndpoints(): Promise<WebhookEndpoint[]> {
  const all: WebhookEndpoint[] = [];
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':pk': ENDPOINTS.PK, ':prefix': ENDPOINTS.skPrefix },
    ConsistentRead: true,
  })) {
    all.push(...items.map(endpointOf));
  }
  return all;
}

/**
 * Deletes an endpoint, leaving a marker (GONE#) by which the delivery job finds its lane
 * and cancels what is pending there; false if there was none. Its deliveries stay in the log.
 */
export async function deleteEndpoint(id: string, at = new Date()): Promise<boolean> {
  try {
    await db().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: tableName(),
              Key: keys.webhookEndpoint(id),
              ConditionExpression: 'attribute_exists(PK)',
            },
          },
          {
            Put: {
              TableName: tableName(),
              Item: { ...keys.webhookGone(id), id, at: at.toISOString() },
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'TransactionCanceledException') return false;
    throw error;
  }
}

/** The deleted endpoints whose lanes may still hold pending deliveries. */
export async function goneEndpoints(): Promise<{ id: string; at: string }[]> {
  const gone: { id: string; at: string }[] = [];
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
    FilterExpression: 'attribute_not_exists(expiresAt)',
    ExpressionAttributeValues: { ':pk': ENDPOINTS.PK, ':prefix': 'GONE#' },
  })) {
    gone.push(...items.map((item) => ({ id: item.id as string, at: item.at as string })));
  }
  return gone;
}

/**
 * A deleted endpoint's lane is empty for good: its marker is let expire (the table's TTL;
 * the delivery job may update, not delete) and is read no more.
 */
export async function forgetGone(id: string, now: Date): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.webhookGone(id),
      UpdateExpression: 'SET expiresAt = :now',
      ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
    }),
  );
}

/**
 * A rotation: the secrets as read become `secrets` (the new one first, the old one with
 * its `until`), if no other change came between. False if it did (or the endpoint went).
 */
export async function replaceSecrets(
  id: string,
  read: SealedSecret[],
  secrets: SealedSecret[],
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.webhookEndpoint(id),
      UpdateExpression: 'SET secrets = :secrets',
      ConditionExpression: 'attribute_exists(PK) AND secrets = :read',
      ExpressionAttributeValues: { ':secrets': secrets, ':read': read },
    }),
  );
}

// ---------------------------------------------------------------- the outbox's cursor

/** The id of the last outbox event fanned out (none before the first run). */
export async function readCursor(): Promise<string | undefined> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.webhookCursor(), ConsistentRead: true }),
  );
  return Item?.through as string | undefined;
}

export async function saveCursor(through: string): Promise<void> {
  await writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.webhookCursor(),
      UpdateExpression: 'SET through = :through',
      // Never back: two runs at once keep the further one.
      ConditionExpression: 'attribute_not_exists(through) OR through < :through',
      ExpressionAttributeValues: { ':through': through },
    }),
  );
}

/** Outbox events with ids from `fromId` (included) on, oldest first, a page at a time. */
export async function* outboxFrom(fromId: string): AsyncGenerator<DomainEvent[]> {
  for await (const items of queryPages({
    TableName: tableName(),
    KeyConditionExpression: 'PK = :pk AND SK >= :from',
    ExpressionAttributeValues: { ':pk': EVENTS_PARTITION, ':from': `${EVENT_PREFIX}${fromId}` },
    ConsistentRead: true,
  })) {
    yield items.map(eventOfItem);
  }
}

// ---------------------------------------------------------------- deliveries

/**
 * Adds a delivery, due at its `deliverAt`, unless this event's delivery to this endpoint
 * exists already (a fan-out run again): true if added.
 */
export async function insertDelivery(delivery: Delivery): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...keys.webhookDelivery(delivery.endpointId, delivery.eventId),
        ...delivery,
        ...(delivery.deliverAt !== undefined && { dueShard: laneOf(delivery.endpointId) }),
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** Which of these (endpoint, event) deliveries exist already (consistent reads), by keyOf. */
export async function existingDeliveries(
  pairs: { endpointId: string; eventId: string }[],
): Promise<Set<string>> {
  const found = await batchGet(pairs.map((p) => keys.webhookDelivery(p.endpointId, p.eventId)));
  return new Set(found.map(keyOf));
}

export const deliveryKeyString = (endpointId: string, eventId: string) =>
  keyOf(keys.webhookDelivery(endpointId, eventId));

const deliveryOf = (item: Record<string, unknown>): Delivery => item as unknown as Delivery;

export async function getDelivery(
  endpointId: string,
  eventId: string,
): Promise<Delivery | undefined> {
  const { Item } = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: keys.webhookDelivery(endpointId, eventId),
      ConsistentRead: true,
    }),
  );
  return Item ? deliveryOf(Item) : undefined;
}

/** An endpoint's deliveries, newest event first. */
export async function listDeliveries(
  endpointId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<Delivery>> {
  const range = { PK: keys.webhookDelivery(endpointId, '').PK, skPrefix: 'DLV#' };
  const page = await queryPage(
    {
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': range.PK, ':prefix': range.skPrefix },
      ScanIndexForward: false,
    },
    range,
    limit,
    cursor,
  );
  // DynamoDB deletes expired items late (DynamoDB Local never): they are left out here.
  const now = Math.floor(Date.now() / 1000);
  return {
    items: page.items.map(deliveryOf).filter((d) => d.expiresAt === undefined || d.expiresAt > now),
    nextCursor: page.nextCursor,
  };
}

/** An endpoint's lane in the WebhookDue index (its partition key, `dueShard`). */
const laneOf = (endpointId: string) => `LANE#${endpointId}`;

/** A due delivery as the WebhookDue index holds it: what a claim needs. */
export interface DueDelivery {
  endpointId: string;
  eventId: string;
  deliverAt: string;
}

const dueOf = (item: Record<string, unknown>): DueDelivery => ({
  endpointId: (item.PK as string).slice('WHD#'.length),
  eventId: (item.SK as string).slice('DLV#'.length),
  deliverAt: item.deliverAt as string,
});

/**
 * One endpoint's deliveries due by `bound` (deliverAt at most it), longest due first, a
 * page of `pageSize` at a time: one keys-only Query of its lane per page.
 */
export async function* dueInLane(
  endpointId: string,
  bound: string,
  pageSize: number,
): AsyncGenerator<DueDelivery[]> {
  for await (const items of queryPages({
    TableName: tableName(),
    IndexName: 'WebhookDue',
    KeyConditionExpression: 'dueShard = :lane AND deliverAt <= :bound',
    ExpressionAttributeValues: { ':lane': laneOf(endpointId), ':bound': bound },
    Limit: pageSize,
  })) {
    yield items.map(dueOf);
  }
}

/**
 * Moves what is pending in the shards written before lanes into the lanes (each unless a
 * worker claimed it meanwhile), a page of the old shards at a time, its moves at once; an
 * endpoint not among `endpointIds` (deleted before lanes) gets its GONE marker once, so the
 * job cancels its deliveries in its lane. No page starts after `deadline`: a backlog from
 * before lanes is moved over several runs, each still sending. A run does this first;
 * once the old shards are empty, it is a Query per shard finding nothing.
 */
export async function moveIntoLanes(
  endpointIds: Set<string>,
  now: Date,
  deadline = Number.POSITIVE_INFINITY,
): Promise<number> {
  let moved = 0;
  const marked = new Set<string>();
  for await (const items of dueItems('WebhookDue', '9999')) {
    if (Date.now() > deadline) break;
    const dues = items.map(dueOf);
    for (const endpointId of new Set(dues.map((d) => d.endpointId))) {
      if (endpointIds.has(endpointId) || marked.has(endpointId)) continue;
      marked.add(endpointId);
      await db().send(
        new PutCommand({
          TableName: tableName(),
          Item: { ...keys.webhookGone(endpointId), id: endpointId, at: now.toISOString() },
        }),
      );
    }
    await Promise.all(
      dues.map(async (d) => {
        const done = await writeIf(
          new UpdateCommand({
            TableName: tableName(),
            Key: keys.webhookDelivery(d.endpointId, d.eventId),
            UpdateExpression: 'SET dueShard = :lane',
            ConditionExpression: 'deliverAt = :seen',
            ExpressionAttributeValues: { ':lane': laneOf(d.endpointId), ':seen': d.deliverAt },
          }),
        );
        if (done) moved += 1;
      }),
    );
  }
  return moved;
}

/**
 * Claims a due delivery for one attempt: moves its deliverAt from what was read to
 * `leaseUntil` (when it is due again should this attempt never report). The delivery,
 * or undefined if another worker claimed it first or it is no longer due.
 */
export async function claimDelivery(
  endpointId: string,
  eventId: string,
  seen: string,
  leaseUntil: string,
): Promise<Delivery | undefined> {
  try {
    const { Attributes } = await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.webhookDelivery(endpointId, eventId),
        UpdateExpression: 'SET deliverAt = :lease',
        ConditionExpression: 'deliverAt = :seen AND #status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':seen': seen, ':lease': leaseUntil, ':pending': 'pending' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes ? deliveryOf(Attributes) : undefined;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw error;
  }
}

/**
 * A claimed delivery whose endpoint is gone: `cancelled`, out of the due index, its
 * attempts and last outcome as they were; false if the claim (`lease`) no longer holds.
 */
export async function cancelDelivery(
  delivery: Pick<Delivery, 'endpointId' | 'eventId'>,
  lease: string,
  expiresAt: number,
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.webhookDelivery(delivery.endpointId, delivery.eventId),
      UpdateExpression:
        'SET #status = :cancelled, expiresAt = :expires REMOVE nextAttemptAt, deliverAt, dueShard',
      ConditionExpression: 'deliverAt = :lease',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':cancelled': 'cancelled',
        ':expires': expiresAt,
        ':lease': lease,
      },
    }),
  );
}

/**
 * An attempt's outcome, if the claim (`lease`) still holds: delivered or failed for good
 * (out of the due index), or pending until `nextAttemptAt`.
 */
export async function recordAttempt(
  delivery: Pick<Delivery, 'endpointId' | 'eventId'>,
  lease: string,
  outcome: {
    status: DeliveryStatus;
    at: string;
    statusCode?: number;
    error?: string;
    nextAttemptAt?: string;
    /** When it leaves the log (epoch seconds): set once it is delivered or failed. */
    expiresAt?: number;
  },
): Promise<boolean> {
  const sets = ['#status = :status', 'attempts = attempts + :one', 'lastAttemptAt = :at'];
  const removes: string[] = [];
  const values: Record<string, unknown> = {
    ':status': outcome.status,
    ':one': 1,
    ':at': outcome.at,
    ':lease': lease,
  };
  if (outcome.statusCode !== undefined) {
    sets.push('lastStatusCode = :code');
    values[':code'] = outcome.statusCode;
  } else removes.push('lastStatusCode');
  if (outcome.error !== undefined) {
    sets.push('lastError = :error');
    values[':error'] = outcome.error;
  } else removes.push('lastError');
  if (outcome.expiresAt !== undefined) {
    sets.push('expiresAt = :expires');
    values[':expires'] = outcome.expiresAt;
  }
  if (outcome.nextAttemptAt !== undefined) {
    sets.push('nextAttemptAt = :next', 'deliverAt = :next');
    values[':next'] = outcome.nextAttemptAt;
  } else removes.push('nextAttemptAt', 'deliverAt', 'dueShard');
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.webhookDelivery(delivery.endpointId, delivery.eventId),
      UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: 'deliverAt = :lease',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    }),
  );
}
