import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EVENT_SOURCE, publishOutbox } from '../../lib/events/publisher.ts';

const bus = mockClient(EventBridgeClient);

function record(seq: number, item: Record<string, unknown>, eventName = 'INSERT'): DynamoDBRecord {
  return {
    eventName: eventName as DynamoDBRecord['eventName'],
    dynamodb: { SequenceNumber: String(seq), NewImage: marshall(item) as any },
  };
}

const event = (i: number) => ({
  PK: 'EVENTS',
  SK: `EVT#evt_${i}`,
  id: `evt_${i}`,
  type: 'tier.changed',
  at: '2026-11-24T12:00:00.000Z',
  customerId: `cus_${i}`,
  data: { to: { id: 'gold' } },
});

const stream = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

beforeEach(() => bus.reset());

describe('the outbox publisher', () => {
  it('puts each new event on the bus, 10 per call, and skips other items', async () => {
    bus.on(PutEventsCommand).callsFake(async (input) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map(() => ({ EventId: 'x' })),
    }));
    const records = [
      record(1, { PK: 'CUS#cus_1', SK: 'PROFILE' }),
      ...Array.from({ length: 12 }, (_, i) => record(10 + i, event(i))),
      record(99, event(99), 'MODIFY'),
    ];
    const result = await publishOutbox(stream(records), 'the-bus');
    expect(result.batchItemFailures).toEqual([]);
    const calls = bus.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 2]);
    const first = calls[0]!.args[0].input.Entries![0]!;
    expect(first).toMatchObject({
      EventBusName: 'the-bus',
      Source: EVENT_SOURCE,
      DetailType: 'tier.changed',
    });
    expect(JSON.parse(first.Detail as string)).toEqual({
      id: 'evt_0',
      type: 'tier.changed',
      at: '2026-11-24T12:00:00.000Z',
      customerId: 'cus_0',
      data: { to: { id: 'gold' } },
    });
  });

  it('reports the first entry EventBridge refused, so the retry starts there', async () => {
    bus.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure' }, { EventId: 'c' }],
    });
    const records = [record(1, event(1)), record(2, event(2)), record(3, event(3))];
    expect(await publishOutbox(stream(records), 'b')).toEqual({
      batchItemFailures: [{ itemIdentifier: '2' }],
    });
  });

  it('reports the whole chunk when the call itself fails, and nothing after it is sent', async () => {
    bus.on(PutEventsCommand).rejects(new Error('throttled'));
    const records = Array.from({ length: 15 }, (_, i) => record(100 + i, event(i)));
    expect(await publishOutbox(stream(records), 'b')).toEqual({
      batchItemFailures: [{ itemIdentifier: '100' }],
    });
    expect(bus.commandCalls(PutEventsCommand)).toHaveLength(1);
  });
});
