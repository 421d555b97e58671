import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { continueJob, runOfChain } from './continuation.ts';
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
 * 5 s before the function's timeout. A job that `drains` and stopped with work left
 * (`complete: false`) starts its next run at once (continuation.ts), so a day with more
 * due than one run takes is done within the day; the others carry on at their next run.
 */
export function scheduledJob(
  name: string,
  run: JobRunner,
  options: { drains?: boolean; maxRuns?: number } = {},
) {
  return async (event?: unknown, context?: Partial<Context>) => {
    const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
    const result = await run(new Date(), { deadline: Date.now() + remaining - 5_000 });
    const chain = runOfChain(event);
    const left = (result as { complete?: unknown }).complete === false;
    const continued =
      options.drains === true && left && (await continueJob(name, chain, context, options.maxRuns));
    logger.info(name, { ...result, ...(chain > 0 && { runOfChain: chain }), continued });
    // One EMF line per run: the "job did not run" alarm watches invocations, these the work.
    metrics.addDimension('job', name);
    for (const [key, value] of Object.entries(result)) {
      if (typeof value === 'number') metrics.addMetric(`Job_${key}`, MetricUnit.Count, value);
    }
    metrics.publishStoredMetrics();
    return result;
  };
}
