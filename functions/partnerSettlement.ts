import { httpHandler } from '../lib/http/handler.ts';
import { settlementQuerySchema } from '../lib/schemas/redemptions.ts';
import { partnerSettlement } from '../lib/usecases/redemptions.ts';

export const handler = httpHandler('GET /v1/partners/{id}/settlement', async (req) => ({
  status: 200,
  body: await partnerSettlement(req.principal, req.param('id'), req.query(settlementQuerySchema)),
}));
