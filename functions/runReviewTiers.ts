import { jobRoute } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = jobRoute('review-tiers', (asOf, options) =>
  runJob('review-tiers', asOf, options),
);
