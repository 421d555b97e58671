import { httpHandler } from '../lib/http/handler.ts';
import { lapsedQuerySchema } from '../lib/schemas/reports.ts';
import { listLapsedCustomers } from '../lib/usecases/lapse.ts';

export const handler = httpHandler('GET /v1/lapsed-customers', async (req) => ({
  status: 200,
  body: await listLapsedCustomers(req.query(lapsedQuerySchema)),
}));
