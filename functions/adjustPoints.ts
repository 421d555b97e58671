import { countIf, httpHandler } from '../lib/http/handler.ts';
import { adjustmentSchema } from '../lib/schemas.ts';
import { adjustPoints } from '../lib/usecases/lifecycle.ts';

export const handler = httpHandler('POST /v1/customers/{id}/adjustments', async (req) => {
  const idempotency = req.idempotency();
  const reply = await adjustPoints(req.param('id'), req.body(adjustmentSchema), idempotency);
  countIf(reply, 'Adjustments');
  return reply;
});
