import type { DynamoDBStreamEvent } from 'aws-lambda';
import { publishOutbox } from '../lib/events/publisher.ts';

/** The table's stream -> the event bus (the outbox publisher; AWS only). */
export const handler = (event: DynamoDBStreamEvent) =>
  publishOutbox(event, process.env.LOYALTY_EVENT_BUS as string);
