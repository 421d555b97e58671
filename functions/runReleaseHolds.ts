import { jobRoute } from '../lib/http/jobs.ts';
import { releaseLapsedHolds } from '../lib/usecases/redemptions.ts';

export const handler = jobRoute('release-holds', releaseLapsedHolds);
