import { scheduledJob } from '../lib/http/scheduled.ts';
import { runWebhooks } from '../lib/usecases/webhooks.ts';

export const handler = scheduledJob('deliver-webhooks', runWebhooks);
