import { httpHandler } from '../lib/http/handler.ts';
import { createSessionToken } from '../lib/usecases/customers.ts';

export const handler = httpHandler('POST /v1/customers/{id}/session-tokens', async (req) => ({
  status: 201,
  body: await createSessionToken(req.param('id')),
}));
