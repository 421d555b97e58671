import { httpHandler } from '../lib/http/handler.ts';
import { createRedemptionCode } from '../lib/usecases/redemptionCodes.ts';

export const handler = httpHandler('POST /v1/me/redemption-codes', async (req) => ({
  status: 201,
  body: await createRedemptionCode(req.principal.customerId as string),
}));
