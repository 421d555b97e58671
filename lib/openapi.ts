/**
 * The OpenAPI 3.1 document, generated from the route table (lib/routes.ts) and the very
 * zod schemas that validate requests (lib/schemas.ts), so it cannot drift from what is
 * served. Response shapes are zod schemas here too, which lets tests check real responses
 * against them. Served at GET /v1/openapi.json.
 */
import * as z from 'zod';
import { lapseReasons } from './domain/customer.ts';
import { type ProblemCode, ProblemError } from './errors.ts';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH } from './http/handler.ts';
import { type Route, routes } from './routes.ts';
import {
  adjustmentSchema,
  authorizeRedemptionSchema,
  createApiKeySchema,
  createCustomerSchema,
  customerLookupSchema,
  jobRunSchema,
  lapsedQuerySchema,
  lapseReasonSchema,
  moneySchema,
  nameSchema,
  pageQuerySchema,
  programSchema,
  purchaseLineSchema,
  recordPurchaseSchema,
  refundSchema,
  retentionQuerySchema,
  roles,
  settlementQuerySchema,
} from './schemas.ts';
import { IDEMPOTENCY_TTL_SECONDS } from './store/idempotency.ts';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------
// Problem codes: every code of lib/errors.ts with what it means (tsc insists on all).
// ---------------------------------------------------------------------------------------

export const problemCodeNotes: Record<ProblemCode, string> = {
  'validation-failed':
    'The body, query or a header is not valid; `errors` lists each field as `{path, message}`.',
  unauthorized: 'The API key is missing, unknown or revoked.',
  forbidden:
    "The key's role may not call this route (see `x-roles`), or it acts outside its scope.",
  'not-found': 'The resource does not exist or belongs to another principal; or no such route.',
  conflict: 'Conflicts with an existing resource.',
  'payload-too-large': `The request body is over ${MAX_BODY_BYTES} bytes (64 KiB).`,
  'idempotency-key-required': 'The route requires an `Idempotency-Key` header.',
  'idempotency-key-reused': 'The `Idempotency-Key` was already used for a different request.',
  'idempotency-key-in-use': 'Reserved: never returned in this version (see Idempotency above).',
  'currency-mismatch': "A money amount is not in the program's currency.",
  'insufficient-points': 'Not enough available points.',
  'invalid-redemption-code': 'The redemption code is unknown, already used or expired.',
  'refund-exceeds-purchase': 'The refunds of a purchase would add up to more than its total.',
  'unsupported-media-type':
    'A body was sent with a content type that is not JSON (`application/json` or `*/*+json`); a body without one is read as JSON.',
  'invalid-as-of':
    'A job run with `asOf` more than 5 minutes ahead would act on the future (release live holds, expire points early): send `"dryRun": true` to only count.',
  'rate-limited':
    'Ten wrong redemption codes this minute from this credential: every authorization by it, right code or not, gets 429 until the minute ends; retry after `Retry-After` seconds.',
  'invalid-state':
    'The redemption is not authorized any more: capture or void only an authorized, unexpired one.',
  'internal-error': 'An unexpected error; it was logged. Nothing internal is in the body.',
  'service-unavailable':
    'The database is throttling or the customer is changing too fast; retry after `Retry-After` seconds.',
};

export const problemCodes = Object.keys(problemCodeNotes) as [ProblemCode, ...ProblemCode[]];

// ---------------------------------------------------------------------------------------
// Response schemas
// ---------------------------------------------------------------------------------------

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
 * schemas are zod/mini (lib/schemas.ts), which has no .describe(): a describe check on a
 * clone does the same.
 */
const describedMoney = (description: string) => moneySchema.check(z.describe(description));

const tierRef = z.object({ id: z.string(), name: z.string(), multiplier: z.number() });

export const customerSchema = z
  .object({
    id: z.string().describe('Opaque (`cus_` + ULID)'),
    createdAt: timestamp,
    externalId: z.string().optional(),
    email: z.string().optional().describe('Stored lowercased'),
    phone: z.string().optional().describe('E.164'),
    name: z.string().optional(),
    tier: tierRef.describe(
      'The higher of the tier granted and the tier the current qualifying spend earns',
    ),
    nextTier: z
      .object({ id: z.string(), name: z.string(), spendNeeded: moneySchema })
      .nullable()
      .describe('null at the top tier; spendNeeded is the qualifying spend still missing'),
    qualifyingSpend: moneySchema,
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
    cashValue: moneySchema,
    status: z.enum(['active', 'lapsed']),
    lastPurchaseAt: timestamp.nullable(),
    lapsedAt: timestamp.nullable(),
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
              'job fits daily on all customers; null before the first fit or purchase',
          ),
        expectedPurchases90d: z
          .number()
          .min(0)
          .nullable()
          .describe('BG/NBD expected purchase days in the next 90 days; null like pAlive'),
      })
      .describe('The purchase rhythm the lapse rule and the model use'),
  })
  .describe('A customer: profile, tier, balances and cadence');

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
] as const;

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
      'Signed effect on pending points: +N on `pending`, -N on `activate`, and -N on a ' +
        '`refund` inside the pending window',
    ),
  balanceAfter: z.int().describe('Available points after this entry'),
  at: timestamp,
  purchaseId: z.string().optional(),
  refundId: z.string().optional(),
  redemptionId: z.string().optional(),
  reason: z.string().optional(),
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
  lines: z.array(purchaseLineSchema).optional().describe('As sent; not checked against total'),
  pointsEarned: z.int().min(0),
  pointsStatus: z.enum(['available', 'pending']),
  availableAt: timestamp.optional().describe('When pending points become available'),
};

export const purchaseSchema = z
  .object({ ...purchaseFields, refunded: describedMoney('Refunded so far') })
  .describe('A recorded purchase');

export const recordedPurchaseSchema = z
  .object({ ...purchaseFields, customer: customerSchema })
  .describe('A purchase just recorded, with the customer as it is after it');

const placeSchema = (what: string) =>
  z.object({ id: z.string(), name: z.string(), createdAt: timestamp }).describe(`A ${what}`);

export const storeSchema = placeSchema('store (sto_ + ULID)');
export const partnerSchema = placeSchema('partner retailer (ptn_ + ULID)');

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

export const healthSchema = z.object({ status: z.literal('ok') });

export const redemptionSchema = z.object({
  id: z.string().describe('red_ + ULID'),
  status: z.enum(['authorized', 'captured', 'voided', 'expired']),
  customerId: z.string(),
  amount: moneySchema,
  points: z.int().describe('ceil(amount x cashValue.points / cashValue.amount)'),
  expiresAt: timestamp.describe('When an uncaptured authorization lapses and its points go back'),
  storeId: z.string().optional(),
  partnerId: z.string().optional(),
  createdAt: timestamp,
});

export const settlementSchema = z.object({
  partnerId: z.string(),
  from: timestamp,
  to: timestamp,
  count: z.int().describe('Captured redemptions in [from, to)'),
  amount: describedMoney('What the programme owes the partner'),
  points: z.int(),
});

/** On a job's answer to a dry run: what it counted was not done. */
const dryRunField = z
  .literal(true)
  .optional()
  .describe('Present on a dry run: the counts are what the job would do; nothing changed');

export const releaseHoldsResultSchema = z.object({
  asOf: timestamp,
  released: z
    .int()
    .describe('Authorizations whose lapsed holds were given back by this run (or would be)'),
  dryRun: dryRunField,
});

export const jobResultSchema = z.object({
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

export const eventSchema = z.object({
  id: z.string().describe('evt_ + ULID: unique, so a consumer can drop duplicates'),
  type: z.enum(['tier.changed', 'customer.lapsed', 'customer.reactivated']),
  at: timestamp,
  customerId: z.string(),
  data: z
    .record(z.string(), z.unknown())
    .describe(
      'tier.changed: `{from: {id, name}, to: {id, name}, direction: "up"|"down", reason: ' +
        '"purchase"|"review"|"program", qualifyingSpend: Money}`',
    ),
});

const modelSchema = z
  .object({
    r: z.number(),
    alpha: z.number(),
    a: z.number(),
    b: z.number(),
    logLikelihood: z.number(),
    customers: z.int().describe('Customers with a purchase the model was fitted on'),
    fittedAt: timestamp,
  })
  .describe('BG/NBD parameters (time in weeks), fitted on up to 20,000 customers');

export const lapseScanResultSchema = z.object({
  asOf: timestamp,
  flagged: z.int().describe('Customers this run flagged as lapsed'),
  complete: z
    .boolean()
    .describe('false if the run stopped at its time budget; the next run carries on'),
  model: modelSchema
    .nullable()
    .describe(
      'The model after this run (a dry run leaves it as it was); null until 30 customers have bought',
    ),
  dryRun: dryRunField,
});

export const lapsedCustomerSchema = z.object({
  customerId: z.string(),
  lastPurchaseAt: timestamp.nullable(),
  typicalGapDays: z.number().nullable(),
  daysSinceLastPurchase: z.int().nullable().describe('Whole days, as of the request'),
  lapsedAt: timestamp.describe('When the lapse rule started to hold'),
  annualSpend: describedMoney('Net spend in the current UTC month and the 11 before'),
  valueAtRisk: describedMoney('annualSpend x (1 - pAlive); annualSpend without a model'),
  reason: z.enum(lapseReasons).optional(),
  note: z.string().optional(),
  pAlive: z.number().optional(),
  expectedPurchases90d: z.number().optional(),
});

export const lapseReasonResultSchema = z.object({
  customerId: z.string(),
  lapsedAt: timestamp,
  reason: z.enum(lapseReasons),
  note: z.string().optional(),
  at: timestamp.describe('When the reason was recorded'),
});

export const retentionSchema = z.object({
  asOf: timestamp,
  customers: z.int().describe('Customers enrolled'),
  active: z.int(),
  lapsed: z.int().describe('Customers lapsed now'),
  lapsedLast12Months: z.int().describe('customer.lapsed events in the 12 months to asOf'),
  reactivatedLast12Months: z.int().describe('customer.reactivated events in the 12 months to asOf'),
  valueAtRisk: describedMoney('The trailing-12-month spend (to asOf) of the customers lapsed now'),
  byReason: z
    .record(z.string(), z.object({ customers: z.int(), valueAtRisk: moneySchema }))
    .describe('Lapsed customers by lapse reason; `unknown` where none was recorded'),
});

export const refundResultSchema = z.object({
  id: z.string().describe('ref_ + ULID'),
  purchaseId: z.string(),
  amount: moneySchema,
  pointsReversed: z.int().describe('Points this refund took back'),
  customer: customerSchema.describe('The customer after the refund'),
});

export const redemptionCodeSchema = z.object({
  code: z
    .string()
    .regex(/^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{8}$/)
    .describe('8 characters, single use'),
  expiresAt: z.iso.datetime().describe('10 minutes after creation'),
});

export const sessionTokenSchema = z.object({
  token: z.string().describe('Send as `Authorization: Bearer <token>` to /v1/me routes'),
  expiresAt: z.iso.datetime().describe('At most 1 hour after minting'),
});

/** Every schema that becomes a named component, by id. */
const named: Record<string, z.core.$ZodType> = {
  Money: moneySchema,
  PurchaseLine: purchaseLineSchema,
  FieldError: fieldErrorSchema,
  Problem: problemSchema,
  Program: programSchema,
  CreateCustomer: createCustomerSchema,
  RecordPurchase: recordPurchaseSchema,
  CreateApiKey: createApiKeySchema,
  Name: nameSchema,
  Customer: customerSchema,
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
  RedemptionCode: redemptionCodeSchema,
  Redemption: redemptionSchema,
  Settlement: settlementSchema,
  RefundResult: refundResultSchema,
  ReleaseHoldsResult: releaseHoldsResultSchema,
  JobResult: jobResultSchema,
  Adjustment: adjustmentSchema,
  Event: eventSchema,
  LapseScanResult: lapseScanResultSchema,
  LapsedCustomer: lapsedCustomerSchema,
  LapsedCustomerPage: pageOf(lapsedCustomerSchema),
  LapseReason: lapseReasonSchema,
  LapseReasonResult: lapseReasonResultSchema,
  RetentionReport: retentionSchema,
  EventPage: pageOf(eventSchema),
};

// ---------------------------------------------------------------------------------------
// Operations: what the route table does not say about each route, keyed by its fn
// ---------------------------------------------------------------------------------------

interface Operation {
  summary: string;
  description?: string;
  tag: string;
  body?: z.core.$ZodType;
  /** The body may be left out (the job runs: `{"asOf"}` defaults to now). */
  bodyOptional?: true;
  query?: z.core.$ZodType;
  /** Requires an Idempotency-Key header. */
  idempotent?: boolean;
  status: number;
  /** A component id, or a plain JSON Schema. */
  response?: string | Json;
  /** The success response's media type, when not JSON (the reference page and its script). */
  responseType?: string;
  responseDescription: string;
  /** Route-specific problems; 400/401/403/413/500/503 are added from the route's shape. */
  errors?: [ProblemCode, string][];
}

/** What each tag groups, for the reference's menu. */
const tagNotes: Record<string, string> = {
  meta: 'Liveness, and this reference (the document and its rendered page); no credential.',
  program: 'The loyalty program: earn rate, cash value, tiers, pending days, expiry, lapse rule.',
  customers:
    'Enrol and look up customers, read their balance, tier and ledger, adjust points, and ' +
    'mint session tokens for their app.',
  me: "A customer's own view, with a session token: balance, ledger, redemption codes.",
  purchases: 'Record purchases (points earned at the tier held before) and refund them.',
  redemptions:
    "Spend points as cash at a store or partner with the customer's code: authorize (hold), " +
    'capture or void; what the programme owes each partner.',
  events: 'The outbox of customer.lapsed, customer.reactivated and tier.changed events.',
  lapse:
    'Customers who stopped coming back: the scan that flags them, the list, the reasons, ' +
    'and the retention report.',
  jobs: 'The periodic jobs, run now as of a given time.',
  stores: "The merchant's own stores (pos keys are bound to one).",
  partners: 'Partner retailers that take points as cash (partner keys are bound to one).',
  'api-keys': 'Create and revoke API keys; the plain key is shown once.',
};

const BOUNDS_NOTE =
  "The change would take the customer's points (available, pending and held together, or " +
  'lifetime) past 10^13, or the qualifying spend kept for the tier window past 10^15: ' +
  'nothing is written';

const JOB_BODY =
  'The body (optional) is `{"asOf", "dryRun"}`: asOf defaults to now; more than 5 minutes ' +
  'ahead is 422 `invalid-as-of` unless dryRun is true, which counts what the run would do ' +
  'and changes nothing.';

/** A job that changes customers one by one from its due index (the JobResult jobs). */
function customerJob(name: string, what: string): Operation {
  return {
    tag: 'jobs',
    summary: `Run the ${name} job now, as of asOf`,
    description:
      `${what} Reads only the customers due (a keys-only index), never the table; each ` +
      'customer changes in its own conditional transaction, so reruns and overlapping runs ' +
      'apply nothing twice, and a run cut off is finished by the next. ' +
      JOB_BODY,
    body: jobRunSchema,
    bodyOptional: true,
    status: 200,
    response: 'JobResult',
    responseDescription: 'What the run changed',
  };
}

const operations: Record<string, Operation> = {
  health: {
    tag: 'meta',
    summary: 'Liveness check',
    status: 200,
    response: 'Health',
    responseDescription: 'The API is up',
  },
  openapi: {
    tag: 'meta',
    summary: 'This OpenAPI 3.1 document',
    status: 200,
    response: { type: 'object', description: 'An OpenAPI 3.1 document' },
    responseDescription: 'The document',
  },
  docsPage: {
    tag: 'meta',
    summary: 'This reference, as a page',
    description:
      'An HTML page on which Redoc renders this document (`/v1/openapi.json`) in the browser. ' +
      'The renderer is served by the API too (`GET /docs/redoc.standalone.js`), and the ' +
      "page's content security policy lets the browser fetch nothing from anywhere else.",
    status: 200,
    response: { type: 'string' },
    responseType: 'text/html',
    responseDescription: 'The page',
  },
  docsScript: {
    tag: 'meta',
    summary: "The reference page's renderer (Redoc)",
    description:
      "Redoc's self-contained browser bundle, from the `redoc` npm package; browsers may " +
      'cache it for an hour.',
    status: 200,
    response: { type: 'string' },
    responseType: 'text/javascript',
    responseDescription: 'The script',
  },
  getProgram: {
    tag: 'program',
    summary: 'Read the program',
    description: 'A fresh deployment starts with a usable default program.',
    status: 200,
    response: 'Program',
    responseDescription: 'The program',
  },
  putProgram: {
    tag: 'program',
    summary: 'Replace the program',
    description:
      'Validated as a whole: the first tier starts at qualifyingSpend 0, tier ids are unique, ' +
      'spends strictly increase, multipliers are 1..100 with at most 4 decimals, rates are ' +
      'at most 10^12, and a point is worth at most 900 minor units (so the cash value of a ' +
      'balance stays exact). Unknown fields are rejected. Changes reach every function within 30 s.',
    body: programSchema,
    status: 200,
    response: 'Program',
    responseDescription: 'The program as stored',
  },
  createCustomer: {
    tag: 'customers',
    summary: 'Enrol a customer',
    description:
      'At least one of externalId, email, phone. Emails are stored lowercased and match ' +
      'case-insensitively.',
    body: createCustomerSchema,
    status: 201,
    response: 'Customer',
    responseDescription: 'The new customer',
    errors: [['conflict', 'An identifier already belongs to a customer: see `existingCustomerId`']],
  },
  findCustomer: {
    tag: 'customers',
    summary: 'Look a customer up by email, phone or externalId',
    description:
      'Give exactly one of email, phone, externalId (else 400). Emails compare ' +
      'case-insensitively; phone and externalId exactly.',
    query: customerLookupSchema,
    status: 200,
    response: 'Customer',
    responseDescription: 'The customer',
    errors: [
      ['validation-failed', 'Not exactly one of email, phone, externalId, or one is malformed'],
      ['not-found', 'No customer has this identifier'],
    ],
  },
  getCustomer: {
    tag: 'customers',
    summary: 'Read a customer',
    description:
      'The customer as of now. ' +
      'Whatever fell due since the customer last changed (pending points reaching availableAt, ' +
      'expired points, a tier review) is applied, with its ledger entries, before the answer, ' +
      'whether or not the periodic jobs have run.',
    status: 200,
    response: 'Customer',
    responseDescription: 'The customer',
    errors: [['not-found', 'No such customer']],
  },
  listCustomerActivity: {
    tag: 'customers',
    summary: "A customer's ledger, newest first",
    description: 'Available points = the sum of the ledger entries.',
    query: pageQuerySchema,
    status: 200,
    response: 'LedgerPage',
    responseDescription: 'One page of ledger entries',
    errors: [
      ['validation-failed', 'Bad limit, or a cursor not issued for this list'],
      ['not-found', 'No such customer'],
    ],
  },
  createSessionToken: {
    tag: 'customers',
    summary: "Mint a session token for the customer's app",
    description:
      "For a merchant's app backend (app keys) or an admin. The token is an HS256 JWT naming " +
      'the customer, valid at most 1 hour, signed with a per-deployment secret; it opens the ' +
      '/v1/me routes and nothing else.',
    status: 201,
    response: 'SessionToken',
    responseDescription: 'The token and when it expires',
    errors: [['not-found', 'No such customer']],
  },
  getMe: {
    tag: 'me',
    summary: "The token's own customer",
    description:
      'Customer tokens only (Authorization: Bearer); API keys get 403. As of now, like ' +
      'GET /v1/customers/{id}.',
    status: 200,
    response: 'Customer',
    responseDescription: 'The customer the token names',
  },
  listMyActivity: {
    tag: 'me',
    summary: "The token's own ledger, newest first",
    query: pageQuerySchema,
    status: 200,
    response: 'LedgerPage',
    responseDescription: 'One page of ledger entries',
    errors: [['validation-failed', 'Bad limit, or a cursor not issued for this list']],
  },
  createRedemptionCode: {
    tag: 'me',
    summary: 'A single-use redemption code: the customer says yes to one redemption',
    description:
      'Shown in the app and given at the till. 8 characters from ' +
      '23456789ABCDEFGHJKMNPQRSTVWXYZ (no 0/O, 1/I/L, U), valid 10 minutes, used at most once. ' +
      "Nothing else lets a store spend the customer's points.",
    status: 201,
    response: 'RedemptionCode',
    responseDescription: 'The code and when it expires',
  },
  authorizeRedemption: {
    tag: 'redemptions',
    summary: "Spend a customer's points as cash: authorize a hold (or capture at once)",
    description:
      'pos keys redeem for their store, partner keys for their partner; admin keys name exactly ' +
      "one of storeId or partnerId. The code is the customer's consent and is used once. " +
      'Points = ceil(amount x cashValue.points / cashValue.amount) leave `available` at once ' +
      '(a `hold` ledger entry) and wait in `held` until capture (a 0-point `redeem` entry: the ' +
      'points already left available) or void/expiry after holdMinutes (a `release` entry ' +
      'giving them back). With `capture: true` they are spent at once (`redeem`). However many ' +
      'tills race on one customer, available never goes below 0.',
    body: authorizeRedemptionSchema,
    idempotent: true,
    status: 201,
    response: 'Redemption',
    responseDescription: 'The authorization (or capture)',
    errors: [
      ['invalid-redemption-code', 'The code is unknown, used or expired'],
      ['rate-limited', 'More than 10 wrong codes this minute from this credential'],
      ['insufficient-points', 'Not enough available points'],
      ['currency-mismatch', "The amount is not in the program's currency"],
      ['not-found', "An admin's storeId or partnerId does not exist"],
    ],
  },
  getRedemption: {
    tag: 'redemptions',
    summary: 'Read a redemption',
    description:
      "A lapsed authorization is released when read (status `expired`). Another partner's " +
      "or store's redemption is 404.",
    status: 200,
    response: 'Redemption',
    responseDescription: 'The redemption',
    errors: [['not-found', 'No such redemption, or not yours']],
  },
  captureRedemption: {
    tag: 'redemptions',
    summary: 'Capture an authorized redemption: the held points are spent',
    idempotent: true,
    status: 200,
    response: 'Redemption',
    responseDescription: 'The redemption, now captured',
    errors: [
      ['invalid-state', 'Not authorized any more (voided, expired or captured)'],
      ['not-found', 'No such redemption, or not yours'],
    ],
  },
  voidRedemption: {
    tag: 'redemptions',
    summary: 'Void an authorized redemption: the held points go back',
    idempotent: true,
    status: 200,
    response: 'Redemption',
    responseDescription: 'The redemption, now voided',
    errors: [
      ['invalid-state', 'Not authorized any more (captured, expired or voided)'],
      ['not-found', 'No such redemption, or not yours'],
    ],
  },
  partnerSettlement: {
    tag: 'redemptions',
    summary: 'What the programme owes a partner: its captured redemptions in [from, to)',
    description:
      'By capture time (an immediate capture is captured when authorized). Read from an ' +
      'index by partner and capture time, never a scan. A partner key reads its own only.',
    query: settlementQuerySchema,
    status: 200,
    response: 'Settlement',
    responseDescription: 'Count, amount and points of the captures in the range',
    errors: [
      ['validation-failed', 'from/to missing, not RFC 3339, or to not after from'],
      ['not-found', 'No such partner, or not yours'],
    ],
  },
  runReleaseHolds: {
    tag: 'jobs',
    summary: 'Run the release-holds job now, as of asOf',
    description:
      'The job that runs every 5 minutes: authorizations not captured within holdMinutes ' +
      'expire and their points go back. Reads only the due holds; running it twice releases ' +
      'nothing twice. ' +
      JOB_BODY,
    body: jobRunSchema,
    bodyOptional: true,
    status: 200,
    response: 'ReleaseHoldsResult',
    responseDescription: 'How many holds were released',
  },
  runActivatePending: customerJob(
    'activate-pending',
    'Hourly: pending points whose availableAt has come become available (one `activate` ' +
      'ledger entry per customer).',
  ),
  runExpirePoints: customerJob(
    'expire-points',
    'Daily: points not spent within pointsExpireAfterDays expire, oldest first (one `expire` ' +
      'ledger entry per customer). Does nothing when the program has no expiry.',
  ),
  runReviewTiers: customerJob(
    'review-tiers',
    'Daily: customers whose oldest month of spend has left the qualifying window get the ' +
      'tier their spend now earns; a change records a `tier.changed` event.',
  ),
  runLapseScan: {
    tag: 'lapse',
    summary: 'Run the lapse-scan job now, as of asOf',
    description:
      'Daily (hourly in the local server): flags the active customers with at least ' +
      'lapse.minPurchases purchases whose silence at asOf exceeds max(lapse.minDays, ' +
      'lapse.factor x typicalGapDays): status `lapsed`, lapsedAt = the moment the rule ' +
      'started to hold, and one `customer.lapsed` event, in one transaction. Reads only the ' +
      'customers due (the keys-only LapseDue index), never the table; a customer flagged ' +
      'leaves the index, so a rerun flags nobody twice and a run cut off is finished by the ' +
      'next. Then refits the BG/NBD model on up to 20,000 customers (whole shards of the ' +
      'Customers index). A rule change (PUT /v1/program) applies to a customer from their ' +
      'next purchase. ' +
      JOB_BODY,
    body: jobRunSchema,
    bodyOptional: true,
    status: 200,
    response: 'LapseScanResult',
    responseDescription: 'Who was flagged, and the model',
  },
  listLapsedCustomers: {
    tag: 'lapse',
    summary: 'Lapsed customers: who, since when, what they were worth, why',
    description:
      'Most recently lapsed first, or `sort=valueAtRisk`: annualSpend x (1 - pAlive), ' +
      'highest first (ties by customerId). That order is computed over all lapsed customers ' +
      'as of the first page, and the cursor keeps it for the next pages. A customer who ' +
      'buys again leaves the list.',
    query: lapsedQuerySchema,
    status: 200,
    response: 'LapsedCustomerPage',
    responseDescription: 'A page of lapsed customers',
  },
  putLapseReason: {
    tag: 'lapse',
    summary: 'Record why a lapsed customer left (what the win-back call learned)',
    description:
      'Replaces any earlier reason. Cleared when the customer buys again (the ' +
      '`customer.reactivated` event carries it).',
    body: lapseReasonSchema,
    status: 200,
    response: 'LapseReasonResult',
    responseDescription: 'The reason recorded',
    errors: [
      ['invalid-state', 'The customer is not lapsed'],
      ['not-found', 'No such customer'],
    ],
  },
  retentionReport: {
    tag: 'lapse',
    summary: "The programme's retention figures",
    description:
      'customers, active, lapsed, valueAtRisk and byReason describe the customers as they ' +
      'are now (valueAtRisk sums their spend in the 12 months to asOf); lapsedLast12Months ' +
      'and reactivatedLast12Months count the events in the 12 months to asOf. Reads the ' +
      'lapsed customers, the events of those 12 months and 16 counter items, not the table.',
    query: retentionQuerySchema,
    status: 200,
    response: 'RetentionReport',
    responseDescription: 'The report',
  },
  adjustPoints: {
    tag: 'customers',
    summary: 'Adjust points with a reason (goodwill, complaint compensation, corrections)',
    description:
      'points > 0 credits (a new lot, expiring like points earned today); points < 0 debits ' +
      'the oldest points first. A debit may not take available points below 0. The reason ' +
      'is kept on the ledger entry. Adjustments do not change lifetimeEarned.',
    body: adjustmentSchema,
    idempotent: true,
    status: 201,
    response: 'LedgerEntry',
    responseDescription: 'The `adjust` ledger entry',
    errors: [
      ['insufficient-points', 'The debit would take available points below 0'],
      ['validation-failed', BOUNDS_NOTE],
      ['not-found', 'No such customer'],
    ],
  },
  listEvents: {
    tag: 'events',
    summary: 'Events, oldest first',
    description:
      'The outbox: each event is written in the same transaction as the change it reports, ' +
      'so none is lost: `tier.changed` (upgrades on purchase, downgrades at review), ' +
      '`customer.lapsed` (the lapse scan) and `customer.reactivated` (the next purchase). Ids are ' +
      'unique for deduplication; the order is by time to the millisecond.',
    query: pageQuerySchema,
    status: 200,
    response: 'EventPage',
    responseDescription: 'A page of events',
  },
  refundPurchase: {
    tag: 'purchases',
    summary: 'Refund part or all of a purchase: its points come back out',
    description:
      'Refunds add up to at most the purchase total. Points reversed in total for a purchase ' +
      '= floor(pointsEarned x refunded / total), applied cumulatively, so ten partial refunds ' +
      'reverse exactly what one refund of the same sum would. Available points may go below 0 ' +
      '(the customer then cannot redeem until earnings cover it); lifetimeEarned goes down by ' +
      'the same points, and the refunded spend leaves the qualifying window. A pos key ' +
      "refunds its own store's purchases only (another's is 404).",
    body: refundSchema,
    idempotent: true,
    status: 201,
    response: 'RefundResult',
    responseDescription: 'The refund and the customer after it',
    errors: [
      ['refund-exceeds-purchase', 'The refunds would add up to more than the total'],
      ['currency-mismatch', "Not the purchase's currency"],
      ['not-found', "No such purchase, or another store's"],
    ],
  },
  recordPurchase: {
    tag: 'purchases',
    summary: 'Record a purchase and award its points',
    description:
      'A pos key records for its own store (storeId may be omitted, or must be its own); ' +
      'an admin key must name storeId. occurredAt defaults to now; more than 5 minutes ' +
      'ahead, or (except for admin keys, for imports) more than maxBackdateDays back, is ' +
      'a 400. Points = floor(floor(total x earnRate.points / earnRate.per) x multiplier of ' +
      'the tier held before the purchase). Every unitPrice in `lines` must be in the ' +
      'program currency; lines are stored but not checked against total (discounts).',
    body: recordPurchaseSchema,
    idempotent: true,
    status: 201,
    response: 'RecordedPurchase',
    responseDescription: 'The purchase (or, with `Idempotent-Replayed: true`, its replay)',
    errors: [
      ['validation-failed', 'An admin key without storeId; occurredAt out of range'],
      ['validation-failed', BOUNDS_NOTE],
      ['forbidden', "A pos key sending another store's storeId"],
      ['not-found', 'Unknown customerId, or unknown storeId (admin keys)'],
      ['conflict', 'This receiptId was already recorded at this store'],
      ['currency-mismatch', "total or a line's unitPrice is not in the program currency"],
    ],
  },
  getPurchase: {
    tag: 'purchases',
    summary: 'Read a purchase',
    status: 200,
    response: 'Purchase',
    responseDescription: 'The purchase, with what was refunded so far',
    errors: [['not-found', "No such purchase, or (pos keys) another store's purchase"]],
  },
  createStore: {
    tag: 'stores',
    summary: 'Create a store',
    body: nameSchema,
    status: 201,
    response: 'Store',
    responseDescription: 'The new store',
  },
  listStores: {
    tag: 'stores',
    summary: 'List stores, oldest first',
    query: pageQuerySchema,
    status: 200,
    response: 'StorePage',
    responseDescription: 'One page of stores',
    errors: [['validation-failed', 'Bad limit, or a cursor not issued for this list']],
  },
  createPartner: {
    tag: 'partners',
    summary: 'Create a partner retailer',
    body: nameSchema,
    status: 201,
    response: 'Partner',
    responseDescription: 'The new partner',
  },
  listPartners: {
    tag: 'partners',
    summary: 'List partners, oldest first',
    query: pageQuerySchema,
    status: 200,
    response: 'PartnerPage',
    responseDescription: 'One page of partners',
    errors: [['validation-failed', 'Bad limit, or a cursor not issued for this list']],
  },
  createApiKey: {
    tag: 'api-keys',
    summary: 'Create an API key',
    description:
      'A pos key needs storeId, a partner key needs partnerId, and no other role takes ' +
      'either. The plain key is in the response only; the service keeps its hash.',
    body: createApiKeySchema,
    status: 201,
    response: 'NewApiKey',
    responseDescription: 'The key, shown this once',
    errors: [['not-found', 'Unknown storeId or partnerId']],
  },
  revokeApiKey: {
    tag: 'api-keys',
    summary: 'Revoke an API key',
    description:
      'Idempotent: revoking a revoked key answers 204 again. The key stops working within ' +
      "60 s where an authorizer cache sits in front, as API Gateway's does in AWS (the " +
      'authorizer result is cached per key for the TTL, `authorizerCacheSeconds`, 60 s by ' +
      'default); the local server caches the same way (LOYALTY_AUTHORIZER_CACHE_SECONDS).',
    status: 204,
    responseDescription: 'Revoked',
    errors: [['not-found', 'No such key']],
  },
};

// ---------------------------------------------------------------------------------------
// The introduction: conventions and the decisions taken where the contract is silent
// ---------------------------------------------------------------------------------------

const ttlHours = IDEMPOTENCY_TTL_SECONDS / 3600;

const description = `Loyalty points, tiers and redemption for point-of-sale systems, mobile-app backends \
and partner retailers. This document is generated from the service's route table and from the \
schemas it validates requests with.

## Conventions

- JSON in and out. **Money** is \`{"amount": <integer minor units, 0..10^12>, "currency": "<ISO 4217>"}\`; \
a program has one currency and any other gets 422 \`currency-mismatch\`. Timestamps are RFC 3339 UTC. \
IDs are opaque strings.
- **Credentials**: an API key in \`x-api-key\`. Each operation lists the roles that may call it in \
\`x-roles\`; any other role gets 403 \`forbidden\`. A pos key is bound to one store and a partner key to \
one partner; another principal's resource answers 404 \`not-found\`, as if it did not exist.
- **Errors** are RFC 9457 problem details (\`application/problem+json\`) with \`type\` = \
\`urn:loyalty:problem:<code>\`, \`title\`, \`status\`, \`code\`, \`detail\`, \`instance\` (the path) and, \
for validation, \`errors: [{path, message}]\`. Branch on \`code\`. No 5xx for a client mistake.
- **Bodies**: over ${MAX_BODY_BYTES} bytes (64 KiB) get 413 \`payload-too-large\`; a body sent with a \
content type that is not JSON (\`application/json\` or \`*/*+json\`) gets 415 \`unsupported-media-type\` \
(a body without one is read as JSON); nesting deeper than ${MAX_JSON_DEPTH} levels, control characters in \
names and ids, and instants before 1970 or after 9999 get 400 \`validation-failed\`. A path id that \
cannot exist (over 64 characters, or not letters, digits, \`_\` and \`-\`) is 404 \`not-found\`.
- **Pagination**: \`?limit=\` 1..100 (default 25) and \`?cursor=\`, the previous page's \`nextCursor\` \
(opaque, valid only for the list that issued it, else 400). Pages are \`{"items": [...], "nextCursor": \
string | null}\`; \`nextCursor\` is null exactly on the last page.
- **Retries**: 503 \`service-unavailable\` (with \`Retry-After\`) is safe to retry; send the same \
\`Idempotency-Key\` again where the route takes one. In AWS, requests beyond the stage throttle get \
API Gateway's own 429 \`{"message":"Too Many Requests"}\`: retry those with backoff.
- **Reference**: this document is served at \`GET /v1/openapi.json\` and rendered as a page at \
\`GET /docs\`, both without a credential.

## Decisions where the contract is silent

**Idempotency** (\`Idempotency-Key\` on POST /v1/purchases; 1..255 printable ASCII characters, scoped \
to the calling API key):
- The idempotency record is written in the same transaction as the change it records, so a key is \
never "in progress": concurrent requests with one key all get the one result (201 once, then replays \
with \`Idempotent-Replayed: true\`). 409 \`idempotency-key-in-use\` is therefore never returned in this \
version.
- Records are kept ${ttlHours} h.
- Only successful (2xx) results are stored. An error (validation, 404, 409 duplicate receipt, ...) \
stores nothing, so the same key can be retried after fixing the cause.
- Request identity = method + path + canonical JSON body: key order and whitespace do not matter. The \
same key with a different request gets 422 \`idempotency-key-reused\`.

**Purchases**:
- An admin key must name \`storeId\` (400 \`validation-failed\` otherwise); an unknown storeId is 404. \
A pos key sending another store's \`storeId\` gets 403 \`forbidden\`.
- With \`lines\`, each \`unitPrice\` must be in the program currency (422 \`currency-mismatch\`). Lines are \
stored, but totals are not checked against them (discounts).

**Customers**:
- Lookups (GET /v1/customers) take exactly one of \`email\`, \`phone\`, \`externalId\`, else 400. Emails \
compare case-insensitively (they are stored lowercased).
- \`cadence.typicalGapDays\` is the median gap between the most recent 24 distinct purchase days; \
\`pAlive\` and \`expectedPurchases90d\` come from the BG/NBD model the daily lapse scan fits (null before \
its first fit). Points and tier are as of the request: pending points past \`availableAt\`, expired \
points and a due tier review are written (with their ledger entries) before the answer.
- The tier shown is the higher of the tier granted and the tier the current qualifying spend earns. \
Tiers go down only at a review, when the oldest month of spend leaves the window.

**API keys**:
- An unknown \`storeId\` or \`partnerId\` in POST /v1/api-keys: 404 \`not-found\`.
- DELETE /v1/api-keys/{id} on an already revoked key: 204 again (idempotent); an unknown id: 404.
- In AWS, a request with no \`x-api-key\` header at all is refused by API Gateway itself: 401 \
\`{"message":"Unauthorized"}\`, not problem+json, because the authorizer's cache is keyed on that \
header. Locally, and for any present-but-wrong key, the API answers 401 problem+json \`unauthorized\`.
- Revocation takes effect within the authorizer cache TTL (60 s by default), in AWS and locally alike.

**Program**: changes reach all functions within 30 s (each function caches the program).

**Unknown routes**: 404 \`not-found\`.
`;

// ---------------------------------------------------------------------------------------
// Assembly
// ---------------------------------------------------------------------------------------

/** `z.int()` implies the safe-integer range; spelling it out on every integer is noise. */
function dropSafeIntegerBounds({ jsonSchema }: { jsonSchema: Json }): void {
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
}

const JSON_SCHEMA = {
  target: 'draft-2020-12',
  io: 'input',
  override: dropSafeIntegerBounds,
} as const;
const schemaRef = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Named components from the registry; nested ids (`.meta({id})`) become refs. */
function componentSchemas(extra: Map<z.core.$ZodType, string>): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  for (const [schema, id] of extra) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    ...JSON_SCHEMA,
    uri: (id) => `#/components/schemas/${id}`,
  });
  const out: Record<string, Json> = {};
  // Ids known only to the global registry land in `__shared.$defs`: hoist them.
  const { __shared, ...rest } = schemas as Record<string, Json>;
  const shared = (__shared?.$defs ?? {}) as Record<string, Json>;
  for (const [id, { $schema: _, $id: __, ...schema }] of Object.entries({ ...shared, ...rest })) {
    out[id] = schema;
  }
  return JSON.parse(
    JSON.stringify(out).replaceAll(
      '#/components/schemas/__shared#/$defs/',
      '#/components/schemas/',
    ),
  );
}

const idOf = (schema: z.core.$ZodType, fallback: string): string =>
  Object.entries(named).find(([, s]) => s === schema)?.[0] ??
  (z.globalRegistry.get(schema)?.id as string | undefined) ??
  fallback;

const paramNotes: Record<string, string> = {
  limit: 'Page size, 1..100 (default 25)',
  cursor: "The previous page's nextCursor",
  email: 'Case-insensitive',
  phone: 'E.164, e.g. +14155550123',
  externalId: "The merchant's own id",
};

function queryParameters(schema: z.core.$ZodType): Json[] {
  const json = z.toJSONSchema(schema, JSON_SCHEMA) as Json;
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(paramNotes[name] && { description: paramNotes[name] }),
    schema: property,
  }));
}

const pathParameters = (path: string): Json[] =>
  [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string', minLength: 1 },
  }));

function example(code: ProblemCode, path: string): Json {
  const problem = new ProblemError(code);
  return {
    type: `urn:loyalty:problem:${code}`,
    title: problem.title,
    status: problem.status,
    code,
    detail: problemCodeNotes[code].replace(/`/g, ''),
    instance: path,
    ...(code === 'validation-failed' && {
      errors: [{ path: 'total.amount', message: 'Invalid input: expected int, received number' }],
    }),
  };
}

const PROBLEM_JSON = 'application/problem+json';

const THROTTLED_DESCRIPTION =
  "In AWS, the stage's throttle (`throttleRate`/`throttleBurst`) refused the request: API " +
  'Gateway\'s own `{"message":"Too Many Requests"}`, not problem+json. Retry with backoff.';
const THROTTLED_SCHEMA = {
  type: 'object',
  description: "API Gateway's own answer (AWS) when the stage throttle refuses a request",
  properties: { message: { type: 'string', const: 'Too Many Requests' } },
};

function problemResponses(route: Route, op: Operation): Record<string, Json> {
  const found: [ProblemCode, string][] = [];
  const add = (code: ProblemCode, when: string) => {
    if (!found.some(([c, w]) => c === code && w === when)) found.push([code, when]);
  };
  if (op.body) add('validation-failed', 'The body is missing, not JSON, or fails the schema');
  if (op.query && !op.errors?.some(([c]) => c === 'validation-failed')) {
    add('validation-failed', 'A query parameter fails the schema');
  }
  if (op.idempotent) {
    add('idempotency-key-required', 'No Idempotency-Key header');
    add('validation-failed', 'The Idempotency-Key is not 1..255 printable ASCII characters');
  }
  if (route.roles !== 'public') {
    add(
      'unauthorized',
      'Unknown or revoked key, or (locally) none. In AWS a request with no x-api-key ' +
        'header at all gets API Gateway\'s own 401 `{"message":"Unauthorized"}`',
    );
    add('forbidden', "The key's role is not in `x-roles`");
  }
  // Any body sent to a POST, PUT or DELETE is checked, whether or not the route reads it.
  const takesBody = route.method !== 'GET';
  if (takesBody) {
    add('validation-failed', `The body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (route.path.includes('{')) {
    add('not-found', 'A path id of a shape no id has (over 64 characters, or not [A-Za-z0-9_-])');
  }
  if (route.path.startsWith('/v1/jobs/')) {
    add(
      'invalid-as-of',
      'asOf is more than 5 minutes ahead and dryRun is not true (and the deployment does ' +
        'not run with LOYALTY_ALLOW_FUTURE_ASOF=1, for simulations)',
    );
  }
  for (const [code, when] of op.errors ?? []) add(code, when);
  if (takesBody) add('payload-too-large', `The body is over ${MAX_BODY_BYTES} bytes`);
  if (takesBody) {
    add(
      'unsupported-media-type',
      'A body was sent with a content type other than application/json or */*+json',
    );
  }
  if (op.idempotent) add('idempotency-key-reused', 'The key was used for a different request');
  add('internal-error', 'An unexpected error');
  if (route.table.length > 0) {
    add('service-unavailable', 'The database is busy; retry after Retry-After seconds');
  }

  const byStatus = new Map<number, [ProblemCode, string][]>();
  for (const entry of found) {
    const status = new ProblemError(entry[0]).status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), entry]);
  }
  const responses: Record<string, Json> = {};
  for (const [status, entries] of [...byStatus].sort(([a], [b]) => a - b)) {
    const codes = [...new Set(entries.map(([c]) => c))];
    responses[String(status)] = {
      description: entries.map(([code, when]) => `- \`${code}\`: ${when}`).join('\n'),
      ...(codes.includes('service-unavailable') && {
        headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } },
      }),
      content: {
        [PROBLEM_JSON]: {
          schema: schemaRef('Problem'),
          examples: Object.fromEntries(
            codes.map((code) => [code, { value: example(code, route.path) }]),
          ),
        },
        ...(status === 401 && {
          'application/json': {
            schema: {
              type: 'object',
              description: "API Gateway's own answer (AWS) to a request without x-api-key",
              properties: { message: { type: 'string', const: 'Unauthorized' } },
            },
          },
        }),
      },
    };
  }
  // Every route: in AWS the stage throttle may answer first, with API Gateway's own 429.
  const limited = responses['429'];
  if (limited) {
    limited.description = `${limited.description}\n- ${THROTTLED_DESCRIPTION}`;
    (limited.content as Json)['application/json'] = { schema: THROTTLED_SCHEMA };
  } else {
    responses['429'] = { $ref: '#/components/responses/Throttled' };
  }
  return responses;
}

function fallbackOperation(route: Route): Operation {
  const status = route.method === 'POST' ? 201 : route.method === 'DELETE' ? 204 : 200;
  return {
    tag: route.path.split('/')[2] ?? 'other',
    summary: `${route.method} ${route.path}`,
    status,
    responseDescription: 'Not documented yet',
    ...(status !== 204 && { response: { type: 'object' } }),
  };
}

function operationObject(route: Route, op: Operation, bodyIds: Map<z.core.$ZodType, string>): Json {
  const roles = route.roles === 'public' ? ['public'] : route.roles;
  const security =
    route.roles === 'public'
      ? []
      : [
          ...(route.roles.some((r) => r !== 'customer') ? [{ apiKey: [] }] : []),
          ...(route.roles.includes('customer') ? [{ customerToken: [] }] : []),
        ];
  const rolesText =
    route.roles === 'public' ? 'No credential needed.' : `Roles: ${route.roles.join(', ')}.`;
  const parameters = [
    ...pathParameters(route.path),
    ...(op.query ? queryParameters(op.query) : []),
    ...(op.idempotent ? [{ $ref: '#/components/parameters/IdempotencyKey' }] : []),
  ];
  const bodyId = op.body && bodyIds.get(op.body);
  const success: Json = {
    description: op.responseDescription,
    ...(op.idempotent && {
      headers: { 'Idempotent-Replayed': { $ref: '#/components/headers/IdempotentReplayed' } },
    }),
    ...(op.response !== undefined && {
      content: {
        [op.responseType ?? 'application/json']: {
          schema: typeof op.response === 'string' ? schemaRef(op.response) : op.response,
        },
      },
    }),
  };
  return {
    operationId: route.fn,
    summary: op.summary,
    description: [op.description, rolesText].filter(Boolean).join('\n\n'),
    tags: [op.tag],
    'x-roles': roles,
    ...(op.idempotent && { 'x-idempotent': true }),
    security,
    ...(parameters.length > 0 && { parameters }),
    ...(bodyId && {
      requestBody: {
        required: !op.bodyOptional,
        description: `JSON, at most ${MAX_BODY_BYTES} bytes`,
        content: { 'application/json': { schema: schemaRef(bodyId) } },
      },
    }),
    responses: { [String(op.status)]: success, ...problemResponses(route, op) },
  };
}

/** The OpenAPI 3.1 document for every route of the route table. */
export function openApiDocument(): Json {
  const ops = routes.map((route) => ({
    route,
    op: operations[route.fn] ?? fallbackOperation(route),
  }));
  // Request bodies not among the named components get an id of their own.
  const bodyIds = new Map<z.core.$ZodType, string>();
  const extra = new Map<z.core.$ZodType, string>();
  for (const { route, op } of ops) {
    if (!op.body || bodyIds.has(op.body)) continue;
    const fallback = `${route.fn.charAt(0).toUpperCase()}${route.fn.slice(1)}Request`;
    const id = idOf(op.body, fallback);
    bodyIds.set(op.body, id);
    if (!(id in named)) extra.set(op.body, id);
  }

  const paths: Record<string, Record<string, Json>> = {};
  for (const { route, op } of ops) {
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, Json>)[route.method.toLowerCase()] = operationObject(
      route,
      op,
      bodyIds,
    );
  }

  const usesCustomerTokens = routes.some(
    (r) => r.roles !== 'public' && r.roles.includes('customer'),
  );
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Loyalty API',
      version: '1.0.0',
      summary: 'Tiered loyalty points, redemption as virtual cash, lapse detection',
      description,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: '/',
        description:
          'The deployment serving this document: the API Gateway URL in AWS, ' +
          'http://127.0.0.1:3000 under `npm start`',
      },
    ],
    tags: [...new Set(ops.map(({ op }) => op.tag))].map((name) => ({
      name,
      ...(tagNotes[name] && { description: tagNotes[name] }),
    })),
    paths,
    components: {
      schemas: componentSchemas(extra),
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description:
            'An API key (admin, pos, partner or app), created with POST /v1/api-keys and ' +
            'revoked with DELETE /v1/api-keys/{id}. A revoked key stops working within 60 s ' +
            "where an authorizer cache sits in front, as API Gateway's does in AWS (results " +
            'cached per key for `authorizerCacheSeconds`, 60 by default), and locally too.',
        },
        ...(usesCustomerTokens && {
          customerToken: {
            type: 'http',
            scheme: 'bearer',
            description: "A customer session token: the customer's own /v1/me routes",
          },
        }),
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: true,
          description:
            'Makes the request safe to retry: the same key and request return the stored ' +
            `result for ${ttlHours} h. Scoped to the calling API key. Missing: 400 ` +
            '`idempotency-key-required`.',
          schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
        },
      },
      headers: {
        IdempotentReplayed: {
          description: 'Present (`true`) when this is the stored result of an earlier request',
          schema: { type: 'string', enum: ['true'] },
        },
        RetryAfter: {
          description: 'Seconds to wait before retrying',
          schema: { type: 'integer', minimum: 0 },
        },
      },
      responses: {
        Throttled: {
          description: THROTTLED_DESCRIPTION,
          content: { 'application/json': { schema: THROTTLED_SCHEMA } },
        },
      },
    },
  };
}
