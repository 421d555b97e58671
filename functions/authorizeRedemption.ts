import { countIf, httpHandler } from '../lib/http/handler.ts';
import { authorizeRedemptionSchema } from '../lib/schemas.ts';
import { authorizeRedemption } from '../lib/usecases/redemptions.ts';

export const handler = httpHandler('POST /v1/redemptions', async (req) => {
  const idempotency = req.idempotency();
  const input = req.body(authorizeRedemptionSchema);
  const reply = await authorizeRedemption(req.principal, input, idempotency);
  countIf(reply, 'Redemptions');
  countIf(reply, 'PointsRedeemed', (reply.body as { points: number }).points);
  return reply;
});
