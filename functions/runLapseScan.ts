import { jobFunction } from '../lib/http/jobs.ts';
import { runLapseScan } from '../lib/usecases/lapse.ts';

export const handler = jobFunction('lapse-scan', runLapseScan);
