import { httpHandler } from '../lib/http/handler.ts';
import { createWebhookEndpointSchema } from '../lib/schemas/webhooks.ts';
import { createEndpoint } from '../lib/usecases/webhookEndpoints.ts';

export const handler = httpHandler('POST /v1/webhook-endpoints', async (req) => ({
  status: 201,
  body: await createEndpoint(req.body(createWebhookEndpointSchema)),
}));
