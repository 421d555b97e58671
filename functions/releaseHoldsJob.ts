import { scheduledJob } from '../lib/http/scheduled.ts';
import { releaseLapsedHolds } from '../lib/usecases/redemptions.ts';

export const handler = scheduledJob('release-holds', releaseLapsedHolds);
