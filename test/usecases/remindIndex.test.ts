import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import { forgetCachedProgram } from '../../lib/store/program.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { replaceProgram } from '../../lib/usecases/program.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { indexReminders } from '../../lib/usecases/remindIndex.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/**
 * The one-time pass that gives customers stored before the RemindDue index their
 * `remindLot` (lib/usecases/remindIndex.ts), on DynamoDB Local: customers made as an older
 * version stored them (the attribute removed, the pass's state deleted).
 */
type Pos = Parameters<typeof recordPurchase>[0];
type Idem = Parameters<typeof recordPurchase>[2];
const key = (): Idem => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const usd = (amount: number) => ({ amount, currency: 'USD' });

const profile = (id: string) => storedItem(keys.customer(id));
const state = async () =>
  (
    await db().send(
      new GetCommand({
        TableName: tableName(),
        Key: keys.remindIndexState(),
        ConsistentRead: true,
      }),
    )
  ).Item;
/** As a version before the index stored it: no remindLot, and no pass done yet. */
async function asBefore(ids: string[]) {
  for (const id of ids) {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.customer(id),
        UpdateExpression: 'REMOVE remindLot',
      }),
    );
  }
  await db().send(new DeleteCommand({ TableName: tableName(), Key: keys.remindIndexState() }));
}

const ids: string[] = [];
let lots: unknown[] = [];

beforeAll(async () => {
  await startTestTable();
  await replaceProgram({ ...defaultProgram, pointsExpireAfterDays: 365 });
  forgetCachedProgram();
  const pos: Pos = { keyId: 'key_pos', role: 'pos', storeId: (await createPlace('store', 'R')).id };
  for (let i = 0; i < 3; i++) {
    const id = (await enrolCustomer({ externalId: `remind-${i}` })).id;
    await recordPurchase(pos, { customerId: id, total: usd(1_000 * (i + 1)) }, key());
    ids.push(id);
  }
  // With points that expire, each customer's write gives it its remindLot.
  lots = await Promise.all(ids.map(async (id) => (await profile(id))?.remindLot));
  expect(lots.every((l) => l !== undefined)).toBe(true);
});

describe('indexReminders', () => {
  it('gives every customer with lots its remindLot back, once, and records the pass done', async () => {
    await asBefore(ids);
    for (const id of ids) expect((await profile(id))?.remindLot).toBeUndefined();
    const versions = await Promise.all(ids.map(async (id) => (await profile(id))?.version));

    expect(await indexReminders()).toBe(true);
    expect(await Promise.all(ids.map(async (id) => (await profile(id))?.remindLot))).toEqual(lots);
    // The customer's own item is not otherwise changed (its version stays).
    expect(await Promise.all(ids.map(async (id) => (await profile(id))?.version))).toEqual(
      versions,
    );
    expect(await state()).toMatchObject({ done: true });

    // Done: a second run reads the state only, and touches no customer.
    await asBefore([ids[0] as string]);
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: keys.remindIndexState(),
        UpdateExpression: 'SET done = :t',
        ExpressionAttributeValues: { ':t': true },
      }),
    );
    expect(await indexReminders()).toBe(true);
    expect((await profile(ids[0] as string))?.remindLot).toBeUndefined();
  });

  it('stops at its deadline, keeping where it was, and the next run finishes', async () => {
    await asBefore(ids);
    expect(await indexReminders(Date.now() - 1)).toBe(false);
    expect(await state()).toMatchObject({ done: false, nextShard: expect.any(Number) });
    for (const id of ids) expect((await profile(id))?.remindLot).toBeUndefined();
    expect(await indexReminders()).toBe(true);
    expect(await Promise.all(ids.map(async (id) => (await profile(id))?.remindLot))).toEqual(lots);
  });
});
