/** Webhook endpoints: the event types one may subscribe to, and creating one. */
import * as z from 'zod/mini';
import { EVENT_TYPES } from '../domain/ledger.ts';
import { line, noControl } from './common.ts';

/** What a webhook endpoint may subscribe to: any type of the outbox's events, or all. */
export const webhookEventTypes = [...EVENT_TYPES, '*'] as const;

export const createWebhookEndpointSchema = z
  .object({
    url: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(2048),
        noControl,
        z.describe(
          'https; http only to a loopback address on the local runtime. Private, loopback, ' +
            'link-local and metadata addresses are refused, also when a name resolves to one.',
        ),
      ),
    events: z
      .array(z.enum(webhookEventTypes))
      .check(
        z.minLength(1),
        z.maxLength(webhookEventTypes.length),
        z.describe('The event types to receive, or ["*"] for all'),
      ),
    description: z.optional(line(500)),
  })
  .check(z.meta({ id: 'CreateWebhookEndpoint' }));
