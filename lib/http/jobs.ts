import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { jobRunSchema } from '../schemas.ts';
import { httpHandler, logger, metrics } from './handler.ts';

/** Runs a job as of `asOf`, stopping before `deadline` (epoch ms) if there is a lot to do. */
export type JobRunner = (asOf: Date, deadline: number) => Promise<object>;

/** API Gateway gives a request 30 s; a job run on demand stops starting new work after 25. */
const ROUTE_BUDGET_MS = 25_000;

/** `POST /v1/jobs/<name>` with an optional `{"asOf"}` body (default now). */
export function jobRoute(name: string, run: JobRunner) {
  return httpHandler(`POST /v1/jobs/${name}`, async (req) => {
    const { asOf } = req.hasBody() ? req.body(jobRunSchema) : {};
    const result = await run(asOf ? new Date(asOf) : new Date(), Date.now() + ROUTE_BUDGET_MS);
    return { status: 200, body: result };
  });
}

/**
 * The scheduled run (EventBridge Scheduler in AWS, a timer locally), as of now. It stops
 * 5 s before the function's timeout; the next run carries on.
 */
export function scheduledJob(name: string, run: JobRunner) {
  return async (_event?: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
    const result = await run(new Date(), Date.now() + remaining - 5_000);
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
