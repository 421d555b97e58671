import { httpHandler } from '../lib/http/handler.ts';
import { removeEndpoint } from '../lib/usecases/webhookEndpoints.ts';

export const handler = httpHandler('DELETE /v1/webhook-endpoints/{id}', async (req) => {
  await removeEndpoint(req.param('id'));
  return { status: 204 };
});
