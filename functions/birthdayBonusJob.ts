import { scheduledJob } from '../lib/http/scheduled.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = scheduledJob('birthday-bonus', (asOf, options) =>
  runJob('birthday-bonus', asOf, options),
);
