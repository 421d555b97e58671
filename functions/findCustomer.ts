import { httpHandler } from '../lib/http/handler.ts';
import { customerLookupSchema } from '../lib/schemas/customers.ts';
import { findCustomer } from '../lib/usecases/customers.ts';

export const handler = httpHandler('GET /v1/customers', async (req) => ({
  status: 200,
  body: await findCustomer(req.query(customerLookupSchema)),
}));
