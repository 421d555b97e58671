import { scheduledJob } from '../lib/http/scheduled.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = scheduledJob('review-tiers', (asOf, deadline) =>
  runJob('review-tiers', asOf, { deadline }),
);
