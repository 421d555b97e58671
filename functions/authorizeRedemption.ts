import { countIf, httpHandler, replyWith } from '../lib/http/handler.ts';
import { authorizeRedemptionSchema } from '../lib/schemas/redemptions.ts';
import { authorizeRedemption } from '../lib/usecases/redemptions.ts';

export const handler = httpHandler('POST /v1/redemptions', async (req) => {
  const idempotency = req.idempotency();
  const input = req.body(authorizeRedemptionSchema);
  const answer = await authorizeRedemption(req.principal, input, idempotency);
  countIf(answer, 'Redemptions');
  countIf(answer, 'PointsRedeemed', answer.value.points);
  return replyWith(201, answer);
});
