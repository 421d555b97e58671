import { httpHandler } from '../lib/http/handler.ts';
import { readRedemption } from '../lib/usecases/redemptions.ts';

export const handler = httpHandler('GET /v1/redemptions/{id}', async (req) => ({
  status: 200,
  body: await readRedemption(req.principal, req.param('id')),
}));
