import { httpHandler } from '../lib/http/handler.ts';
import { nameSchema } from '../lib/schemas/common.ts';
import { createPlace } from '../lib/usecases/places.ts';

export const handler = httpHandler('POST /v1/stores', async (req) => ({
  status: 201,
  body: await createPlace('store', req.body(nameSchema).name),
}));
