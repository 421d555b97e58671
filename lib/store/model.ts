import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.ts';
import type { DomainEvent, EventType } from '../domain/ledger.ts';
import type { ModelParams } from '../domain/model.ts';
import { db, tableName } from './client.ts';
import { keys } from './keys.ts';

/** Cached like the program: the model changes once a day. */
let cached: { model: ModelParams | undefined; until: number } | undefined;

export async function getModel(now = Date.now()): Promise<ModelParams | undefined> {
  if (cached && cached.until > now) return cached.model;
  const { Item } = await db().send(new GetCommand({ TableName: tableName(), Key: keys.model() }));
  const model = Item?.model as ModelParams | undefined;
  cached = { model, until: now + config().programCacheMs };
  return model;
}

/**
 * Stores the model fitted on the data as it stood after `importsSeen` import batches
 * (getModelItem's `imports` read before the fit read its customers; absent: as many as
 * now, for a model put by hand). The import counter is kept.
 */
export async function putModel(model: ModelParams, importsSeen?: number): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.model(),
      UpdateExpression:
        importsSeen === undefined
          ? 'SET #model = :model, importsSeen = if_not_exists(imports, :zero)'
          : 'SET #model = :model, importsSeen = :seen',
      ExpressionAttributeNames: { '#model': 'model' },
      ExpressionAttributeValues: {
        ':model': model,
        ...(importsSeen === undefined ? { ':zero': 0 } : { ':seen': importsSeen }),
      },
    }),
  );
  cached = { model, until: Date.now() + config().programCacheMs };
}

/**
 * The stored model (read consistently, not cached), how many times purchase import
 * batches have marked it (markModelStale), and whether one did after the model's fit
 * began reading (`stale`: the next lapse scan refits on all of it).
 */
export async function getModelItem(): Promise<{
  model: ModelParams | undefined;
  imports: number;
  stale: boolean;
}> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.model(), ConsistentRead: true }),
  );
  const model = Item?.model as ModelParams | undefined;
  const imports = (Item?.imports as number | undefined) ?? 0;
  const seen = (Item?.importsSeen as number | undefined) ?? 0;
  return { model, imports, stale: model !== undefined && imports > seen };
}

/**
 * Marks the model stale: purchases are being imported (a small write before an import
 * batch's purchases and one after if any went in), so the model no longer speaks for the
 * history as it is.
 */
export async function markModelStale(): Promise<void> {
  await db().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: keys.model(),
      UpdateExpression: 'ADD imports :one',
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
}

let cachedQuality: { report: Record<string, unknown> | undefined; until: number } | undefined;

/**
 * The lapse flag's quality for purchases in calibrated mode (the thresholds in force come
 * from it), cached like the program: one read a minute per process, not one a purchase.
 */
export async function getCachedLapseQuality(
  now = Date.now(),
): Promise<Record<string, unknown> | undefined> {
  if (cachedQuality && cachedQuality.until > now) return cachedQuality.report;
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.lapseQuality() }),
  );
  const report = Item?.report as Record<string, unknown> | undefined;
  cachedQuality = { report, until: now + config().programCacheMs };
  return report;
}

/** The lapse flag's quality as the last lapse scan measured it (read rarely: not cached). */
export async function getLapseQuality(): Promise<Record<string, unknown> | undefined> {
  return (await getLapseQualityItem()).report;
}

/** The stored quality and how many runs have stored one (what the next run must find). */
export async function getLapseQualityItem(): Promise<{
  report: Record<string, unknown> | undefined;
  runs: number;
}> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.lapseQuality(), ConsistentRead: true }),
  );
  return {
    report: Item?.report as Record<string, unknown> | undefined,
    runs: (Item?.runs as number | undefined) ?? 0,
  };
}

/**
 * Stores the lapse flag's quality; with `event` (program.lapse-calibrated), the event goes
 * to the outbox in the same transaction. With `afterRuns` (what getLapseQualityItem
 * said), only if no other run stored one since: of two overlapping runs, one records the
 * change, never both. False when another run was first.
 */
export async function putLapseQuality(
  report: Record<string, unknown>,
  event?: Omit<DomainEvent, 'type'> & { type: EventType },
  afterRuns?: number,
): Promise<boolean> {
  const put = {
    TableName: tableName(),
    Item: { ...keys.lapseQuality(), report, runs: (afterRuns ?? 0) + 1 },
    ...(afterRuns !== undefined && {
      ConditionExpression: afterRuns === 0 ? 'attribute_not_exists(runs)' : 'runs = :runs',
      ...(afterRuns !== 0 && { ExpressionAttributeValues: { ':runs': afterRuns } }),
    }),
  };
  // This process reads the new thresholds in force at once; others within programCacheMs.
  cachedQuality = undefined;
  try {
    if (!event) await db().send(new PutCommand(put));
    else {
      await db().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: put },
            {
              Put: {
                TableName: tableName(),
                Item: { ...keys.event(event.id), ...event },
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
          ],
        }),
      );
    }
    return true;
  } catch (error) {
    // Only the counter's condition means another run was first; any other failure is one.
    const { name, CancellationReasons } = error as Error & {
      CancellationReasons?: { Code?: string }[];
    };
    if (name === 'ConditionalCheckFailedException') return false;
    if (
      name === 'TransactionCanceledException' &&
      CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
    ) {
      return false;
    }
    throw error;
  }
}
