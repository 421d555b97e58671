import { scheduledJob } from '../lib/http/jobs.ts';
import { runLapseScan } from '../lib/usecases/lapse.ts';

export const handler = scheduledJob('lapse-scan', runLapseScan);
