import { jobFunction } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/jobs.ts';

export const handler = jobFunction('activate-pending', (asOf, options) =>
  runJob('activate-pending', asOf, options),
);
