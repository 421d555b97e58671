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
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: keys.lapseQuality() }),
  );
  return Item?.report as Record<string, unknown> | undefined;
}

/**
 * Stores the lapse flag's quality; with `event` (program.lapse-calibrated), the event goes
 * to the outbox in the same transaction.
 */
export async function putLapseQuality(
  report: Record<string, unknown>,
  event?: Omit<DomainEvent, 'type'> & { type: EventType },
): Promise<void> {
  const put = { TableName: tableName(), Item: { ...keys.lapseQuality(), report } };
  if (!event) {
    await db().send(new PutCommand(put));
    return;
  }
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
