import { httpHandler, replyWith } from '../lib/http/handler.ts';
import { requestExport } from '../lib/usecases/exports.ts';

export const handler = httpHandler('POST /v1/me/exports', async (req) => {
  const idempotency = req.idempotency();
  const customerId = req.principal.customerId as string;
  return replyWith(202, await requestExport(req.principal, customerId, idempotency));
});
