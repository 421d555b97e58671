import { httpHandler } from '../lib/http/handler.ts';
import { lapseReasonSchema } from '../lib/schemas/reports.ts';
import { recordLapseReason } from '../lib/usecases/lapse.ts';

export const handler = httpHandler('PUT /v1/customers/{id}/lapse-reason', async (req) => ({
  status: 200,
  body: await recordLapseReason(req.param('id'), req.body(lapseReasonSchema)),
}));
