import { httpHandler } from '../lib/http/handler.ts';
import { readCampaign } from '../lib/usecases/campaigns.ts';

export const handler = httpHandler('GET /v1/campaigns/{id}', async (req) => ({
  status: 200,
  body: await readCampaign(req.param('id')),
}));
