import { httpHandler } from '../lib/http/handler.ts';
import { pingEndpoint } from '../lib/usecases/webhookEndpoints.ts';

export const handler = httpHandler('POST /v1/webhook-endpoints/{id}/test', async (req) => ({
  status: 200,
  body: await pingEndpoint(req.param('id')),
}));
