import { jobRoute } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = jobRoute('activate-pending', (asOf, deadline) =>
  runJob('activate-pending', asOf, { deadline }),
);
