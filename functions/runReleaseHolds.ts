import { httpHandler } from '../lib/http/handler.ts';
import { jobRunSchema } from '../lib/schemas.ts';
import { releaseLapsedHolds } from '../lib/usecases/redemptions.ts';

export const handler = httpHandler('POST /v1/jobs/release-holds', async (req) => {
  const { asOf } = req.hasBody() ? req.body(jobRunSchema) : {};
  return { status: 200, body: await releaseLapsedHolds(asOf ? new Date(asOf) : new Date()) };
});
