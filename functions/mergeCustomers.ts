import { countIf, httpHandler, replyWith } from '../lib/http/handler.ts';
import { mergeSchema } from '../lib/schemas/customers.ts';
import { mergeCustomers } from '../lib/usecases/dataRights.ts';

export const handler = httpHandler('POST /v1/customers/{id}/merge', async (req) => {
  const id = req.param('id');
  const idempotency = req.idempotency();
  const { from } = req.body(mergeSchema);
  const answer = await mergeCustomers(id, from, idempotency);
  countIf(answer, 'Merges');
  return replyWith(200, answer);
});
