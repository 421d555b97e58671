import { countIf, httpHandler, replyWith } from '../lib/http/handler.ts';
import { recordPurchaseSchema } from '../lib/schemas/purchases.ts';
import { recordPurchase } from '../lib/usecases/purchases.ts';

export const handler = httpHandler('POST /v1/purchases', async (req) => {
  const idempotency = req.idempotency();
  const answer = await recordPurchase(req.principal, req.body(recordPurchaseSchema), idempotency);
  countIf(answer, 'Purchases');
  countIf(answer, 'PointsEarned', answer.value.pointsEarned);
  return replyWith(201, answer);
});
