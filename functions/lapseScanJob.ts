import { scheduledJob } from '../lib/http/scheduled.ts';
import { runLapseScan } from '../lib/usecases/lapse.ts';

export const handler = scheduledJob('lapse-scan', runLapseScan);
