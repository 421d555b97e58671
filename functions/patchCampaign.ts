import { httpHandler } from '../lib/http/handler.ts';
import { patchCampaignSchema } from '../lib/schemas/campaigns.ts';
import { patchCampaign } from '../lib/usecases/campaigns.ts';

export const handler = httpHandler('PATCH /v1/campaigns/{id}', async (req) => ({
  status: 200,
  body: await patchCampaign(req.param('id'), req.body(patchCampaignSchema)),
}));
