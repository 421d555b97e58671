import { httpHandler } from '../lib/http/handler.ts';
import { campaignListQuerySchema } from '../lib/schemas/campaigns.ts';
import { listCampaigns } from '../lib/usecases/campaigns.ts';

export const handler = httpHandler('GET /v1/campaigns', async (req) => ({
  status: 200,
  body: await listCampaigns(req.query(campaignListQuerySchema)),
}));
