import { httpHandler } from '../lib/http/handler.ts';
import { nameSchema } from '../lib/schemas/common.ts';
import { createPlace } from '../lib/usecases/places.ts';

export const handler = httpHandler('POST /v1/partners', async (req) => ({
  status: 201,
  body: await createPlace('partner', req.body(nameSchema).name),
}));
