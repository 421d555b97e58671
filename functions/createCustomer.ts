import { httpHandler } from '../lib/http/handler.ts';
import { createCustomerSchema } from '../lib/schemas/customers.ts';
import { enrolCustomer } from '../lib/usecases/customers.ts';

export const handler = httpHandler('POST /v1/customers', async (req) => ({
  status: 201,
  body: await enrolCustomer(req.body(createCustomerSchema)),
}));
