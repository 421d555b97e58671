import { jobFunction } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/jobs.ts';

export const handler = jobFunction('birthday-bonus', (asOf, options) =>
  runJob('birthday-bonus', asOf, options),
);
