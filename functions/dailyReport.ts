import { httpHandler } from '../lib/http/handler.ts';
import { dailyReportQuerySchema } from '../lib/schemas/reports.ts';
import { dailyReport } from '../lib/usecases/reports.ts';

export const handler = httpHandler('GET /v1/reports/daily', async (req) => {
  const { from, to } = req.query(dailyReportQuerySchema);
  return { status: 200, body: await dailyReport(from, to) };
});
