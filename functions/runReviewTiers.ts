import { jobFunction } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/jobs.ts';

export const handler = jobFunction('review-tiers', (asOf, options) =>
  runJob('review-tiers', asOf, options),
);
