import { httpHandler } from '../lib/http/handler.ts';
import { rotateSecret } from '../lib/usecases/webhookEndpoints.ts';

export const handler = httpHandler(
  'POST /v1/webhook-endpoints/{id}/rotate-secret',
  async (req) => ({ status: 201, body: await rotateSecret(req.param('id')) }),
);
