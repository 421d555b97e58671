import { jobFunction } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/jobs.ts';

export const handler = jobFunction('expire-points', (asOf, options) =>
  runJob('expire-points', asOf, options),
);
