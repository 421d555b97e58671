import { httpHandler } from '../lib/http/handler.ts';
import { refundSchema } from '../lib/schemas.ts';
import { refundPurchase } from '../lib/usecases/purchases.ts';

export const handler = httpHandler('POST /v1/purchases/{id}/refunds', async (req) => {
  const idempotency = req.idempotency();
  return refundPurchase(req.principal, req.param('id'), req.body(refundSchema), idempotency);
});
