import { countIf, httpHandler, replyWith } from '../lib/http/handler.ts';
import { adjustmentSchema } from '../lib/schemas/customers.ts';
import { adjustPoints } from '../lib/usecases/adjustments.ts';

export const handler = httpHandler('POST /v1/customers/{id}/adjustments', async (req) => {
  const idempotency = req.idempotency();
  const answer = await adjustPoints(req.param('id'), req.body(adjustmentSchema), idempotency);
  countIf(answer, 'Adjustments');
  return replyWith(201, answer);
});
