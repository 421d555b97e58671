/** Job runs, lapse reasons and the report queries (lapsed, retention, daily; MAX_REPORT_DAYS). */
import * as z from 'zod/mini';
import { lapseReasons } from '../domain/cadence.ts';
import { isKeepableInstant } from '../domain/days.ts';
import { instant, noControlButLines } from './common.ts';

export const jobRunSchema = z
  .object({
    asOf: z
      .optional(instant())
      .check(
        z.describe(
          'Defaults to now. More than 5 minutes ahead is 422 invalid-as-of unless dryRun is true ' +
            '(or the deployment runs with LOYALTY_ALLOW_FUTURE_ASOF=1, for simulations)',
        ),
      ),
    dryRun: z
      .optional(z.boolean())
      .check(z.describe('Count what the job would do as of asOf, and change nothing')),
  })
  .check(z.meta({ id: 'JobRun' }));

export const lapseReasonSchema = z
  .object({
    reason: z.enum(lapseReasons),
    note: z
      .optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(1000), noControlButLines))
      .check(z.describe('What the customer said')),
  })
  .check(z.meta({ id: 'LapseReason' }));

export const lapsedQuerySchema = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  sort: z
    ._default(z.enum(['lapsedAt', 'valueAtRisk', 'churnRisk']), 'lapsedAt')
    .check(
      z.describe(
        'lapsedAt: most recently lapsed first; valueAtRisk, churnRisk: highest first (a ' +
          'customer with no churnRisk last), by the score as of their last change or the ' +
          'nightly lapse scan',
      ),
    ),
});

export const retentionQuerySchema = z.object({
  asOf: z.optional(instant()).check(z.describe('Defaults to now')),
});

/** A UTC calendar day, "YYYY-MM-DD", from 1970 to 9999. */
const reportDay = () =>
  z.iso
    .date()
    .check(
      z.refine(
        (s) => isKeepableInstant(Date.parse(`${s}T00:00:00Z`)),
        'must be a day from 1970-01-01 to 9999-12-31',
      ),
    );

/** The most days one daily report covers. */
export const MAX_REPORT_DAYS = 366;

export const dailyReportQuerySchema = z
  .object({
    from: reportDay().check(z.describe('The first day (UTC), included')),
    to: reportDay().check(z.describe('The last day (UTC), included')),
  })
  .check(
    z.refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['to'] }),
    z.refine(
      (q) =>
        q.from > q.to || (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 < MAX_REPORT_DAYS,
      { message: `at most ${MAX_REPORT_DAYS} days, both included`, path: ['to'] },
    ),
  );
