import { httpHandler } from '../lib/http/handler.ts';
import { retentionQuerySchema } from '../lib/schemas/reports.ts';
import { retentionReport } from '../lib/usecases/reports.ts';

export const handler = httpHandler('GET /v1/reports/retention', async (req) => {
  const { asOf } = req.query(retentionQuerySchema);
  return { status: 200, body: await retentionReport(asOf ? new Date(asOf) : new Date()) };
});
