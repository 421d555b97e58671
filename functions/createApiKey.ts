import { httpHandler } from '../lib/http/handler.ts';
import { createApiKeySchema } from '../lib/schemas/apiKeys.ts';
import { createApiKey } from '../lib/usecases/apiKeys.ts';

export const handler = httpHandler('POST /v1/api-keys', async (req) => ({
  status: 201,
  body: await createApiKey(req.body(createApiKeySchema)),
}));
