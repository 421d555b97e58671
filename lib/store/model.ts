import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
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

export async function putModel(model: ModelParams): Promise<void> {
  await db().send(new PutCommand({ TableName: tableName(), Item: { ...keys.model(), model } }));
  cached = { model, until: Date.now() + config().programCacheMs };
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
