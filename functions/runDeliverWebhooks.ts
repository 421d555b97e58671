import { jobRoute } from '../lib/http/jobs.ts';
import { runWebhooks } from '../lib/usecases/webhooks.ts';

export const handler = jobRoute('deliver-webhooks', runWebhooks);
