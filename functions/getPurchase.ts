import { httpHandler } from '../lib/http/handler.ts';
import { readPurchase } from '../lib/usecases/purchases.ts';

export const handler = httpHandler('GET /v1/purchases/{id}', async (req) => ({
  status: 200,
  body: await readPurchase(req.principal, req.param('id')),
}));
