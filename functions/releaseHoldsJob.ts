import { logger } from '../lib/http/handler.ts';
import { releaseLapsedHolds } from '../lib/usecases/redemptions.ts';

/** The scheduled `release-holds` run (EventBridge Scheduler in AWS, a timer locally). */
export const handler = async (): Promise<{ asOf: string; released: number }> => {
  const result = await releaseLapsedHolds(new Date());
  logger.info('release-holds', result);
  return result;
};
