import { jobRoute } from '../lib/http/jobs.ts';
import { runJob } from '../lib/usecases/lifecycle.ts';

export const handler = jobRoute('birthday-bonus', (asOf, options) =>
  runJob('birthday-bonus', asOf, options),
);
