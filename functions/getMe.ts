import { httpHandler } from '../lib/http/handler.ts';
import { readCustomer } from '../lib/usecases/customers.ts';

export const handler = httpHandler('GET /v1/me', async (req) => ({
  status: 200,
  body: await readCustomer(req.principal.customerId as string),
}));
