import { scheduledJob } from '../lib/http/jobs.ts';
import { releaseLapsedHolds } from '../lib/usecases/redemptions.ts';

export const handler = scheduledJob('release-holds', releaseLapsedHolds);
