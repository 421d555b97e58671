import { httpHandler } from '../lib/http/handler.ts';
import { recordPurchaseSchema } from '../lib/schemas/purchases.ts';
import { quotePurchase } from '../lib/usecases/purchases.ts';

export const handler = httpHandler('POST /v1/purchases/quote', async (req) => ({
  status: 200,
  body: await quotePurchase(req.principal, req.body(recordPurchaseSchema)),
}));
