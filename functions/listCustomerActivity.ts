import { httpHandler } from '../lib/http/handler.ts';
import { pageQuerySchema } from '../lib/schemas/common.ts';
import { customerActivity } from '../lib/usecases/customers.ts';

export const handler = httpHandler('GET /v1/customers/{id}/activity', async (req) => {
  const { limit, cursor } = req.query(pageQuerySchema);
  return { status: 200, body: await customerActivity(req.param('id'), limit, cursor) };
});
