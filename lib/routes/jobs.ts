/**
 * Every periodic job, once: its schedule (EventBridge Scheduler in AWS, a timer in the
 * local server), its function and grants, and its `POST /v1/jobs/<name>` route (jobRoute),
 * which the route table lists with the others.
 */
import { EXPORTS_JOB, JOB, ROLL_UP_JOB } from './grants.ts';
import type { Job, Route } from './shape.ts';

export const jobs: Job[] = [
  { name: 'release-holds', fn: 'runReleaseHolds', table: JOB, queriesIndex: true, everyMinutes: 5 },
  {
    name: 'activate-pending',
    drains: true,
    fn: 'runActivatePending',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 60,
  },
  {
    name: 'expire-points',
    drains: true,
    fn: 'runExpirePoints',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 1440,
  },
  {
    name: 'review-tiers',
    drains: true,
    fn: 'runReviewTiers',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 1440,
  },
  {
    name: 'lapse-scan',
    drains: true,
    fn: 'runLapseScan',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 1440,
    // Hourly on a laptop (LOYALTY_LAPSE_SCAN_MINUTES to change it).
    localEveryMinutes: 60,
    // Flagging, then the model fit on up to 20,000 customers.
    timeoutSeconds: 300,
  },
  {
    name: 'birthday-bonus',
    drains: true,
    fn: 'runBirthdayBonus',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 1440,
    // Hourly on a laptop, so a birthday is credited soon after its day starts.
    localEveryMinutes: 60,
  },
  {
    name: 'roll-up-reports',
    fn: 'runRollUpReports',
    table: ROLL_UP_JOB,
    queriesIndex: true,
    // Hourly: a day is rolled up soon after it ends, and again soon after history arrives.
    everyMinutes: 60,
    localEveryMinutes: 5,
    // The first run over a long history writes a row for each of its days.
    timeoutSeconds: 300,
  },
  {
    name: 'expiry-reminders',
    drains: true,
    fn: 'runExpiryReminders',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 1440,
    localEveryMinutes: 60,
  },
  {
    name: 'deliver-webhooks',
    fn: 'runDeliverWebhooks',
    table: JOB,
    queriesIndex: true,
    // Every minute (EventBridge Scheduler's finest); every 2 s on a laptop.
    everyMinutes: 1,
    localEverySeconds: 2,
    webhookKey: 'decrypt',
  },
  {
    // Customers' data exports: writes the documents requested (usecases/exports.ts), each
    // streamed into the exports' bucket; a document it finds erased meanwhile it deletes.
    name: 'exports',
    fn: 'runExports',
    table: EXPORTS_JOB,
    queriesIndex: true,
    // Every minute (EventBridge Scheduler's finest); every 2 s on a laptop.
    everyMinutes: 1,
    localEverySeconds: 2,
    // Lambda's longest: 100,000 ledger entries take a few minutes (npm run bench:export).
    timeoutSeconds: 900,
    exportBucket: ['write', 'delete'],
  },
];

/** `POST /v1/jobs/<name>`: an admin runs a periodic job now, as of a given time. */
export function jobRoute(job: Job): Route {
  return {
    method: 'POST',
    path: `/v1/jobs/${job.name}`,
    fn: job.fn,
    roles: ['admin'],
    table: job.table,
    queriesIndex: true,
    // API Gateway answers 503 after 30 s; the run stops starting new pages at 25 s.
    timeoutSeconds: 29,
    ...(job.webhookKey !== undefined && { webhookKey: job.webhookKey }),
    ...(job.exportBucket !== undefined && { exportBucket: job.exportBucket }),
  };
}
