import { jobFunction } from '../lib/http/jobs.ts';
import { releaseLapsedHolds } from '../lib/usecases/redemptions.ts';

export const handler = jobFunction('release-holds', releaseLapsedHolds);
