/**
 * The response schemas (zod), named as the document's components: tests check real
 * responses against them, and the types of what handlers return derive from them.
 */
import * as z from 'zod';
import { lapseReasons } from '../domain/cadence.ts';
import type { CustomerView } from '../domain/customer.ts';
import type { ErasedCustomerView } from '../domain/erase.ts';
import { EVENT_TYPES } from '../domain/ledger.ts';
import { createApiKeySchema, roles } from '../schemas/apiKeys.ts';
import { createCampaignSchema, patchCampaignSchema } from '../schemas/campaigns.ts';
import { moneySchema, nameSchema } from '../schemas/common.ts';
import { adjustmentSchema, createCustomerSchema } from '../schemas/customers.ts';
import {
  importCustomerSchema,
  importCustomersSchema,
  importPurchaseSchema,
  importPurchasesSchema,
} from '../schemas/imports.ts';
import { programSchema } from '../schemas/program.ts';
import { purchaseLineSchema, recordPurchaseSchema } from '../schemas/purchases.ts';
import { lapseReasonSchema } from '../schemas/reports.ts';
import { webhookEventTypes } from '../schemas/webhooks.ts';

import { problemCodes } from './problems.ts';

const timestamp = z.string().meta({ format: 'date-time', description: 'RFC 3339, UTC' });

const fieldErrorSchema = z.object({
  path: z
    .string()
    .describe("Dot-separated path of the field (e.g. `total.amount`); '' for the whole"),
  message: z.string(),
});

export const problemSchema = z
  .object({
    type: z.string().describe('`urn:loyalty:problem:<code>`'),
    title: z.string().describe('Fixed per code'),
    status: z.int().describe('The HTTP status'),
    code: z.enum(problemCodes).describe('Machine-readable; branch on this'),
    detail: z.string().optional().describe('Human-readable; may change'),
    instance: z.string().optional().describe('The request path'),
    errors: z.array(fieldErrorSchema).optional().describe('With validation-failed'),
    existingCustomerId: z
      .string()
      .optional()
      .describe('With 409 conflict on POST /v1/customers: the customer holding the identifier'),
  })
  .describe('RFC 9457 problem details, served as application/problem+json');

/**
 * Money with a description of its own, still a ref to the Money component. The request
 * schemas are zod/mini (lib/schemas/), which has no .describe(): a describe check on a
 * clone does the same.
 */
const describedMoney = (description: string) => moneySchema.check(z.describe(description));

/**
 * A sum the API keeps (a customer's spend, the cash value of their points, a report's
 * totals): Money, but past the 10^12 that one amount sent in may be, and still exact.
 */
const moneyTotalSchema = z
  .object({
    amount: z
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .describe('Integer minor units; a sum of amounts, so it may exceed 10^12 (up to 2^53 - 1)'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .describe('ISO 4217'),
  })
  .describe('A sum of money: integer minor units, exact');

/** MoneyTotal with a description of its own. */
const describedTotal = (description: string) => moneyTotalSchema.describe(description);

const tierRef = z.object({ id: z.string(), name: z.string(), multiplier: z.number() });

/**
 * The Customer resource. `satisfies` holds it to the domain's CustomerView (what
 * customerView() builds); test/unit/openapi.test.ts checks the two are the same type.
 */
export const customerSchema = z
  .object({
    id: z.string().describe('Opaque (`cus_` + ULID)'),
    createdAt: timestamp,
    externalId: z.string().optional(),
    email: z.string().optional().describe('Stored lowercased'),
    phone: z.string().optional().describe('E.164'),
    name: z.string().optional(),
    birthDate: z
      .string()
      .optional()
      .describe('`YYYY-MM-DD` or `--MM-DD`: birthday campaigns credit on this UTC day'),
    referredBy: z.string().optional().describe('The customer who referred this one'),
    tier: tierRef.describe(
      'The higher of the tier granted and the tier the current qualifying spend earns',
    ),
    nextTier: z
      .object({ id: z.string(), name: z.string(), spendNeeded: moneySchema })
      .nullable()
      .describe('null at the top tier; spendNeeded is the qualifying spend still missing'),
    qualifyingSpend: moneyTotalSchema,
    points: z.object({
      available: z.int().describe('May be below 0 after a refund'),
      pending: z.int(),
      held: z.int(),
      lifetimeEarned: z
        .int()
        .describe('Points earned by purchases, less refunds (adjustments are not counted)'),
      expiringSoon: z
        .object({ points: z.int().min(1), expiresAt: timestamp })
        .nullable()
        .describe(
          'The next points to expire (the oldest lot) and when, if within 30 days; null when ' +
            'nothing expires that soon or the program has no pointsExpireAfterDays',
        ),
    }),
    cashValue: moneyTotalSchema,
    status: z.enum(['active', 'lapsed']),
    lastPurchaseAt: timestamp.nullable(),
    lapsedAt: timestamp.nullable(),
    lastLapse: z
      .object({
        lapsedAt: timestamp.describe(
          'When the lapse rule began to hold: the purchase before the silence + ' +
            'max(lapse.minDays, lapse.factor x the typical gap of the purchases before it)',
        ),
        returnedAt: timestamp
          .nullable()
          .describe('The occurredAt of the purchase that ended it; null while it lasts'),
      })
      .nullable()
      .describe(
        "The customer's last lapse by the lapse rule, whether a scan flagged it (then also " +
          'lapsedAt while it lasts) or a purchase after a silence the rule counts as a lapse ' +
          "ended it before any scan did (history imported, a purchase before the day's scan: " +
          'counted in the reports on its days, with no event sent); null if none',
      ),
    cadence: z
      .object({
        purchases: z.int().min(0).describe('Number of purchases recorded'),
        typicalGapDays: z
          .number()
          .nullable()
          .describe(
            'Median gap in days between consecutive purchase days (distinct UTC days, the ' +
              'most recent 24 kept); null below 2 purchase days',
          ),
        expectedNextPurchaseBy: timestamp
          .nullable()
          .describe('lastPurchaseAt + typicalGapDays; null while typicalGapDays is'),
        pAlive: z
          .number()
          .min(0)
          .max(1)
          .nullable()
          .describe(
            'BG/NBD probability the customer is still active, from the model the lapse-scan ' +
              'job fits daily on all customers; null before the first fit or purchase, and while the model is not trusted: fitted on ' +
              'fewer than 500 customers with 2 or more purchase days, or on less than 180 days of history',
          ),
        expectedPurchases90d: z
          .number()
          .min(0)
          .nullable()
          .describe(
            'BG/NBD expected purchase days in the next 90 days; null like pAlive (before the ' +
              'first fit or purchase, and while the model is not trusted)',
          ),
        churnRisk: z
          .number()
          .min(0)
          .max(1)
          .nullable()
          .describe(
            'BG/NBD probability of no purchase in the next 90 days (1 - P(at least one)); ' +
              'unlike pAlive it also ranks one-time buyers. Null like pAlive (before the first ' +
              'fit or purchase, and while the model is not trusted)',
          ),
      })
      .describe('The purchase rhythm the lapse rule and the model use'),
  })
  .describe('A customer: profile, tier, balances and cadence') satisfies z.ZodType<CustomerView>;

const ledgerTypes = [
  'earn',
  'refund',
  'hold',
  'release',
  'redeem',
  'expire',
  'adjust',
  'pending',
  'activate',
  'bonus',
  'merge-in',
  'merge-out',
  'erase',
] as const;

export const breakdownSchema = z
  .array(
    z.object({
      source: z.enum(['base', 'campaign']),
      campaignId: z.string().optional().describe('For `campaign`: the campaign that added them'),
      points: z.int().min(0),
    }),
  )
  .describe(
    'Where the points came from: `base` (earn rate and tier multiplier on the earnable ' +
      'spend) first, then each campaign that added points. Sums to the points earned',
  );

export const ledgerEntrySchema = z.object({
  id: z.string(),
  type: z.enum(ledgerTypes),
  points: z
    .int()
    .describe(
      'Signed effect on available points, so available = the sum of `points`. 0 for ' +
        '`pending` (the points are not available yet) and for `redeem` after a hold (they ' +
        'left available at the hold)',
    ),
  pendingPoints: z
    .int()
    .optional()
    .describe(
      'Signed effect on pending points: +N on `pending` and on a pending `bonus` (a ' +
        "referral, pending like its purchase's points), -N on `activate`, and -N on a " +
        '`refund` inside the pending window (also taking back a pending referral)',
    ),
  balanceAfter: z.int().describe('Available points after this entry'),
  at: timestamp.describe('When the entry was written'),
  purchaseId: z.string().optional(),
  occurredAt: timestamp
    .optional()
    .describe(
      'On an entry of a purchase (`earn`, `pending`, `refund`): when the purchase was made, ' +
        'which is earlier than `at` for a purchase recorded late or imported',
    ),
  storeId: z.string().optional().describe('On an entry of a purchase: the store it was made at'),
  receiptId: z
    .string()
    .optional()
    .describe("On an entry of a purchase: the purchase's receipt id, if it had one"),
  refundId: z.string().optional(),
  redemptionId: z.string().optional(),
  reason: z.string().optional(),
  mergedFrom: z
    .string()
    .optional()
    .describe(
      'On a `merge-in` entry: the customer merged into this one, whose points (available, ' +
        'with their earn days, and pending) it brought',
    ),
  mergedInto: z
    .string()
    .optional()
    .describe('On a `merge-out` entry: the customer this one was merged into'),
  campaignId: z
    .string()
    .optional()
    .describe(
      'On a `bonus` entry: the enrolment, birthday or referral campaign that credited it; on ' +
        'a `refund` entry: the referral campaign whose pending points a full refund took back',
    ),
  breakdown: breakdownSchema
    .optional()
    .describe('On `earn` and `pending` entries: as on the purchase'),
});

const pageOf = (item: z.ZodType) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .describe('Send as `?cursor=` for the next page; null on the last page'),
  });

const purchaseFields = {
  id: z.string().describe('Opaque (`pur_` + ULID)'),
  customerId: z.string(),
  storeId: z.string(),
  total: moneySchema,
  occurredAt: timestamp,
  receiptId: z.string().optional(),
  lines: z.array(purchaseLineSchema).optional().describe('As sent'),
  pointsEarned: z.int().min(0),
  breakdown: breakdownSchema,
  pointsStatus: z.enum(['available', 'pending']),
  availableAt: timestamp
    .optional()
    .describe(
      'When pending points become available: occurredAt + pendingDays, or for a customer ' +
        'already holding 32 or more pending lots (a house account) the next 00:00 UTC after ' +
        'it, so a customer keeps at most 400 pending lots',
    ),
};

export const purchaseSchema = z
  .object({
    ...purchaseFields,
    refunded: describedMoney('Refunded so far'),
    earnableSpend: describedMoney(
      'The total less its lines in categories the program excludes from earning: what ' +
        'earned points and counted towards tiers (the total when nothing was excluded); ' +
        'refunds take tier spend back in the same proportion',
    ),
  })
  .describe('A recorded purchase');

export const recordedPurchaseSchema = z
  .object({ ...purchaseFields, customer: customerSchema })
  .describe('A purchase just recorded, with the customer as it is after it');

const placeSchema = (what: string) =>
  z.object({ id: z.string(), name: z.string(), createdAt: timestamp }).describe(`A ${what}`);

export const storeSchema = placeSchema('store (sto_ + ULID)');
const partnerSchema = placeSchema('partner retailer (ptn_ + ULID)');

export const apiKeySchema = z.object({
  id: z.string().describe('`key_` + ULID; use it to revoke the key'),
  role: z.enum(roles),
  storeId: z.string().optional().describe('pos keys'),
  partnerId: z.string().optional().describe('partner keys'),
  name: z.string().optional(),
  createdAt: timestamp,
  revokedAt: timestamp.optional(),
});

export const newApiKeySchema = apiKeySchema
  .extend({
    key: z
      .string()
      .describe('The plain key, for the x-api-key header. Shown only here: only a hash is kept'),
  })
  .describe('A new API key');

const healthSchema = z.object({ status: z.literal('ok') });

const redemptionSchema = z.object({
  id: z.string().describe('red_ + ULID'),
  status: z.enum(['authorized', 'captured', 'voided', 'expired']),
  customerId: z.string(),
  amount: moneySchema,
  points: z.int().describe('ceil(amount x cashValue.points / cashValue.amount)'),
  expiresAt: timestamp.describe('When an uncaptured authorization lapses and its points go back'),
  capturedAt: timestamp
    .optional()
    .describe('When it was captured (status `captured`): the instant settlement counts it at'),
  storeId: z.string().optional(),
  partnerId: z.string().optional(),
  createdAt: timestamp,
});

const settlementSchema = z.object({
  partnerId: z.string(),
  from: timestamp,
  to: timestamp,
  count: z.int().describe('Captured redemptions in [from, to)'),
  amount: describedTotal('What the programme owes the partner'),
  points: z.int(),
});

/** On a job's answer to a dry run: what it counted was not done. */
const dryRunField = z
  .literal(true)
  .optional()
  .describe('Present on a dry run: the counts are what the job would do; nothing changed');

const releaseHoldsResultSchema = z.object({
  asOf: timestamp,
  released: z
    .int()
    .describe('Authorizations whose lapsed holds were given back by this run (or would be)'),
  dryRun: dryRunField,
});

const jobResultSchema = z.object({
  asOf: timestamp,
  customers: z.int().describe('Customers this run changed'),
  points: z.int().describe('Points activated (activate-pending) or expired (expire-points)'),
  tiersChanged: z.int().describe('Tiers moved by this run (review-tiers)'),
  complete: z
    .boolean()
    .describe(
      'false if the run stopped at its time budget; the next run carries on where it left off',
    ),
  dryRun: dryRunField,
});

const eventSchema = z.object({
  id: z.string().describe('evt_ + ULID: unique, so a consumer can drop duplicates'),
  type: z.enum(EVENT_TYPES),
  at: timestamp,
  customerId: z.string().nullable().describe('null on program.lapse-calibrated'),
  data: z
    .record(z.string(), z.unknown())
    .describe(
      'tier.changed: `{from: {id, name}, to: {id, name}, direction: "up"|"down", reason: ' +
        '"purchase"|"review"|"program"|"merge", qualifyingSpend: Money}`; points.expiring: ' +
        '`{points, expiresAt}` (a lot of points expires within 14 days; once per lot); ' +
        'customer.merged: `{from, pointsMoved}` (another record of the customer, `from`, ' +
        'was merged into this one, with its available and pending points); ' +
        'customer.erased: `{}` (the customer asked to be forgotten: erase what you hold of ' +
        'them); ' +
        'customer.lapsed: `{lastPurchaseAt, typicalGapDays, purchases, lapsedAt, winBack?: ' +
        '[{campaignId, group: "offer"|"holdout"}]}` (winBack: the win-back experiments the ' +
        'customer was assigned to at this flag; send the offer to the offer group only); ' +
        'customer.reactivated: `{lapsedAt, reason, purchaseAt, withdrawn?: true}` (withdrawn: ' +
        'a purchase recorded later, dated before lapsedAt, showed the lapse did not happen; ' +
        'no return); ' +
        'program.lapse-calibrated (the lapse thresholds in force changed with calibration): ' +
        '`{factor, minDays, source: "calibrated"|"fixed", targetPrecision, backtest: ' +
        '{precision, recall}|null, fallbackReason?, previous: {factor, minDays, source}}`',
    ),
});

const webhookEventsSchema = z
  .array(z.enum(webhookEventTypes))
  .describe('The event types it receives, or ["*"] for all');

const webhookEndpointSchema = z.object({
  id: z.string().describe('whe_ + ULID'),
  url: z.string(),
  events: webhookEventsSchema,
  description: z.string().optional(),
  status: z.enum(['enabled']),
  createdAt: timestamp,
});

const newWebhookEndpointSchema = webhookEndpointSchema.extend({
  secret: z
    .string()
    .describe('whsec_...: the signing secret, shown in this response only; keep it safe'),
});

const webhookSecretSchema = z.object({
  secret: z.string().describe('The new whsec_... secret, shown in this response only'),
});

const webhookPingSchema = z.object({
  delivered: z.boolean().describe('The receiver answered 2xx within 10 s'),
  statusCode: z.int().optional().describe('Its status, if it answered at all'),
});

const webhookDeliverySchema = z.object({
  id: z.string().describe('dlv_ + ULID'),
  eventId: z.string(),
  eventType: z.string().describe("The event's type, or ping"),
  status: z
    .enum(['pending', 'delivered', 'failed', 'cancelled'])
    .describe(
      'pending: an attempt is to come; delivered: a 2xx within 10 s; failed: no 2xx after ' +
        '24 hours of retries, or a ping not answered 2xx (the failure alarm counts the ' +
        'former); cancelled: its endpoint was ' +
        'deleted before it was delivered, so it is not tried again (not a failure: no alarm)',
    ),
  attempts: z.int().describe('Attempts made so far'),
  lastAttemptAt: timestamp.nullable().describe('null before the first attempt'),
  lastStatusCode: z.int().optional().describe("The last attempt's answer, if any came"),
  lastError: z
    .string()
    .optional()
    .describe('Why the last attempt failed: timeout, refused address, answered 500...'),
  nextAttemptAt: timestamp.optional().describe('While pending: when it is tried next'),
  createdAt: timestamp,
});

const webhookRunSchema = z.object({
  asOf: timestamp,
  fannedOut: z.int().describe('Deliveries this run created from new outbox events'),
  delivered: z.int(),
  retried: z.int().describe('Attempts that failed and will be tried again'),
  failed: z.int().describe('Deliveries that failed for good this run'),
  cancelled: z
    .int()
    .describe(
      'Deliveries this run found due to a deleted endpoint: cancelled, not sent, not failures',
    ),
  complete: z.boolean().describe('false if the run stopped at its deadline; the next goes on'),
  dryRun: z.boolean().optional(),
});

const expiryRemindersSchema = z.object({
  asOf: timestamp,
  customers: z.int().describe('Customers reminded'),
  reminders: z.int().describe('points.expiring events recorded (one per lot)'),
  complete: z.boolean(),
  dryRun: z.boolean().optional(),
});

const modelSchema = z
  .object({
    r: z.number(),
    alpha: z.number(),
    a: z.number(),
    b: z.number(),
    logLikelihood: z.number(),
    customers: z.int().describe('Customers with a purchase the model was fitted on'),
    repeatCustomers: z
      .int()
      .optional()
      .describe('Of them, those with 2 or more purchase days (500 are needed to trust it)'),
    historyDays: z
      .int()
      .optional()
      .describe('Days from the earliest first purchase to the fit (180 are needed)'),
    fittedAt: timestamp,
  })
  .describe('BG/NBD parameters (time in weeks), fitted on up to 20,000 customers');

const lapseScanResultSchema = z.object({
  asOf: timestamp,
  flagged: z.int().describe('Customers this run flagged as lapsed'),
  complete: z
    .boolean()
    .describe('false if the run stopped at its time budget; the next run carries on'),
  fitted: z
    .boolean()
    .describe(
      'true if this run fitted the model and backtested the flag on the customers as they ' +
        'are now (GET /v1/reports/lapse-quality); false if it left both as they were (notFitted says why)',
    ),
  notFitted: z
    .enum(['dry-run', 'incomplete', 'no-time', 'past-as-of', 'too-few-customers'])
    .optional()
    .describe(
      'Why this run did not fit: `dry-run`; `incomplete` (the flagging stopped at its time ' +
        'budget: the next run carries on, then fits); `no-time` (less than 20 s left after ' +
        'the flagging: the scheduled run fits); `past-as-of` (asOf more than 5 minutes before ' +
        'now: the customers hold purchases made after it, so the live model and report are ' +
        'left alone); `too-few-customers` (fewer than 30 with a purchase: no model yet, the ' +
        'backtest is stored)',
    ),
  model: modelSchema
    .extend({
      stale: z
        .boolean()
        .describe(
          'true when purchases were imported after this model was fitted (or a purchase ' +
            'import batch was sent, even one whose items were all duplicates): the next run ' +
            'that fits refits on all of them',
        ),
    })
    .nullable()
    .describe(
      'The model after this run (the stored one when it did not fit); null until 30 customers have bought',
    ),
  thresholds: z
    .object({
      factor: z.number(),
      minDays: z.int(),
      source: z.enum(['fixed', 'calibrated']),
    })
    .describe(
      "The lapse thresholds in force at the end of the run: the program's, or those " +
        'calibration chose (lapse.mode calibrated). A run whose backtest changed them ' +
        'flagged again by the new ones',
    ),
  dryRun: dryRunField,
});

const lapsedCustomerSchema = z.object({
  customerId: z.string(),
  lastPurchaseAt: timestamp.nullable(),
  typicalGapDays: z.number().nullable(),
  daysSinceLastPurchase: z.int().nullable().describe('Whole days, as of the request'),
  lapsedAt: timestamp.describe('When the lapse rule started to hold'),
  annualSpend: describedTotal('Net spend in the current UTC month and the 11 before'),
  valueAtRisk: describedTotal('annualSpend x (1 - pAlive); annualSpend without a trusted model'),
  reason: z.enum(lapseReasons).optional(),
  note: z.string().optional(),
  pAlive: z
    .number()
    .optional()
    .describe(
      "As the customer's cadence.pAlive (left out when that is null: no purchase, no model, " +
        'or a model not trusted)',
    ),
  expectedPurchases90d: z
    .number()
    .optional()
    .describe("As the customer's cadence.expectedPurchases90d (left out when that is null)"),
  churnRisk: z
    .number()
    .optional()
    .describe("As the customer's cadence.churnRisk (left out when that is null)"),
});

const shareOrNull = (what: string) => z.number().min(0).max(1).nullable().describe(what);

const lapseQualitySchema = z.object({
  asOf: timestamp.nullable().describe('When the job measured it (null before its first run)'),
  horizonDays: z.int().describe('90: the flag is read at asOf - 90 days, judged on the 90 since'),
  evaluated: z.int().describe('Customers of the sample with a purchase before asOf - 90 days'),
  cameBack: z.int().describe('Of them, those who bought in the 90 days since'),
  flag: z
    .object({
      factor: z.number(),
      minDays: z.int(),
      precision: shareOrNull('Of those flagged, the share who did not come back'),
      recall: shareOrNull('Of those who did not come back, the share flagged'),
    })
    .describe(
      'The thresholds in force now (see calibration.source) and what the backtest measured ' +
        'for them (null when it could not: insufficient data, or a pair set since the run)',
    ),
  auc: z.object({
    silence: shareOrNull('Days since the last purchase'),
    cadenceRatio: shareOrNull('Silence / typical gap'),
    churnRisk: shareOrNull('BG/NBD P(no purchase in 90 days)'),
  }),
  insufficientData: z
    .string()
    .optional()
    .describe('Why the figures are null: too few repeat customers or too little history'),
  calibration: z
    .object({
      mode: z.enum(['fixed', 'calibrated']).describe("The program's lapse.mode"),
      targetPrecision: z.number().describe("The program's lapse.targetPrecision"),
      source: z
        .enum(['fixed', 'calibrated'])
        .describe(
          "Where the thresholds in force come from: the program's factor and minDays, or " +
            'the pair calibration chose: of the backtest grid (factor 1.5, 2, 2.5, 3, 4, 6 x ' +
            'minDays 14, 30, 45, 60, 90, 120, 180), the pair with the highest recall whose ' +
            'precision reaches targetPrecision on at least 30 flagged customers',
        ),
      fallbackReason: z
        .string()
        .optional()
        .describe("calibrated mode only: why the program's own pair is in force"),
      fixed: z
        .object({
          factor: z.number(),
          minDays: z.int(),
          precision: shareOrNull('As flag.precision'),
          recall: shareOrNull('As flag.recall'),
        })
        .describe("The program's own factor and minDays and their figures, to compare"),
    })
    .describe(
      'Calibration: a change of mode or targetPrecision shows here at once and applies ' +
        'from the next lapse scan, with the figures of the last backtest; the run that ' +
        'backtests after a change of the pair in force by calibration (chosen, or given up) ' +
        'records it as a program.lapse-calibrated event',
    ),
});

const lapseReasonResultSchema = z.object({
  customerId: z.string(),
  lapsedAt: timestamp,
  reason: z.enum(lapseReasons),
  note: z.string().optional(),
  at: timestamp.describe('When the reason was recorded'),
});

const retentionSchema = z.object({
  asOf: timestamp,
  customers: z.int().describe("Customers at the end of asOf's day"),
  active: z.int().describe('customers - lapsed'),
  lapsed: z.int().describe("Customers lapsed at the end of asOf's day"),
  lapsedLast12Months: z.int().describe('Lapses dated in the twelve months to asOf'),
  reactivatedLast12Months: z.int().describe('Returns dated in the twelve months to asOf'),
  valueAtRisk: describedTotal('The trailing-12-month spend (to asOf) of the customers lapsed then'),
  byReason: z
    .record(z.string(), z.object({ customers: z.int(), valueAtRisk: moneyTotalSchema }))
    .describe('Lapsed customers by lapse reason; `unknown` where none was recorded'),
});

const dailyRowSchema = z.object({
  date: z.string().describe('The UTC day, YYYY-MM-DD'),
  customers: z.int().describe('Customers at the end of the day'),
  newCustomers: z.int().describe('Customers who joined that day'),
  active: z.int().describe('customers - lapsed'),
  lapsed: z.int().describe('Customers lapsed at the end of the day'),
  lapsedToday: z
    .int()
    .describe(
      'Customers whose lapse is dated that day (when the lapse rule began to hold), flagged ' +
        'by a scan or ended by a purchase before any scan flagged it',
    ),
  reactivatedToday: z
    .int()
    .describe(
      'Customers who bought again that day after a lapse: one a scan flagged, or a silence ' +
        'the lapse rule counts as a lapse that no scan had flagged yet',
    ),
  purchases: z.int().describe('Purchases that occurred that day'),
  spend: describedTotal('Their totals (refunds are not deducted)'),
  pointsEarned: z
    .int()
    .describe('Points credited that day by purchases (available or pending) and campaigns'),
  pointsRedeemed: z.int().describe('Points spent that day (redemptions captured)'),
  pointsExpired: z.int().describe('Points that expired that day'),
  pointsOutstanding: z
    .int()
    .describe(
      'Available and pending points of all customers at the end of the day (points held ' +
        'for a redemption not yet captured are not counted)',
    ),
  liability: describedTotal('pointsOutstanding at the cash value: what the programme owes'),
  valueAtRisk: describedTotal(
    'The spend in the 12 calendar months to that day of the customers lapsed at its end',
  ),
});

const dailyReportSchema = z.object({ items: z.array(dailyRowSchema) });

const rollUpResultSchema = z.object({
  rolledThrough: z.string().nullable().describe('The last day with a stored row (YYYY-MM-DD)'),
  rolledDays: z.int().describe('Rows this run stored'),
  backfilled: z
    .int()
    .describe(
      'Customers stored before the counts by day existed, counted by this run with their ' +
        'history (once, on the first runs after an upgrade)',
    ),
  complete: z
    .boolean()
    .describe(
      'false if another run was at work (this one did nothing), or counting those ' +
        'customers stopped at its time budget or left one too busy to count: the next run goes on',
    ),
  dryRun: dryRunField,
});

const refundResultSchema = z.object({
  id: z.string().describe('ref_ + ULID'),
  purchaseId: z.string(),
  amount: moneySchema,
  pointsReversed: z.int().describe('Points this refund took back'),
  customer: customerSchema.describe('The customer after the refund'),
});

const redemptionCodeSchema = z.object({
  code: z
    .string()
    .regex(/^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{8}$/)
    .describe('8 characters, single use'),
  expiresAt: z.iso.datetime().describe('10 minutes after creation'),
});

const exportSchema = z.object({
  id: z.string().describe('`exp_` + ULID'),
  status: z
    .enum(['running', 'ready', 'failed'])
    .describe('running until the exports job has written the document; failed after 3 attempts'),
  url: z
    .string()
    .meta({ format: 'uri' })
    .optional()
    .describe('When ready: a link to the document (JSON), valid until expiresAt'),
  expiresAt: timestamp.optional().describe("When ready: the link's expiry, at most 1 hour on"),
});

const exportRunSchema = z.object({
  asOf: timestamp,
  exported: z.int().describe('Documents this run wrote'),
  failed: z.int().describe('Exports that failed for good this run (after 3 attempts)'),
  complete: z
    .boolean()
    .describe('false if exports were left for the next run (the run ran out of time)'),
  dryRun: z.boolean().optional(),
});

const sessionTokenSchema = z.object({
  token: z.string().describe('Send as `Authorization: Bearer <token>` to /v1/me routes'),
  expiresAt: z.iso.datetime().describe('At most 1 hour after minting'),
});

const upliftGroupSchema = z.object({
  lapsed: z
    .int()
    .min(0)
    .describe('Customers flagged and assigned to the group, windowDays or more days ago'),
  cameBack: z.int().min(0).describe('Of them, those who bought within windowDays of their flag'),
  rate: z.number().min(0).max(1).nullable().describe('cameBack / lapsed; null with no customer'),
  spendAfter: describedTotal('What they spent within windowDays of their flag (purchase totals)'),
  pointsAwarded: z
    .int()
    .min(0)
    .describe("The campaign's points on their purchases in the window (0 for the holdout)"),
});

const upliftSchema = z
  .object({
    campaignId: z.string(),
    windowDays: z.union([z.literal(30), z.literal(60), z.literal(90), z.literal(180)]),
    groups: z.object({ offer: upliftGroupSchema, holdout: upliftGroupSchema }),
    uplift: z
      .object({
        rate: z.number().min(-1).max(1).describe('offer.rate - holdout.rate'),
        ci95: z
          .tuple([z.number(), z.number()])
          .describe(
            "95% interval for the difference of the two proportions, by Newcombe's hybrid " +
              'score method (his method 10, 1998: the two Wilson score intervals combined), ' +
              'which keeps near 95% coverage for small groups and rates near 0',
          ),
      })
      .nullable()
      .describe('null with insufficientData'),
    incrementalCustomers: z
      .number()
      .nullable()
      .describe(
        'uplift.rate x offer.lapsed: customers the offer brought back who would not have come',
      ),
    incrementalSpend: z
      .object({
        amount: z
          .int()
          .min(-Number.MAX_SAFE_INTEGER)
          .max(Number.MAX_SAFE_INTEGER)
          .describe('Integer minor units; below 0 when the offer group spent less a customer'),
        currency: z.string().describe('ISO 4217, the program currency'),
      })
      .nullable()
      .describe(
        "(offer's spendAfter per customer - holdout's) x offer.lapsed; null with insufficientData",
      ),
    cost: describedTotal("The campaign's points awarded (stats.pointsAwarded) at their cash value"),
    insufficientData: z
      .string()
      .optional()
      .describe(
        'Why there is no uplift: fewer than 30 customers in a group (a campaign without a ' +
          'holdout has none in it), or not a win-back campaign',
      ),
  })
  .describe(
    "A win-back campaign's measured effect: the return rates of the customers offered it and " +
      'of those held out, over windowDays after their flag',
  );

export const campaignSchema = z
  .object({
    id: z.string().describe('`cmp_` + ULID'),
    name: z.string(),
    type: z.enum(['multiplier', 'bonus', 'enrolment', 'birthday', 'referral']),
    startsAt: timestamp.describe('Inclusive'),
    endsAt: timestamp.nullable().describe('Exclusive; null: runs until ended'),
    status: z
      .enum(['scheduled', 'active', 'ended'])
      .describe('Now: before startsAt, in [startsAt, endsAt), or from endsAt on'),
    match: z
      .object({ categories: z.array(z.string()).optional(), skus: z.array(z.string()).optional() })
      .optional(),
    audience: z
      .object({ tiers: z.array(z.string()).optional(), status: z.literal('lapsed').optional() })
      .optional(),
    daysOfWeek: z.array(z.int().min(0).max(6)).optional(),
    multiplier: z.number().optional(),
    points: z.int().optional(),
    refereePoints: z.int().optional(),
    minSpend: z.optional(moneySchema),
    firstPurchaseOnly: z.boolean().optional(),
    holdout: z
      .number()
      .min(0)
      .max(0.5)
      .optional()
      .describe(
        "A win-back campaign's holdout share: customers flagged while it runs are held out " +
          'of the offer with this probability (GET /v1/campaigns/{id}/uplift)',
      ),
    createdAt: timestamp,
    stats: z
      .object({
        purchases: z.int().min(0).describe('Purchases it added points to'),
        customers: z.int().min(0).describe('Distinct customers it added points for'),
        pointsAwarded: z.int().min(0).describe('Points it added (refunds do not take them back)'),
      })
      .describe('Exact, however many tills record at once'),
  })
  .describe('A campaign: its rules, its status now, and what it has awarded');

export const purchaseQuoteSchema = z
  .object({
    pointsEarned: z.int().min(0),
    breakdown: breakdownSchema,
    customer: customerSchema.describe('The customer as they would be after the purchase'),
  })
  .describe('What the purchase would earn if recorded now; nothing was written');

const itemErrorSchema = z
  .object({
    index: z.int().min(0).describe("The item's position in `items`"),
    code: z
      .string()
      .describe(
        'The problem code the single route would answer for it. `service-unavailable` is the ' +
          'one to send again as it is: the item was not applied (the database failed or was ' +
          'too busy), and sent again it is applied, or found already recorded. Any other code ' +
          'gets the same answer until the item is changed; `internal-error` says the database ' +
          'refused to write it (logged, nothing of it written), and the rest of the batch went ' +
          'on.',
      ),
    detail: z.string(),
  })
  .describe('An item not imported, and why');

const indexedCustomer = z.object({ index: z.int().min(0), customerId: z.string() });

export const customerImportSchema = z
  .object({
    created: z.int().min(0),
    createdCustomers: z
      .array(indexedCustomer)
      .describe('The customers created, by item index (to map your own ids to customer ids)'),
    existing: z
      .array(
        indexedCustomer.extend({
          matchedBy: z
            .enum(['externalId', 'email', 'phone'])
            .describe(
              "The identifier it was found by: the item's externalId when that customer has " +
                "it, else its email or phone. The item's other identifiers are not added to " +
                'that customer (an externalId belongs to it only when matchedBy is externalId)',
            ),
        }),
      )
      .describe(
        'Items whose identifier already belongs to a customer (in the table, or to an earlier ' +
          'item of the batch): that customer, left as it is',
      ),
    errors: z.array(itemErrorSchema),
  })
  .describe('What a customers batch did, item by item');

export const purchaseImportSchema = z
  .object({
    imported: z.int().min(0),
    duplicates: z
      .int()
      .min(0)
      .describe(
        'Items whose receiptId was already recorded at their store, or earlier in the batch',
      ),
    errors: z.array(itemErrorSchema),
  })
  .describe('What a purchases batch did');

export const erasedCustomerSchema = z
  .object({
    id: z.string(),
    status: z.literal('erased'),
    erasedAt: timestamp.describe('When the customer was erased on request'),
  })
  .describe(
    'A customer erased on request: nothing else is kept of them but the financial record ' +
      '(ledger, purchases, refunds, redemptions) under this id',
  ) satisfies z.ZodType<ErasedCustomerView>;

export const erasureSchema = z
  .object({
    id: z.string(),
    status: z.literal('erased'),
    pointsForfeited: z
      .int()
      .describe(
        'The available and pending points forfeited (after open holds were voided), by one ' +
          '`erase` ledger entry: the liability falls by their value. Negative when a refund ' +
          'had taken the balance below 0: that debt is forgiven',
      ),
  })
  .describe('What an erase did');

/** Every schema that becomes a named component, by id. */
export const named: Record<string, z.core.$ZodType> = {
  Money: moneySchema,
  MoneyTotal: moneyTotalSchema,
  PurchaseLine: purchaseLineSchema,
  FieldError: fieldErrorSchema,
  Problem: problemSchema,
  Program: programSchema,
  CreateCustomer: createCustomerSchema,
  RecordPurchase: recordPurchaseSchema,
  CreateApiKey: createApiKeySchema,
  Name: nameSchema,
  Customer: customerSchema,
  ErasedCustomer: erasedCustomerSchema,
  Erasure: erasureSchema,
  LedgerEntry: ledgerEntrySchema,
  LedgerPage: pageOf(ledgerEntrySchema),
  Purchase: purchaseSchema,
  RecordedPurchase: recordedPurchaseSchema,
  Store: storeSchema,
  StorePage: pageOf(storeSchema),
  Partner: partnerSchema,
  PartnerPage: pageOf(partnerSchema),
  NewApiKey: newApiKeySchema,
  Health: healthSchema,
  SessionToken: sessionTokenSchema,
  Export: exportSchema,
  ExportRunResult: exportRunSchema,
  RedemptionCode: redemptionCodeSchema,
  Redemption: redemptionSchema,
  Settlement: settlementSchema,
  RefundResult: refundResultSchema,
  ReleaseHoldsResult: releaseHoldsResultSchema,
  JobResult: jobResultSchema,
  Adjustment: adjustmentSchema,
  Event: eventSchema,
  WebhookEndpoint: webhookEndpointSchema,
  NewWebhookEndpoint: newWebhookEndpointSchema,
  WebhookEndpointPage: pageOf(webhookEndpointSchema),
  WebhookSecret: webhookSecretSchema,
  WebhookPing: webhookPingSchema,
  WebhookDelivery: webhookDeliverySchema,
  WebhookDeliveryPage: pageOf(webhookDeliverySchema),
  WebhookRunResult: webhookRunSchema,
  ExpiryRemindersResult: expiryRemindersSchema,
  LapseScanResult: lapseScanResultSchema,
  LapsedCustomer: lapsedCustomerSchema,
  LapsedCustomerPage: pageOf(lapsedCustomerSchema),
  LapseReason: lapseReasonSchema,
  LapseReasonResult: lapseReasonResultSchema,
  LapseQuality: lapseQualitySchema,
  RetentionReport: retentionSchema,
  DailyReport: dailyReportSchema,
  DailyReportRow: dailyRowSchema,
  RollUpResult: rollUpResultSchema,
  EventPage: pageOf(eventSchema),
  Campaign: campaignSchema,
  CampaignPage: pageOf(campaignSchema),
  CampaignUplift: upliftSchema,
  CreateCampaign: createCampaignSchema,
  PatchCampaign: patchCampaignSchema,
  PurchaseQuote: purchaseQuoteSchema,
  ImportCustomers: importCustomersSchema,
  ImportCustomer: importCustomerSchema,
  CustomerImport: customerImportSchema,
  ImportPurchases: importPurchasesSchema,
  ImportPurchase: importPurchaseSchema,
  PurchaseImport: purchaseImportSchema,
};
