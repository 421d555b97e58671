import { jobRoute } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = jobRoute('activate-pending', (asOf, options) =>
  runJob('activate-pending', asOf, options),
);
