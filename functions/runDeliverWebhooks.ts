import { jobFunction } from '../lib/http/jobs.ts';
import { runWebhooks } from '../lib/usecases/webhookDelivery.ts';

export const handler = jobFunction('deliver-webhooks', runWebhooks);
