import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName, writeIf } from '../store/client.ts';
import { remindLotOf } from '../store/customers.ts';
import { DUE_SHARDS, keys } from '../store/keys.ts';
import { queryPages } from '../store/pagination.ts';
import { batchGet } from '../store/reads.ts';
import { inParallel } from './parallel.ts';

const STATE = keys.remindIndexState();

/**
 * Customers stored before the RemindDue index existed carry no `remindLot`, so no
 * reminder would find them until their next change. Once, the expiry-reminders job gives
 * it to every customer with lots (the ExpireDue index lists exactly them), shard by shard,
 * resuming where it stopped; a customer that changes meanwhile gets it from its own write.
 * True once every customer has it.
 */
export async function indexReminders(deadline = Number.POSITIVE_INFINITY): Promise<boolean> {
  const { Item } = await db().send(
    new GetCommand({ TableName: tableName(), Key: STATE, ConsistentRead: true }),
  );
  if (Item?.done === true) return true;
  const first = (Item?.nextShard as number | undefined) ?? 0;
  const save = (done: boolean, nextShard: number) =>
    db().send(new PutCommand({ TableName: tableName(), Item: { ...STATE, done, nextShard } }));
  for (let shard = first; shard < DUE_SHARDS; shard++) {
    for await (const page of queryPages({
      TableName: tableName(),
      IndexName: 'ExpireDue',
      KeyConditionExpression: 'dueShard = :shard',
      ExpressionAttributeValues: { ':shard': String(shard) },
      Limit: 100,
    })) {
      if (Date.now() > deadline) {
        await save(false, shard);
        return false;
      }
      const customers = await batchGet(
        page.map((k) => keys.customer(keys.customerIdOf(k.PK as string))),
      );
      const missing = customers.filter((c) => c.remindLot === undefined);
      await inParallel(missing, 4, async (c) => {
        const remindLot = remindLotOf(c as Parameters<typeof remindLotOf>[0]);
        if (remindLot === undefined) return;
        // Refused when changed meanwhile: that write gave it its remindLot.
        await writeIf(
          new UpdateCommand({
            TableName: tableName(),
            Key: { PK: c.PK, SK: c.SK },
            UpdateExpression: 'SET remindLot = :lot',
            ConditionExpression: 'version = :version AND attribute_not_exists(remindLot)',
            ExpressionAttributeValues: { ':lot': remindLot, ':version': c.version },
          }),
        );
      });
    }
  }
  await save(true, DUE_SHARDS);
  return true;
}
