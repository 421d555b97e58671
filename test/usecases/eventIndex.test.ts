import { randomUUID } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { newId } from '../../lib/ids.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { customerEventPages } from '../../lib/store/exports.ts';
import { EVENTS_PARTITION, keys } from '../../lib/store/keys.ts';
import { forgetCachedProgram } from '../../lib/store/program.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { indexCustomerEvents } from '../../lib/usecases/eventIndex.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { replaceProgram } from '../../lib/usecases/program.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/**
 * The one-time pass that gives outbox events written before the customer-event index
 * their place under their customer (lib/usecases/eventIndex.ts), on DynamoDB Local, and
 * the export's read of a customer's events before and after it.
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });

/** An event as a version before the index wrote it: no GSI1 keys. */
async function oldEvent(customerId: string | null, n: number) {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, n));
  const event = {
    id: newId('evt', at.getTime()),
    type: customerId === null ? 'program.lapse-calibrated' : 'points.expiring',
    at: at.toISOString(),
    customerId,
    data: { n },
  };
  await db().send(
    new PutCommand({ TableName: tableName(), Item: { ...keys.event(event.id), ...event } }),
  );
  return event;
}

async function eventsOf(customerId: string) {
  const all = [];
  for await (const page of customerEventPages(customerId)) all.push(...page);
  return all;
}

let ann: string;
let bob: string;
const annEvents: Awaited<ReturnType<typeof oldEvent>>[] = [];

beforeAll(async () => {
  await startTestTable();
  await replaceProgram(defaultProgram);
  forgetCachedProgram();
  ann = (await enrolCustomer({ externalId: `evt-ann-${randomUUID()}` })).id;
  bob = (await enrolCustomer({ externalId: `evt-bob-${randomUUID()}` })).id;
  // 130 old events: more than a page of the pass, Ann's among Bob's and the programme's.
  for (let n = 0; n < 130; n++) {
    const who = n % 3 === 0 ? ann : n % 3 === 1 ? bob : null;
    const event = await oldEvent(who, n);
    if (who === ann) annEvents.push(event);
  }
});

describe('the customer-event index pass', () => {
  it('reads the old events by the whole outbox before it, and by the index after it', async () => {
    expect((await eventsOf(ann)).map((e) => e.id)).toEqual(annEvents.map((e) => e.id));
    // Out of time at once: nothing done, and the next run starts over.
    expect(await indexCustomerEvents(Date.now() - 1)).toBe(false);
    expect((await storedItem(keys.event(annEvents[0]?.id as string)))?.GSI1PK).toBeUndefined();
    expect(await indexCustomerEvents()).toBe(true);
    for (const e of annEvents) {
      expect((await storedItem(keys.event(e.id)))?.GSI1PK).toBe(`EVENTS#${ann}`);
    }
    // The programme's events have no customer: no place in the index.
    const { Items = [] } = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk',
        FilterExpression: 'attribute_not_exists(customerId) OR customerId = :none',
        ExpressionAttributeValues: { ':pk': EVENTS_PARTITION, ':none': null },
      }),
    );
    expect(Items.length).toBeGreaterThan(40);
    expect(Items.every((item) => item.GSI1PK === undefined)).toBe(true);
    // Now by the index: the same events, oldest first.
    expect((await eventsOf(ann)).map((e) => e.id)).toEqual(annEvents.map((e) => e.id));
    expect(await indexCustomerEvents()).toBe(true);
  });

  it('gives a new event its place when it is written', async () => {
    const storeId = (await createPlace('store', 'Events street')).id;
    const silver = defaultProgram.tiers[1]?.qualifyingSpend as number;
    const answer = await recordPurchase(
      { keyId: 'key_pos', role: 'pos', storeId },
      { customerId: bob, total: usd(silver) },
      { scope: 'k', key: randomUUID(), requestHash: 'h' },
    );
    expect(answer.value.customer.tier.id).toBe(defaultProgram.tiers[1]?.id);
    const events = await eventsOf(bob);
    const tierChange = events.find((e) => e.type === 'tier.changed');
    expect(tierChange).toBeDefined();
    expect((await storedItem(keys.event(tierChange?.id as string)))?.GSI1PK).toBe(`EVENTS#${bob}`);
  });
});
