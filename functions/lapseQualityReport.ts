import { httpHandler } from '../lib/http/handler.ts';
import { lapseQualityReport } from '../lib/usecases/lapse.ts';

export const handler = httpHandler('GET /v1/reports/lapse-quality', async () => ({
  status: 200,
  body: await lapseQualityReport(),
}));
