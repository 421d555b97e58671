/** The programme's settings (PUT /v1/program): earn rate, cash value, tiers, lapse rule. */
import * as z from 'zod/mini';
import { hasAtMostFourDecimals } from '../domain/points.ts';
import { line, MAX_AMOUNT } from './common.ts';

export const tierId = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1..32 lowercase letters, digits, _ or -'));

const tierSchema = z.object({
  id: tierId,
  name: line(100),
  qualifyingSpend: z.int().check(z.minimum(0), z.maximum(MAX_AMOUNT)),
  multiplier: z
    .number()
    .check(
      z.minimum(1),
      z.maximum(100),
      z.refine(hasAtMostFourDecimals, 'must have at most 4 decimal places'),
    ),
});

/** Rates: products with a 10^12 amount stay well inside BigInt, and totals are checked. */
const boundedPositive = z.int().check(z.minimum(1), z.maximum(MAX_AMOUNT));

const programFields = z.strictObject({
  name: line(200),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')),
  earnRate: z.object({ points: boundedPositive, per: boundedPositive }),
  cashValue: z.object({ points: boundedPositive, amount: boundedPositive }).check(
    z.refine((v) => v.amount <= v.points * 900, {
      message: 'a point may be worth at most 900 minor units',
      path: ['amount'],
    }),
  ),
  tiers: z.array(tierSchema).check(z.minLength(1), z.maxLength(20)),
  qualifyingWindowMonths: z.int().check(z.minimum(1), z.maximum(36)),
  pendingDays: z
    .int()
    .check(
      z.minimum(0),
      z.maximum(365),
      z.describe(
        "Points stay pending until the purchase's occurredAt + pendingDays (0: available at " +
          'once); a customer already holding 32 or more pending lots waits until the next ' +
          "00:00 UTC after it (the purchase's availableAt)",
      ),
    ),
  pointsExpireAfterDays: z
    .nullable(z.int().check(z.minimum(1), z.maximum(36500)))
    .check(
      z.describe(
        'Unspent points expire at the end of the UTC day this many days after the day they ' +
          'became available, oldest first; null: never',
      ),
    ),
  maxBackdateDays: z.int().check(z.minimum(0), z.maximum(3650)),
  holdMinutes: z.int().check(z.minimum(1), z.maximum(10080)),
  lapse: z.object({
    factor: z.number().check(z.minimum(1), z.maximum(100)),
    minPurchases: z.int().check(z.minimum(2), z.maximum(1000)),
    minDays: z.int().check(z.minimum(0), z.maximum(3650)),
    mode: z
      ._default(z.enum(['fixed', 'calibrated']), 'fixed')
      .check(
        z.describe(
          'fixed (default): the lapse rule uses factor and minDays as given. calibrated: the ' +
            "nightly lapse-scan job backtests the rule on this programme's own customers and " +
            'puts in force the (factor, minDays) pair of a small grid with the highest recall ' +
            'whose precision reaches targetPrecision; factor and minDays stay in force while ' +
            'the data is insufficient or no pair reaches the target. The pair in force is in ' +
            'GET /v1/reports/lapse-quality; each change is a program.lapse-calibrated event',
        ),
      ),
    targetPrecision: z
      ._default(z.number().check(z.minimum(0.1), z.maximum(0.99)), 0.7)
      .check(
        z.describe(
          'calibrated mode: the share of flagged customers who should turn out not to come ' +
            'back within 90 days (default 0.7)',
        ),
      ),
  }),
  excludedCategories: z
    ._default(z.array(line(64)).check(z.maxLength(100)), [])
    .check(
      z.describe(
        'Line categories that earn nothing and do not count towards tiers (gift cards, ' +
          'deposits); default none',
      ),
    ),
});

export const programSchema = programFields.check(
  z.superRefine((program: z.output<typeof programFields>, ctx) => {
    const [first] = program.tiers;
    if (first && first.qualifyingSpend !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['tiers', 0, 'qualifyingSpend'],
        message: 'the first tier must start at 0',
      });
    }
    const seen = new Set<string>();
    program.tiers.forEach((tier, i) => {
      if (seen.has(tier.id)) {
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'id'], message: 'duplicate tier id' });
      }
      seen.add(tier.id);
      const previous = program.tiers[i - 1];
      if (previous && tier.qualifyingSpend <= previous.qualifyingSpend) {
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', i, 'qualifyingSpend'],
          message: 'tiers must be sorted by strictly increasing qualifyingSpend',
        });
      }
    });
  }),
  z.meta({ id: 'Program' }),
);
export type ProgramInput = z.infer<typeof programSchema>;
