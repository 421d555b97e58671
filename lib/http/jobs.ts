import type { Context } from 'aws-lambda';
import { CLOCK_SKEW_MS } from '../domain/days.ts';
import { DomainError } from '../errors.ts';
import { type Job, jobs } from '../routes.ts';
import { jobRunSchema } from '../schemas/reports.ts';
import { type HttpEvent, httpHandler } from './handler.ts';
import { type JobRunner, scheduledJob } from './scheduled.ts';

/** API Gateway gives a request 30 s; a job run on demand stops starting new work after 25. */
const ROUTE_BUDGET_MS = 25_000;

/**
 * `POST /v1/jobs/<name>` with an optional `{"asOf", "dryRun"}` body (default now). A run
 * as of the future would release live holds and expire points early, so an asOf more than
 * 5 minutes ahead only counts (dryRun), unless the deployment was started for simulation
 * (LOYALTY_ALLOW_FUTURE_ASOF=1, which the stack never sets).
 */
export function jobRoute(name: string, run: JobRunner) {
  return httpHandler(`POST /v1/jobs/${name}`, async (req) => {
    const { asOf, dryRun = false } = req.hasBody() ? req.body(jobRunSchema) : {};
    const now = Date.now();
    const at = asOf ? new Date(asOf) : new Date(now);
    if (
      at.getTime() > now + CLOCK_SKEW_MS &&
      !dryRun &&
      process.env.LOYALTY_ALLOW_FUTURE_ASOF !== '1'
    ) {
      throw new DomainError(
        'invalid-as-of',
        'asOf is more than 5 minutes ahead: send "dryRun": true to count what the job would do then',
      );
    }
    const result = await run(at, { deadline: now + ROUTE_BUDGET_MS, dryRun });
    return { status: 200, body: { ...result, ...(dryRun && { dryRun }) } };
  });
}

/**
 * The runs a scheduled run of `job` may start one after another when it has work left: as
 * many as its timeout fits in its period, so a chain ends before the next scheduled run
 * starts its own (expire-points: 1,440 a day; activate-pending: 60 an hour; lapse-scan,
 * 300 s a run: 288 a day).
 */
export const chainLength = (job: Pick<Job, 'everyMinutes' | 'timeoutSeconds'>) =>
  Math.floor((job.everyMinutes * 60) / (job.timeoutSeconds ?? 60));

/**
 * A job's one function, serving both its schedule and its `POST /v1/jobs/<name>` route:
 * API Gateway invokes it with the request (requestContext), EventBridge Scheduler (and
 * the local server's timer) with no request at all. One function rather than two keeps a
 * Lambda, its role, log group and alarm per job out of the stack (at most 500 resources).
 */
export function jobFunction(name: string, run: JobRunner) {
  const route = jobRoute(name, run);
  const job = jobs.find((j) => j.name === name);
  const scheduled = scheduledJob(name, run, {
    drains: job?.drains === true,
    ...(job && { maxRuns: chainLength(job) }),
  });
  return (event?: unknown, context?: Context) =>
    event !== null && typeof event === 'object' && 'requestContext' in event
      ? route(event as HttpEvent, context as Context)
      : scheduled(event, context);
}
