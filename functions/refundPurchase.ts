import { countIf, httpHandler, replyWith } from '../lib/http/handler.ts';
import { refundSchema } from '../lib/schemas/purchases.ts';
import { refundPurchase } from '../lib/usecases/purchases.ts';

export const handler = httpHandler('POST /v1/purchases/{id}/refunds', async (req) => {
  const idempotency = req.idempotency();
  const answer = await refundPurchase(
    req.principal,
    req.param('id'),
    req.body(refundSchema),
    idempotency,
  );
  countIf(answer, 'Refunds');
  countIf(answer, 'PointsReversed', answer.value.pointsReversed);
  return replyWith(201, answer);
});
