import { httpHandler } from '../lib/http/handler.ts';
import { pageQuerySchema } from '../lib/schemas/common.ts';
import { listPlaces } from '../lib/usecases/places.ts';

export const handler = httpHandler('GET /v1/stores', async (req) => {
  const { limit, cursor } = req.query(pageQuerySchema);
  return { status: 200, body: await listPlaces('store', limit, cursor) };
});
