import { scheduledJob } from '../lib/http/scheduled.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = scheduledJob('activate-pending', (asOf, options) =>
  runJob('activate-pending', asOf, options),
);
