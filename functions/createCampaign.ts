import { httpHandler, replyWith } from '../lib/http/handler.ts';
import { createCampaignSchema } from '../lib/schemas/campaigns.ts';
import { createCampaign } from '../lib/usecases/campaigns.ts';

export const handler = httpHandler('POST /v1/campaigns', async (req) => {
  const idempotency = req.idempotency();
  return replyWith(201, await createCampaign(req.body(createCampaignSchema), idempotency));
});
