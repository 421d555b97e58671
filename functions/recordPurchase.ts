import { countIf, httpHandler } from '../lib/http/handler.ts';
import { recordPurchaseSchema } from '../lib/schemas.ts';
import { recordPurchase } from '../lib/usecases/purchases.ts';

export const handler = httpHandler('POST /v1/purchases', async (req) => {
  const idempotency = req.idempotency();
  const reply = await recordPurchase(req.principal, req.body(recordPurchaseSchema), idempotency);
  countIf(reply, 'Purchases');
  countIf(reply, 'PointsEarned', (reply.body as { pointsEarned: number }).pointsEarned);
  return reply;
});
