import { httpHandler } from '../lib/http/handler.ts';
import { pageQuerySchema } from '../lib/schemas/common.ts';
import { listWebhookEndpoints } from '../lib/usecases/webhookEndpoints.ts';

export const handler = httpHandler('GET /v1/webhook-endpoints', async (req) => {
  const { limit, cursor } = req.query(pageQuerySchema);
  return { status: 200, body: await listWebhookEndpoints(limit, cursor) };
});
