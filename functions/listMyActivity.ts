import { httpHandler } from '../lib/http/handler.ts';
import { pageQuerySchema } from '../lib/schemas/common.ts';
import { customerActivity } from '../lib/usecases/customers.ts';

export const handler = httpHandler('GET /v1/me/activity', async (req) => {
  const { limit, cursor } = req.query(pageQuerySchema);
  const customerId = req.principal.customerId as string;
  return { status: 200, body: await customerActivity(customerId, limit, cursor) };
});
