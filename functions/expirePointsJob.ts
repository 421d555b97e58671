import { scheduledJob } from '../lib/http/scheduled.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = scheduledJob('expire-points', (asOf, options) =>
  runJob('expire-points', asOf, options),
);
