import { jobRoute } from '../lib/http/jobs.ts';
import { runLapseScan } from '../lib/usecases/lapse.ts';

export const handler = jobRoute('lapse-scan', runLapseScan);
