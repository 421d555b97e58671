/**
 * Request bodies, validated with zod. Types come from z.infer, and the OpenAPI
 * document (lib/openapi/) is generated from these same schemas.
 *
 * zod/mini rather than classic zod: every function that validates input bundles this
 * file, and mini's tree-shakable functions keep those bundles (and their cold starts)
 * close to a bare DynamoDB client. Mini ships no locale, so the English one is loaded
 * here: the messages are the same as classic zod's.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { isBirthDate } from './domain/birthdays.ts';
import { lapseReasons } from './domain/cadence.ts';
import { campaignTypes, earnsOnPurchase } from './domain/campaigns.ts';
import { MAX_CUSTOMER_POINTS } from './domain/customer.ts';
import { isKeepableInstant } from './domain/days.ts';
import { hasAtMostFourDecimals } from './domain/points.ts';
import { ID_PATTERN } from './ids.ts';

z.config(en());

const id = z.string().check(z.regex(ID_PATTERN, 'must be an id: 1..64 letters, digits, _ or -'));

/** The bound on money (10^12 minor units): every sum the API keeps of such amounts stays exact. */
export const MAX_AMOUNT = 1_000_000_000_000;

/** Items of an import batch, each checked on its own (a bad one is reported, not fatal). */
export const MAX_IMPORT_ITEMS = 500;

/** A batch as read: up to 500 items of any shape, each then parsed with its item schema. */
export const importBatchSchema = z.object({
  items: z.array(z.unknown()).check(z.minLength(1), z.maxLength(MAX_IMPORT_ITEMS)),
});

/** Whether `s` has a control character (C0, DEL or C1); `lines` allows tab, CR and LF. */
function hasControlCharacter(s: string, lines = false): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      (c >= 0x7f && c <= 0x9f) ||
      (c < 0x20 && !(lines && (c === 0x09 || c === 0x0a || c === 0x0d)))
    ) {
      return true;
    }
  }
  return false;
}
const noControl = z.refine<string>((s) => !hasControlCharacter(s), {
  message: 'must not contain control characters',
});
/** Free text (reasons, notes): line breaks and tabs, but no other control characters. */
const noControlButLines = z.refine<string>((s) => !hasControlCharacter(s, true), {
  message: 'must not contain control characters',
});
/** One line of text: no control characters (NUL, escapes, line breaks). */
const line = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), noControl);

/**
 * An RFC 3339 instant between 1970 and 9999: ids, cursors and key ranges are built from
 * instants, and nothing the API keeps happened before 1970.
 */
export const instant = () =>
  z.iso
    .datetime({ offset: true })
    .check(
      z.refine(
        (s) => isKeepableInstant(Date.parse(s)),
        'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z',
      ),
    );

/**
 * Registered rather than given a `z.meta({ id })` check: checks are carried into every
 * clone (`moneySchema.check(...)` below and in lib/openapi/responses.ts), which would give the
 * clones the id too. A clone keeps a parent link, so the JSON Schema still refs Money.
 */
export const moneySchema = z
  .object({
    amount: z
      .int()
      .check(
        z.minimum(0),
        z.maximum(MAX_AMOUNT),
        z.describe('Integer minor units (cents for USD), 0..10^12'),
      ),
    currency: z
      .string()
      .check(z.regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'), z.describe('ISO 4217')),
  })
  .register(z.globalRegistry, { id: 'Money' });

const tierId = z
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

const customerFields = z.object({
  externalId: z.optional(line(128)),
  email: z.optional(z.email().check(z.maxLength(254))),
  phone: z.optional(
    z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number such as +14155550123')),
  ),
  name: z.optional(line(200)),
  birthDate: z
    .optional(
      z
        .string()
        .check(
          z.refine(isBirthDate, 'must be a real date as YYYY-MM-DD, or --MM-DD without a year'),
        ),
    )
    .check(z.describe('Birthday campaigns credit on this UTC day each year')),
  referredBy: z
    .optional(id)
    .check(
      z.describe(
        "The referring customer's id: a referral campaign pays both on this customer's first " +
          'purchase with earnable spend (not a 0.00 one), pending like its points; a full refund ' +
          'of it inside the pending window takes both back',
      ),
    ),
});

const atLeastOneIdentifier = z.refine<{ externalId?: string; email?: string; phone?: string }>(
  (c) => c.externalId !== undefined || c.email !== undefined || c.phone !== undefined,
  { message: 'at least one of externalId, email or phone is required', path: [] },
);

export const createCustomerSchema = customerFields.check(
  atLeastOneIdentifier,
  z.meta({ id: 'CreateCustomer' }),
);

/** A member brought from another system: no referrer; an opening balance instead. */
export const importCustomerSchema = z
  .extend(z.omit(customerFields, { referredBy: true }), {
    openingPoints: z
      .optional(z.int().check(z.minimum(0), z.maximum(MAX_CUSTOMER_POINTS)))
      .check(
        z.describe(
          'Points brought from the old programme: credited once, when the customer is created, ' +
            'as an `adjust` entry with reason `opening balance`',
        ),
      ),
  })
  .check(atLeastOneIdentifier, z.meta({ id: 'ImportCustomer' }));

/** The customers import's body as documented (items are checked one by one: see importBatchSchema). */
export const importCustomersSchema = z
  .object({
    items: z.array(importCustomerSchema).check(z.minLength(1), z.maxLength(MAX_IMPORT_ITEMS)),
  })
  .check(z.meta({ id: 'ImportCustomers' }));

export const customerLookupSchema = z
  .object({
    email: z.optional(z.email().check(z.maxLength(254))),
    phone: z.optional(z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number'))),
    externalId: z.optional(line(128)),
  })
  .check(
    z.refine((q) => [q.email, q.phone, q.externalId].filter((v) => v !== undefined).length === 1, {
      message: 'give exactly one of email, phone or externalId',
      path: [],
    }),
  );

export const purchaseLineSchema = z.object({
  sku: line(64),
  category: z.optional(line(64)),
  quantity: z.int().check(z.minimum(1), z.maximum(1_000_000)),
  unitPrice: moneySchema,
});

const purchaseFields = z.object({
  customerId: id,
  total: moneySchema,
  occurredAt: z
    .optional(instant())
    .check(z.describe('RFC 3339; defaults to now; at most 5 minutes ahead')),
  receiptId: z.optional(line(128)).check(z.describe('Unique per store')),
  storeId: z
    .optional(id)
    .check(z.describe('Required with an admin key; a pos key records for its store')),
  lines: z
    .optional(z.array(purchaseLineSchema).check(z.maxLength(500)))
    .check(
      z.describe(
        "What was bought. Lines earn by category and SKU in campaigns; lines in the program's " +
          'excludedCategories earn nothing. Their spend (quantity x unitPrice) may not exceed ' +
          'the total; the rest of the total (tax, fees) earns like any spend.',
      ),
    ),
});

const linesWithinTotal = z.refine<{
  total: { amount: number };
  lines?: { quantity: number; unitPrice: { amount: number } }[];
}>(
  // Each product is compared before summing: a product past 2^53 is inexact but still
  // far above any total (at most 10^12), and at most 500 exact products are summed.
  (p) => {
    let sum = 0;
    for (const l of p.lines ?? []) {
      const spend = l.quantity * l.unitPrice.amount;
      if (spend > p.total.amount) return false;
      sum += spend;
    }
    return sum <= p.total.amount;
  },
  { message: "the lines' spend (quantity x unitPrice) exceeds the total", path: ['lines'] },
);

export const recordPurchaseSchema = purchaseFields.check(
  linesWithinTotal,
  z.meta({ id: 'RecordPurchase' }),
);

/** A purchase from a till's history: the store, receipt and time are required. */
export const importPurchaseSchema = z
  .extend(purchaseFields, {
    storeId: id,
    receiptId: line(128).check(
      z.describe('Unique per store: a receipt already recorded there is skipped as a duplicate'),
    ),
    occurredAt: instant().check(
      z.describe('RFC 3339; any time in the past (at most 5 minutes ahead)'),
    ),
  })
  .check(linesWithinTotal, z.meta({ id: 'ImportPurchase' }));

/** The purchases import's body as documented (items are checked one by one). */
export const importPurchasesSchema = z
  .object({
    items: z.array(importPurchaseSchema).check(z.minLength(1), z.maxLength(MAX_IMPORT_ITEMS)),
  })
  .check(z.meta({ id: 'ImportPurchases' }));

export const authorizeRedemptionSchema = z
  .object({
    code: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(32),
        z.regex(/^[A-Za-z0-9]+$/, 'must be letters and digits'),
        z.describe("The customer's redemption code"),
      ),
    amount: moneySchema.check(
      z.refine((m) => m.amount >= 1, { message: 'must be at least 1', path: ['amount'] }),
    ),
    capture: z
      .optional(z.boolean())
      .check(z.describe('Capture at once (default false: authorize a hold)')),
    storeId: z.optional(id).check(z.describe('Admin keys name the store or the partner redeeming')),
    partnerId: z.optional(id),
  })
  .check(z.meta({ id: 'AuthorizeRedemption' }));

export const settlementQuerySchema = z.object({
  from: instant().check(z.describe('Start, inclusive (RFC 3339)')),
  to: instant().check(z.describe('End, exclusive (RFC 3339)')),
});

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

export const refundSchema = z
  .object({
    amount: moneySchema.check(
      z.refine((m) => m.amount >= 1, { message: 'must be at least 1', path: ['amount'] }),
    ),
  })
  .check(z.meta({ id: 'Refund' }));

export const adjustmentSchema = z
  .object({
    points: z.int().check(
      z.minimum(-1_000_000_000),
      z.maximum(1_000_000_000),
      z.refine((p) => p !== 0, { message: 'must not be 0' }),
      z.describe('Signed: > 0 credits (goodwill), < 0 debits (a correction)'),
    ),
    reason: z
      .string()
      .check(
        z.trim(),
        z.minLength(1),
        z.maxLength(500),
        noControlButLines,
        z.describe('Why: kept on the ledger entry'),
      ),
  })
  .check(z.meta({ id: 'Adjustment' }));

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
          'customer with no churnRisk last)',
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

export const nameSchema = z.object({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(200), noControl),
});

export const roles = ['admin', 'pos', 'partner', 'app'] as const;

const apiKeyFields = z.object({
  role: z.enum(roles),
  storeId: z.optional(id),
  partnerId: z.optional(id),
  name: z.optional(line(200)),
});

export const createApiKeySchema = apiKeyFields.check(
  z.superRefine((k: z.output<typeof apiKeyFields>, ctx) => {
    if (k.role === 'pos' && !k.storeId) {
      ctx.addIssue({ code: 'custom', path: ['storeId'], message: 'a pos key needs a storeId' });
    }
    if (k.role !== 'pos' && k.storeId) {
      ctx.addIssue({ code: 'custom', path: ['storeId'], message: 'only a pos key has a storeId' });
    }
    if (k.role === 'partner' && !k.partnerId) {
      ctx.addIssue({
        code: 'custom',
        path: ['partnerId'],
        message: 'a partner key needs a partnerId',
      });
    }
    if (k.role !== 'partner' && k.partnerId) {
      ctx.addIssue({
        code: 'custom',
        path: ['partnerId'],
        message: 'only a partner key has a partnerId',
      });
    }
  }),
  z.meta({ id: 'CreateApiKey' }),
);

export const pageQuerySchema = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});

const campaignFields = z.object({
  name: line(200),
  type: z.enum(campaignTypes),
  startsAt: z.optional(instant()).check(z.describe('Inclusive; defaults to now')),
  endsAt: z
    .optional(z.nullable(instant()))
    .check(z.describe('Exclusive; null or absent: runs until ended (PATCH)')),
  match: z.optional(
    z
      .object({
        categories: z.optional(z.array(line(64)).check(z.maxLength(100))),
        skus: z.optional(z.array(line(64)).check(z.maxLength(500))),
      })
      .check(
        z.refine((m) => (m.categories?.length ?? 0) + (m.skus?.length ?? 0) > 0, {
          message: 'name at least one category or SKU',
        }),
        z.describe(
          'Only lines in one of these categories or with one of these SKUs count; without ' +
            'a match, all earnable spend does',
        ),
      ),
  ),
  audience: z.optional(
    z
      .object({
        tiers: z.optional(z.array(tierId).check(z.minLength(1), z.maxLength(20))),
        status: z.optional(z.literal('lapsed')),
      })
      .check(
        z.describe(
          'Whom it is for, as they were before the purchase: tiers held, or lapsed customers ' +
            '(a win-back offer: it applies to the purchase that reactivates them, one dated ' +
            'after the lapse; a purchase dated before it, recorded late, is no return)',
        ),
      ),
  ),
  daysOfWeek: z.optional(
    z.array(z.int().check(z.minimum(0), z.maximum(6))).check(
      z.minLength(1),
      z.maxLength(7),
      z.refine((d) => new Set(d).size === d.length, 'days must not repeat'),
      z.describe("UTC days of the purchase's occurredAt, 0 = Sunday; default every day"),
    ),
  ),
  multiplier: z.optional(
    z.number().check(
      z.refine((m) => m > 1 && m <= 10, 'must be more than 1 and at most 10'),
      z.refine(hasAtMostFourDecimals, 'must have at most 4 decimal places'),
      z.describe('`multiplier`: matching spend earns m x its base points (m - 1 extra)'),
    ),
  ),
  points: z.optional(
    z
      .int()
      .check(
        z.minimum(1),
        z.maximum(1_000_000),
        z.describe(
          '`bonus`: extra points per purchase; `enrolment`, `birthday`: points credited; ' +
            '`referral`: what the referrer gets',
        ),
      ),
  ),
  refereePoints: z.optional(
    z
      .int()
      .check(
        z.minimum(1),
        z.maximum(1_000_000),
        z.describe(
          '`referral`: what the referred customer gets on their first purchase with earnable spend',
        ),
      ),
  ),
  minSpend: z.optional(moneySchema).check(z.describe('`bonus`: matching spend needed')),
  firstPurchaseOnly: z
    .optional(z.boolean())
    .check(z.describe("`bonus`: only on the customer's first purchase ever")),
});

export const createCampaignSchema = campaignFields.check(
  z.superRefine((c: z.output<typeof campaignFields>, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (
      c.startsAt !== undefined &&
      c.endsAt != null &&
      Date.parse(c.endsAt) <= Date.parse(c.startsAt)
    ) {
      issue('endsAt', 'must be after startsAt');
    }
    if (c.type === 'multiplier' && c.multiplier === undefined)
      issue('multiplier', 'required for a multiplier campaign');
    if (c.type !== 'multiplier' && c.multiplier !== undefined)
      issue('multiplier', 'only for a multiplier campaign');
    if (c.type !== 'multiplier' && c.points === undefined) {
      issue('points', `required for a ${c.type} campaign`);
    }
    if (c.type !== 'referral' && c.refereePoints !== undefined) {
      issue('refereePoints', 'only for a referral campaign');
    }
    if (c.type === 'multiplier' && c.points !== undefined)
      issue('points', 'not for a multiplier campaign');
    if (c.type !== 'bonus' && c.minSpend !== undefined)
      issue('minSpend', 'only for a bonus campaign');
    if (c.type !== 'bonus' && c.firstPurchaseOnly !== undefined) {
      issue('firstPurchaseOnly', 'only for a bonus campaign');
    }
    if (!earnsOnPurchase(c) && c.match !== undefined) {
      issue('match', `a ${c.type} campaign credits no purchase, so it has no match`);
    }
  }),
  z.meta({ id: 'CreateCampaign' }),
);

export const patchCampaignSchema = z
  .strictObject({
    name: z.optional(line(200)),
    endsAt: z
      .optional(z.nullable(instant()))
      .check(z.describe('End it early, extend it, or (null) let it run until ended')),
  })
  .check(
    z.refine((p) => p.name !== undefined || p.endsAt !== undefined, {
      message: 'give name or endsAt',
      path: [],
    }),
    z.meta({ id: 'PatchCampaign' }),
  );

export const campaignListQuerySchema = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  status: z
    .optional(z.enum(['scheduled', 'active', 'ended']))
    .check(z.describe('Only campaigns in this status now')),
});

export type CreateCampaignInput = z.infer<typeof createCampaignSchema>;
export type PatchCampaignInput = z.infer<typeof patchCampaignSchema>;
export type ProgramInput = z.infer<typeof programSchema>;
export type CreateCustomerInput = z.infer<typeof createCustomerSchema>;
export type RecordPurchaseInput = z.infer<typeof recordPurchaseSchema>;
export type ImportCustomerInput = z.infer<typeof importCustomerSchema>;
export type ImportPurchaseInput = z.infer<typeof importPurchaseSchema>;
export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
export type AdjustmentInput = z.infer<typeof adjustmentSchema>;
export type AuthorizeRedemptionInput = z.infer<typeof authorizeRedemptionSchema>;

/** What a webhook endpoint may subscribe to: any type of the outbox's events, or all. */
export const webhookEventTypes = [
  'tier.changed',
  'customer.lapsed',
  'customer.reactivated',
  'points.expiring',
  'program.lapse-calibrated',
  '*',
] as const;

export const createWebhookEndpointSchema = z
  .object({
    url: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(2048),
        noControl,
        z.describe(
          'https; http only to a loopback address on the local runtime. Private, loopback, ' +
            'link-local and metadata addresses are refused, also when a name resolves to one.',
        ),
      ),
    events: z
      .array(z.enum(webhookEventTypes))
      .check(
        z.minLength(1),
        z.maxLength(webhookEventTypes.length),
        z.describe('The event types to receive, or ["*"] for all'),
      ),
    description: z.optional(line(500)),
  })
  .check(z.meta({ id: 'CreateWebhookEndpoint' }));
