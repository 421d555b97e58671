import { httpHandler, replyWith } from '../lib/http/handler.ts';
import { requestExport } from '../lib/usecases/exports.ts';

export const handler = httpHandler('POST /v1/customers/{id}/exports', async (req) => {
  const idempotency = req.idempotency();
  return replyWith(202, await requestExport(req.principal, req.param('id'), idempotency));
});
