import { httpHandler } from '../lib/http/handler.ts';
import { upliftQuerySchema } from '../lib/schemas/campaigns.ts';
import { campaignUplift } from '../lib/usecases/uplift.ts';

export const handler = httpHandler('GET /v1/campaigns/{id}/uplift', async (req) => {
  const { windowDays } = req.query(upliftQuerySchema);
  return { status: 200, body: await campaignUplift(req.param('id'), windowDays) };
});
