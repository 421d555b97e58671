import { httpHandler } from '../lib/http/handler.ts';
import { pageQuerySchema } from '../lib/schemas/common.ts';
import { listEndpointDeliveries } from '../lib/usecases/webhookEndpoints.ts';

export const handler = httpHandler('GET /v1/webhook-endpoints/{id}/deliveries', async (req) => {
  const { limit, cursor } = req.query(pageQuerySchema);
  return { status: 200, body: await listEndpointDeliveries(req.param('id'), limit, cursor) };
});
