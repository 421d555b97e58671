import { countIf, httpHandler } from '../lib/http/handler.ts';
import { refundSchema } from '../lib/schemas.ts';
import { refundPurchase } from '../lib/usecases/purchases.ts';

export const handler = httpHandler('POST /v1/purchases/{id}/refunds', async (req) => {
  const idempotency = req.idempotency();
  const reply = await refundPurchase(
    req.principal,
    req.param('id'),
    req.body(refundSchema),
    idempotency,
  );
  countIf(reply, 'Refunds');
  countIf(reply, 'PointsReversed', (reply.body as { pointsReversed: number }).pointsReversed);
  return reply;
});
