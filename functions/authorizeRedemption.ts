import { httpHandler } from '../lib/http/handler.ts';
import { authorizeRedemptionSchema } from '../lib/schemas.ts';
import { authorizeRedemption } from '../lib/usecases/redemptions.ts';

export const handler = httpHandler('POST /v1/redemptions', async (req) => {
  const idempotency = req.idempotency();
  return authorizeRedemption(req.principal, req.body(authorizeRedemptionSchema), idempotency);
});
