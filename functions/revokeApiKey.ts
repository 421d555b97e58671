import { httpHandler } from '../lib/http/handler.ts';
import { revokeKey } from '../lib/usecases/apiKeys.ts';

export const handler = httpHandler('DELETE /v1/api-keys/{id}', async (req) => {
  await revokeKey(req.param('id'));
  return { status: 204 };
});
