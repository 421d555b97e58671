import { countIf, httpHandler, replyWith } from '../lib/http/handler.ts';
import { eraseCustomer } from '../lib/usecases/dataRights.ts';

export const handler = httpHandler('POST /v1/me/erase', async (req) => {
  const answer = await eraseCustomer(req.principal.customerId as string, req.idempotency());
  countIf(answer, 'Erasures');
  return replyWith(200, answer);
});
