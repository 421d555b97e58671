import { jobRoute } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = jobRoute('expire-points', (asOf, options) =>
  runJob('expire-points', asOf, options),
);
