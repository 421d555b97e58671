import { httpHandler } from '../lib/http/handler.ts';
import { readEndpoint } from '../lib/usecases/webhookEndpoints.ts';

export const handler = httpHandler('GET /v1/webhook-endpoints/{id}', async (req) => ({
  status: 200,
  body: await readEndpoint(req.param('id')),
}));
