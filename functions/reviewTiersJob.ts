import { scheduledJob } from '../lib/http/scheduled.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = scheduledJob('review-tiers', (asOf, options) =>
  runJob('review-tiers', asOf, options),
);
