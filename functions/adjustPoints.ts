import { httpHandler } from '../lib/http/handler.ts';
import { adjustmentSchema } from '../lib/schemas.ts';
import { adjustPoints } from '../lib/usecases/lifecycle.ts';

export const handler = httpHandler('POST /v1/customers/{id}/adjustments', async (req) => {
  const idempotency = req.idempotency();
  return adjustPoints(req.param('id'), req.body(adjustmentSchema), idempotency);
});
