import { httpHandler } from '../lib/http/handler.ts';
import { readCustomer } from '../lib/usecases/customers.ts';

export const handler = httpHandler('GET /v1/customers/{id}', async (req) => ({
  status: 200,
  body: await readCustomer(req.param('id')),
}));
