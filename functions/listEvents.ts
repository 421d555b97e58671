import { httpHandler } from '../lib/http/handler.ts';
import { pageQuerySchema } from '../lib/schemas/common.ts';
import { listEvents } from '../lib/usecases/events.ts';

export const handler = httpHandler('GET /v1/events', async (req) => {
  const { limit, cursor } = req.query(pageQuerySchema);
  return { status: 200, body: await listEvents(limit, cursor) };
});
