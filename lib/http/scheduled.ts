import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { logger, metrics } from './handler.ts';

/**
 * Runs a job as of `asOf`, stopping before `deadline` (epoch ms) if there is a lot to do;
 * with `dryRun`, counts what it would do and changes nothing.
 */
export type JobRunner = (
  asOf: Date,
  options: { deadline: number; dryRun?: boolean },
) => Promise<object>;

/**
 * The scheduled run (EventBridge Scheduler in AWS, a timer locally), as of now. It stops
 * 5 s before the function's timeout; the next run carries on.
 */
export function scheduledJob(name: string, run: JobRunner) {
  return async (_event?: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
    const result = await run(new Date(), { deadline: Date.now() + remaining - 5_000 });
    logger.info(name, { ...result });
    // One EMF line per run: the "job did not run" alarm watches invocations, these the work.
    metrics.addDimension('job', name);
    for (const [key, value] of Object.entries(result)) {
      if (typeof value === 'number') metrics.addMetric(`Job_${key}`, MetricUnit.Count, value);
    }
    metrics.publishStoredMetrics();
    return result;
  };
}
