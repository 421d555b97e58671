import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { outboxEvent } from '../store/events.ts';

/** The `source` of every event the programme puts on its bus. */
export const EVENT_SOURCE = 'loyalty';

/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_MAX = 10;

let client: EventBridgeClient | undefined;
const eventBridge = () => {
  client ??= new EventBridgeClient({});
  return client;
};

/**
 * Publishes the outbox's new events (from the table's stream) to the bus, in stream order.
 * Delivery is at least once: a failed entry and every record after it are reported as
 * batch item failures, so Lambda retries from there, and consumers drop duplicates by
 * `detail.id`. A record that keeps failing goes to the dead-letter queue, not lost.
 */
export async function publishOutbox(
  event: DynamoDBStreamEvent,
  busName: string,
): Promise<DynamoDBBatchResponse> {
  const records = event.Records.flatMap((record) => {
    const domainEvent = outboxEvent(record);
    return domainEvent ? [{ record, domainEvent }] : [];
  });
  for (let i = 0; i < records.length; i += PUT_EVENTS_MAX) {
    const chunk = records.slice(i, i + PUT_EVENTS_MAX);
    let failedAt = -1;
    try {
      const result = await eventBridge().send(
        new PutEventsCommand({
          Entries: chunk.map(({ domainEvent }) => ({
            EventBusName: busName,
            Source: EVENT_SOURCE,
            DetailType: domainEvent.type,
            Time: new Date(domainEvent.at),
            Detail: JSON.stringify(domainEvent),
          })),
        }),
      );
      failedAt = (result.Entries ?? []).findIndex((entry) => entry.ErrorCode !== undefined);
    } catch {
      failedAt = 0;
    }
    if (failedAt >= 0) {
      const first = chunk[failedAt]?.record.dynamodb?.SequenceNumber as string;
      return { batchItemFailures: [{ itemIdentifier: first }] };
    }
  }
  return { batchItemFailures: [] };
}
