/** What the route table does not say about each route, keyed by its function. */
import type * as z from 'zod';
import type { ErrorCode } from '../errors.ts';
import { createApiKeySchema } from '../schemas/apiKeys.ts';
import {
  campaignListQuerySchema,
  createCampaignSchema,
  patchCampaignSchema,
  upliftQuerySchema,
} from '../schemas/campaigns.ts';
import { nameSchema, pageQuerySchema } from '../schemas/common.ts';
import {
  adjustmentSchema,
  createCustomerSchema,
  customerLookupSchema,
  mergeSchema,
} from '../schemas/customers.ts';
import { importCustomersSchema, importPurchasesSchema } from '../schemas/imports.ts';
import { programSchema } from '../schemas/program.ts';
import { recordPurchaseSchema, refundSchema } from '../schemas/purchases.ts';
import { authorizeRedemptionSchema, settlementQuerySchema } from '../schemas/redemptions.ts';
import {
  dailyReportQuerySchema,
  jobRunSchema,
  lapsedQuerySchema,
  lapseReasonSchema,
  retentionQuerySchema,
} from '../schemas/reports.ts';
import { createWebhookEndpointSchema } from '../schemas/webhooks.ts';

type Json = Record<string, unknown>;

/** A customer, or what is left of one erased on request. */
const CUSTOMER_OR_ERASED = {
  oneOf: [
    { $ref: '#/components/schemas/Customer' },
    { $ref: '#/components/schemas/ErasedCustomer' },
  ],
};

const ERASE_NOTE =
  'At once: their name, email, phone, externalId, birthDate and the identifiers kept from ' +
  'merges are gone from the customer, from the items that found them (a lookup by them ' +
  'answers 404, and they may enrol again as a new customer), from the answers kept for ' +
  'replays of requests about them (a replay answers without them), and their exports are ' +
  'deleted; open holds are voided, unused redemption codes cancelled, and every available ' +
  'and pending point forfeited by one `erase` ledger entry (the liability falls by their ' +
  'value). The ledger, purchases, refunds and redemptions stay under the bare id, so ' +
  'reports and settlements do not change. The customer reads `{id, status: "erased", ' +
  'erasedAt}` from then on, and every call that would change them answers 409 ' +
  '`customer-erased`. An event `customer.erased` tells your systems to erase what they ' +
  'hold. Outcomes and events carry the bare id only. Idempotent.';

export interface Operation {
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
  errors?: [ErrorCode, string][];
}

/** What each tag groups, for the reference's menu. */
export const tagNotes: Record<string, string> = {
  meta: 'Liveness, and this reference (the document and its rendered page); no credential.',
  console:
    'The merchant console, a web page served by the API (no credential to load it; it signs ' +
    'in with an admin key).',
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
  webhooks:
    "Signed, retried deliveries of every event to the merchant's systems: endpoints, " +
    'their secrets, and the delivery log.',
  'api-keys': 'Create and revoke API keys; the plain key is shown once.',
  import:
    'Bring members and years of purchases from another system, in batches of up to 500: ' +
    'applied as if recorded one by one, and safe to run again (`npm run import` streams CSV ' +
    'files through these).',
  campaigns:
    'Earn more on what, when and by whom: multiplier and bonus campaigns by category or SKU, ' +
    'day of week, tier, and a win-back offer for lapsed customers; with exact counts.',
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

export const operations: Record<string, Operation> = {
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
  consolePage: {
    tag: 'console',
    summary: 'The merchant console',
    description:
      'A web page for the merchant: who lapsed, why and what it cost over time, the call ' +
      'list, customers and campaigns. It signs in with an admin key, kept in the tab only, ' +
      'and calls this API from the browser; the page itself reads no data. Served at ' +
      '`/console` and `/console/`, with its script and styles in the page, and a content ' +
      'security policy that lets the browser run only them and call only this API.',
    status: 200,
    response: { type: 'string' },
    responseType: 'text/html',
    responseDescription: 'The page',
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
      'case-insensitively. Each `enrolment` campaign running now credits its points (a ' +
      '`bonus` ledger entry) in the same transaction. `birthDate` makes the customer ' +
      'eligible for `birthday` campaigns; `referredBy` names the customer who referred them, ' +
      'whom a `referral` campaign pays on their first purchase with earnable spend (a 0.00 ' +
      'purchase is not the first), pending like its points: a full refund of that purchase ' +
      "inside the pending window takes back both customers' referral points.",
    body: createCustomerSchema,
    status: 201,
    response: 'Customer',
    responseDescription: 'The new customer',
    errors: [
      ['conflict', 'An identifier already belongs to a customer: see `existingCustomerId`'],
      ['not-found', 'No customer has the id in referredBy'],
    ],
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
      'whether or not the periodic jobs have run. A customer merged into another reads as ' +
      "that one (the `id` answered is the survivor's); one erased on request reads as " +
      '`{id, status: "erased", erasedAt}` and nothing else.',
    status: 200,
    response: CUSTOMER_OR_ERASED,
    responseDescription: 'The customer (or, erased, that they were)',
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
    response: CUSTOMER_OR_ERASED,
    responseDescription: 'The customer the token names (or, erased, that they were)',
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
  requestCustomerExport: {
    tag: 'customers',
    summary: 'Export everything held about a customer (GDPR Art. 15, 20)',
    description:
      'Records the request and answers at once; the `exports` job (every minute in AWS, ' +
      'every 2 s under npm start; POST /v1/jobs/exports runs it now) writes the document, ' +
      'and GET /v1/exports/{id}, by the same API key, then links to it. ' +
      'The document (JSON, `"format": "loyalty-export/1"`) holds everything kept about the ' +
      'customer: `customer` (profile and identifiers, as GET /v1/customers/{id}), `balances` ' +
      '(available, pending, held, lifetime, tier, cash value), `cadence` (with the purchase ' +
      'days kept), `lapse` (status, when, the reason recorded), `ledger` (every entry, newest ' +
      'first, as the activity pages list them; merges included), `purchases` (each as GET ' +
      '/v1/purchases/{id}, with its lines and `refunds`), `redemptions`, `redemptionCodes`, ' +
      '`campaigns` (each campaign its ledger names, with the points it awarded), `merges`, ' +
      '`events` (the outbox events naming the customer) and `webhookDeliveries` (of those ' +
      'events, to the endpoints that exist). No size limit: it is streamed as it is read. ' +
      "It is kept 7 days (in AWS in the stack's own encrypted, private bucket), then deleted " +
      'with its export.',
    idempotent: true,
    status: 202,
    response: 'Export',
    responseDescription: 'The export, running',
    errors: [
      ['customer-erased', 'The customer was erased on request: nothing is left to export'],
      ['not-found', 'No such customer'],
    ],
  },
  requestMyExport: {
    tag: 'me',
    summary: 'Export everything held about me (GDPR Art. 15, 20)',
    description:
      "The token's own customer, as POST /v1/customers/{id}/exports: GET /v1/exports/{id} " +
      'with a token of the same customer then links to the document.',
    idempotent: true,
    status: 202,
    response: 'Export',
    responseDescription: 'The export, running',
    errors: [['customer-erased', 'The customer was erased on request: nothing is left to export']],
  },
  getExport: {
    tag: 'customers',
    summary: "An export's status and, once ready, a link to its document",
    description:
      'Only for the credential that requested it: the same API key, or a token of the same ' +
      'customer (any other caller gets 404, as for an export that does not exist). Once ' +
      '`ready`, `url` is a link to the document valid until `expiresAt`: an hour (never past ' +
      "the export's 7 days), a fresh one at each call. In AWS it is a presigned S3 GET (it " +
      "may stop working earlier if the signing function's credentials expire first: ask again); " +
      'under npm start a link to the local server signed with a local secret (HMAC-SHA256), ' +
      'whose forgery or expiry is 403 `forbidden`. `failed`: three runs could not write it; ' +
      'request another.',
    status: 200,
    response: 'Export',
    responseDescription: 'The export',
    errors: [['not-found', 'No such export, not yours, or older than 7 days']],
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
    errors: [
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
      ['not-found', 'The customer the token names no longer exists'],
    ],
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
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
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
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
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
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
      ['invalid-state', 'Not authorized any more (captured, expired or voided)'],
      ['not-found', 'No such redemption, or not yours'],
    ],
  },
  partnerSettlement: {
    tag: 'redemptions',
    summary: 'What the programme owes a partner: its captured redemptions in [from, to)',
    description:
      'By capture time (an immediate capture is captured when authorized). `from` and `to` ' +
      'are any instants, at most 366 days apart. Read from running totals per UTC day, hour ' +
      'and minute that each capture adds to in its own transaction (exact however many ' +
      'captures race, a retried capture counts once), plus the captures of the partial ' +
      'minutes at either end (none when both are whole minutes): the items read depend on ' +
      'the range, never on how many captures it holds. A partner key reads its own only.',
    query: settlementQuerySchema,
    status: 200,
    response: 'Settlement',
    responseDescription: 'Count, amount and points of the captures in the range',
    errors: [
      [
        'validation-failed',
        'from/to missing, not RFC 3339, to not after from, more than 366 days apart, or a ' +
          'total past 2^53 - 1 (ask for a shorter range)',
      ],
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
  runExports: {
    tag: 'jobs',
    summary: 'Run the exports job now, as of asOf',
    description:
      'Every minute in AWS (EventBridge Scheduler; every 2 s in the local server): writes the ' +
      'document of each export requested (at most 10 a run, oldest first), streamed into the ' +
      "exports' bucket. Each is claimed for the run first, so overlapping runs write it once; " +
      "one not finished by the run's end (the scheduled function has 15 minutes) is started " +
      'again by the next, and one that fails is tried a minute later, `failed` after 3 ' +
      'attempts. Why a schedule rather than an invocation per request: the request stays one ' +
      'transaction with nothing to call, a failed run is retried by the next like every job, ' +
      'and a missed run raises the job alarm; an export is ready within a minute or two. ' +
      JOB_BODY,
    body: jobRunSchema,
    bodyOptional: true,
    status: 200,
    response: 'ExportRunResult',
    responseDescription: 'How many documents the run wrote',
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
  runRollUpReports: {
    tag: 'jobs',
    summary: 'Run the roll-up-reports job now',
    description:
      'Hourly (every 5 minutes in the local server): stores one row per UTC day older than ' +
      '4 days (before asOf), from the counts the API keeps by day, and stores again the ' +
      'rows from the earliest day that got a change after it was stored (a backdated ' +
      'purchase, a lapse dated earlier, history imported; a change over 62 days back ' +
      'counts from the first of its month). Reports read these rows; they compute the days after the last good row ' +
      'themselves. Its first runs on a table with customers from before the counts existed ' +
      'count those customers, history and all (`backfilled`). One run at a time: a run that ' +
      'finds another at work does nothing and answers `complete: false`; running it again ' +
      'afterwards changes nothing. ' +
      JOB_BODY,
    body: jobRunSchema,
    bodyOptional: true,
    status: 200,
    response: 'RollUpResult',
    responseDescription: 'The days rolled up',
  },
  runBirthdayBonus: customerJob(
    'birthday-bonus',
    "Daily (hourly in the local server): customers whose birthday (birthDate's month and " +
      'day, a UTC day; 29 February is 28 February in other years) has begun get the points ' +
      'of each `birthday` campaign running on that day, as a `bonus` ledger entry. Once per ' +
      'customer per year however often it runs; a birthday more than 7 days past when the ' +
      'job runs is passed over. In the points count: the points credited.',
  ),
  runExpiryReminders: {
    tag: 'jobs',
    summary: 'Run the expiry-reminders job now, as of asOf',
    description:
      'Daily (hourly in the local server): one `points.expiring` event `{points, expiresAt}` ' +
      'for each lot of points (the points that became available on one UTC day) that ' +
      'expires within 14 days of asOf, once per lot however often it runs (the lots ' +
      'reminded are kept on the customer, in the same transaction as the event). Does ' +
      'nothing when the program has no expiry. Reads only the customers whose oldest lot ' +
      'expires within 14 days (the keys-only ExpireDue index). ' +
      JOB_BODY,
    body: jobRunSchema,
    bodyOptional: true,
    status: 200,
    response: 'ExpiryRemindersResult',
    responseDescription: 'The reminders sent',
  },
  runDeliverWebhooks: {
    tag: 'webhooks',
    summary: 'Run the deliver-webhooks job now, as of asOf',
    description:
      'Every minute in AWS (every 2 s in the local server): adds a delivery for each new ' +
      'outbox event to each endpoint that takes its type (and was created before it), then ' +
      'sends every delivery due, signed, and records the outcome: delivered on a 2xx within ' +
      '10 s; otherwise attempted again 1, 2, 4, 8, 16, 32 minutes later, then hourly, until ' +
      '24 hours have passed since the event was fanned out, then `failed` (30 attempts in ' +
      'all). Each attempt is claimed first, so overlapping runs send it once, and a run that ' +
      'dies mid-delivery leaves it due again a minute later (at least once: receivers ' +
      'deduplicate by event id). asOf is the clock for what is due and for the schedule. ' +
      JOB_BODY,
    body: jobRunSchema,
    bodyOptional: true,
    status: 200,
    response: 'WebhookRunResult',
    responseDescription: 'What the run fanned out and sent',
  },
  createWebhookEndpoint: {
    tag: 'webhooks',
    summary: 'Subscribe a URL to events',
    description:
      'The URL must be https (http only to a loopback address, such as ' +
      '`http://127.0.0.1:4000/hooks`, on the local runtime), and neither it nor the ' +
      'addresses its name resolves to may be private, loopback, link-local or a metadata ' +
      'address: 400 `validation-failed` otherwise (each delivery checks again, and a name ' +
      'that resolves to such an address then fails that attempt). The endpoint receives the ' +
      'events recorded from now on. The `secret` (`whsec_...`) is in this response only; ' +
      'the API keeps it encrypted (KMS in AWS) to sign deliveries: `loyalty-signature: ' +
      't=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.',
    body: createWebhookEndpointSchema,
    status: 201,
    response: 'NewWebhookEndpoint',
    responseDescription: 'The endpoint, with its secret (shown once)',
    errors: [['conflict', 'The programme has 50 endpoints already (the most it may have)']],
  },
  listWebhookEndpoints: {
    tag: 'webhooks',
    summary: 'List webhook endpoints, oldest first',
    query: pageQuerySchema,
    status: 200,
    response: 'WebhookEndpointPage',
    responseDescription: 'One page of endpoints (never their secrets)',
    errors: [['validation-failed', 'Bad limit, or a cursor not issued for this list']],
  },
  getWebhookEndpoint: {
    tag: 'webhooks',
    summary: 'Read a webhook endpoint',
    status: 200,
    response: 'WebhookEndpoint',
    responseDescription: 'The endpoint (never its secret)',
    errors: [['not-found', 'No such endpoint']],
  },
  deleteWebhookEndpoint: {
    tag: 'webhooks',
    summary: 'Delete a webhook endpoint',
    description:
      'Nothing more is sent to it; deliveries still pending become `cancelled` when their ' +
      'next attempt falls due (not `failed`: the failure alarm does not count them; the ' +
      "delivery job's `cancelled` says how many).",
    status: 204,
    responseDescription: 'Deleted',
    errors: [['not-found', 'No such endpoint']],
  },
  rotateWebhookSecret: {
    tag: 'webhooks',
    summary: "Rotate an endpoint's signing secret",
    description:
      'A new secret signs from now on; the one it replaces keeps signing too for 24 hours, ' +
      'so deliveries carry two `v1=` meanwhile (the new one first) and a receiver can switch ' +
      'at its own pace. A second rotation within the 24 hours retires the oldest at once. ' +
      'The new secret is in this response only.',
    status: 201,
    response: 'WebhookSecret',
    responseDescription: 'The new secret (shown once)',
    errors: [
      ['not-found', 'No such endpoint'],
      ['conflict', 'The endpoint kept changing while rotating: try again'],
    ],
  },
  testWebhookEndpoint: {
    tag: 'webhooks',
    summary: 'Send a ping to an endpoint now',
    description:
      'A `ping` event (`customerId` null, `data: {endpointId}`), signed like any delivery, ' +
      'sent at once and not retried; it shows in the delivery log.',
    status: 200,
    response: 'WebhookPing',
    responseDescription: 'Whether the receiver answered 2xx within 10 s',
    errors: [['not-found', 'No such endpoint']],
  },
  listWebhookDeliveries: {
    tag: 'webhooks',
    summary: "An endpoint's delivery log, newest first",
    description:
      'Pending deliveries, and those delivered or failed in the last 30 days (then they ' +
      'leave the log).',
    query: pageQuerySchema,
    status: 200,
    response: 'WebhookDeliveryPage',
    responseDescription: 'One page of deliveries',
    errors: [
      ['not-found', 'No such endpoint'],
      ['validation-failed', 'Bad limit, or a cursor not issued for this list'],
    ],
  },
  lapseQualityReport: {
    tag: 'lapse',
    summary: 'How often the lapse flag is right, on your own customers',
    description:
      'The backtest the nightly lapse-scan job runs on its sample of customers (up to ' +
      '20,000, whole shards): at the start of the UTC day 90 days before asOf, what the ' +
      'lapse rule in force (factor, minDays) and the scores said, against who bought in the ' +
      '90 days since (purchase days are whole UTC days: a purchase on that day is a return). ' +
      'A customer counts as the lapse rule counts them: lapse.minPurchases in purchases. ' +
      '`flag.precision`: of the customers flagged then, the share who did not come back; ' +
      '`flag.recall`: of those who did not come back, the share flagged. `auc`: how well ' +
      'each score ranks who did not come back (0.5 is chance, 1 perfect): days of silence, ' +
      'silence / typical gap, and churnRisk under a BG/NBD model fitted on the history ' +
      'before that day only. The figures are null, and `insufficientData` says why, until ' +
      'the programme has at least 500 customers with 2 or more purchase days and 180 days ' +
      'of history before that day (or before the job first ran). The same backtest judges ' +
      'every pair of a small grid of thresholds; with `lapse.mode: "calibrated"` the pair ' +
      'with the highest recall whose precision reaches `lapse.targetPrecision` is in force ' +
      "(`calibration`), else the program's own.",
    status: 200,
    response: 'LapseQuality',
    responseDescription: 'The last backtest',
  },
  runLapseScan: {
    tag: 'lapse',
    summary: 'Run the lapse-scan job now, as of asOf',
    description:
      'Daily (hourly in the local server): flags the active customers with at least ' +
      'lapse.minPurchases purchases whose silence at asOf exceeds max(minDays, factor x ' +
      "typicalGapDays), with the factor and minDays in force (the program's, or " +
      "calibration's: GET /v1/reports/lapse-quality): status `lapsed`, lapsedAt = the " +
      'moment the rule started to hold, and one `customer.lapsed` event, in one ' +
      'transaction. Reads only the customers due, never the table: a keys-only index keeps ' +
      'active customers by band of typical gap and last purchase, so the thresholds are ' +
      'applied in the query and a change of factor or minDays (PUT /v1/program, or ' +
      'calibration) reaches every customer at the next run, with no write to any of them; ' +
      'a change of minPurchases reaches a customer at their next purchase. A customer ' +
      'flagged leaves the index, so a rerun flags nobody twice and a run cut off is finished ' +
      'by the next. Then refits the BG/NBD model on up to 20,000 customers (whole shards of ' +
      'the Customers index) and backtests the lapse flag on them (GET ' +
      '/v1/reports/lapse-quality), if 20 s of its time are left (the scheduled run has ' +
      'minutes; a run here after a long flagging leaves them to it); when that changes the ' +
      'calibrated thresholds, it flags again by the new ones and records a ' +
      '`program.lapse-calibrated` event. `fitted` says whether this run did (else ' +
      '`notFitted` says why, and `model` is the one stored before). A run as of more than 5 ' +
      'minutes ago flags as of then but fits and measures nothing: the customers hold ' +
      'purchases made after its asOf, and the live model and report stay as they are. A ' +
      'purchase import marks the model `stale` until a run fits again, on all of it. ' +
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
      'Most recently lapsed first, or `sort=valueAtRisk`: annualSpend x (1 - pAlive) ' +
      '(annualSpend while the model is not trusted), or `sort=churnRisk`, ' +
      'highest first (ties by customerId; no churnRisk last). The sorted orders rank each ' +
      'customer by their score as of their last change (a refund, a lapse reason, the ' +
      'lapse itself) or the nightly lapse scan, whichever came later (the scan rescores ' +
      'every lapsed customer once a day and after each refit of the model), while the ' +
      "figures shown are as of the request: scores move with time, so neighbours' figures " +
      'can differ a little from their order until the next scan. A page costs the same ' +
      'however many customers are lapsed, and the cursor goes on after the last ' +
      "customer's place: one whose score changes between pages may be shown twice or not " +
      'at all. A customer who buys again, is erased or is merged into another leaves the list.',
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
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
      ['invalid-state', 'The customer is not lapsed'],
      ['not-found', 'No such customer'],
    ],
  },
  retentionReport: {
    tag: 'lapse',
    summary: "The programme's retention figures",
    description:
      "The figures at the end of asOf's UTC day, from the counts the API keeps by day (see " +
      '`GET /v1/reports/daily`): customers, active, lapsed and byReason stand as they did ' +
      'then; lapsedLast12Months and reactivatedLast12Months count the lapses and returns ' +
      'dated in the twelve months to it (after the same day a year before), whether a scan ' +
      'flagged the lapse or a purchase after a silence the lapse rule counts as a lapse ' +
      'ended it first (history imported answers on its first day); valueAtRisk ' +
      'sums the spend in the 12 calendar months to asOf of the customers lapsed then. It ' +
      'reads a bounded number of small items however many customers the programme has.',
    query: retentionQuerySchema,
    status: 200,
    response: 'RetentionReport',
    responseDescription: 'The report',
  },
  dailyReport: {
    tag: 'lapse',
    summary: 'The programme day by day',
    description:
      'One row per UTC day from `from` to `to` (both included, at most 366 days), oldest ' +
      'first. Each change is counted on the day it belongs to: a purchase on the day it ' +
      'occurred, a lapse on the day the lapse rule started to hold (lapsedAt), a return on ' +
      'the day of the purchase that brought the customer back (never before the lapse, or ' +
      'before a reason recorded for it); a lapse no scan flagged, ended by a purchase after ' +
      'a silence the rule counts as a lapse (with the thresholds in force when the purchase ' +
      'is recorded), counts the same, the customer lapsed in between; points on the day they ' +
      "moved (ledger entries; a purchase's on the day it occurred), and a customer from the " +
      'day they enrolled or, if history ' +
      'brought in shows them buying earlier, from that first purchase. So history ' +
      'imported shows on its own days. customers, active, lapsed, pointsOutstanding, ' +
      'liability and valueAtRisk stand at the end of the day; the rest is what the day ' +
      'added. The API counts as changes happen (one small item per day and shard) and an ' +
      'hourly job (`roll-up-reports`) stores one row per day older than 4 days, so a report ' +
      'reads one small item per older day and the counts of the days since the last row ' +
      '(about 4), never the customers; a change to an older day (a backdated purchase, a ' +
      'lapse dated earlier, history imported) is read from its counts too, from that day ' +
      'on, until the job has stored its rows again. Customers stored before the counts existed are counted ' +
      "by that job's first runs, history and all, from their ledgers, purchases and the " +
      'outbox; what that history cannot give is the value at risk of a lapse that ended ' +
      'before (its spend then is not kept), a reason given on such a lapse counts from ' +
      'the day it began, the value at risk of a lapse counted then uses the spend of the ' +
      'day it was counted, and a customer with more than 90 days of history has its ' +
      'oldest months counted on their first day. Until the job answers `complete: true` ' +
      'some of those customers are not in the rows yet.',
    query: dailyReportQuerySchema,
    status: 200,
    response: 'DailyReport',
    responseDescription: 'The rows',
    errors: [
      [
        'validation-failed',
        'from/to missing or not YYYY-MM-DD, from after to, or more than 366 days',
      ],
    ],
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
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
      ['insufficient-points', 'The debit would take available points below 0'],
      ['validation-failed', BOUNDS_NOTE],
      ['not-found', 'No such customer'],
    ],
  },
  mergeCustomers: {
    tag: 'customers',
    summary: 'Merge another record of the same customer into this one',
    description:
      'For duplicates (one enrolment by phone at the till, one by email in the app). In one ' +
      'atomic step everything of `from` moves to this customer: available points keep the ' +
      'day they were earned (and so their expiry), pending points the moment they become ' +
      'available, lifetime points and the tier window spend add up month by month (the tier ' +
      'is re-evaluated at once: it goes up if the spend together earns more, never down), ' +
      'the purchase days join the cadence, and the campaigns that counted `from` count this ' +
      'customer as theirs. This customer gets one `merge-in` ledger entry (+ the points ' +
      'moved), `from` one `merge-out` (- the same), so no point is made or lost, however ' +
      'many purchases race with the merge. `from` becomes `merged`: it keeps nothing, and ' +
      'every later call naming it (purchases, refunds of its purchases, adjustments, ' +
      'customer tokens, GET, activity) acts on this customer, through any chain of merges. ' +
      'Its email, phone and externalId now find this customer: those this customer lacks ' +
      'become its own, the others stay lookup keys of it. An event `customer.merged` ' +
      '`{from, pointsMoved}` is recorded. Refused while `from` has points held by an ' +
      'authorized redemption or a redemption code not yet used or expired. Idempotent.',
    body: mergeSchema,
    idempotent: true,
    status: 200,
    response: 'Customer',
    responseDescription: 'This customer, with everything of `from`',
    errors: [
      ['merge-blocked', '`from` has points held, or a usable redemption code'],
      [
        'conflict',
        '`from` was merged already, either customer was erased, or more than 50 records ' +
          '(30 identifiers) would merge into one',
      ],
      ['validation-failed', `A customer merged into itself; ${BOUNDS_NOTE}`],
      ['not-found', 'No such customer, or no such `from`'],
    ],
  },
  eraseCustomer: {
    tag: 'customers',
    summary: 'Erase a customer on request (the right to be forgotten)',
    description: ERASE_NOTE,
    idempotent: true,
    status: 200,
    response: 'Erasure',
    responseDescription: 'The customer erased, and the points forfeited',
    errors: [
      ['customer-erased', 'The customer was erased already'],
      ['not-found', 'No such customer'],
    ],
  },
  eraseMe: {
    tag: 'me',
    summary: "Erase the token's own customer on request",
    description: `Customer tokens only: as POST /v1/customers/{id}/erase, for themselves. ${ERASE_NOTE}`,
    idempotent: true,
    status: 200,
    response: 'Erasure',
    responseDescription: 'The customer erased, and the points forfeited',
    errors: [['customer-erased', 'The customer was erased already']],
  },
  listEvents: {
    tag: 'events',
    summary: 'Events, oldest first',
    description:
      'The outbox: each event is written in the same transaction as the change it reports, ' +
      'so none is lost: `tier.changed` (upgrades on purchase, downgrades at review), ' +
      '`customer.lapsed` (the lapse scan) and `customer.reactivated` (the next purchase dated ' +
      'after the lapse; one dated before the last purchase, recorded late, is no return; ' +
      'one dated after the last purchase but not after lapsedAt withdraws the lapse: ' +
      '`customer.reactivated` with `data.withdrawn: true`). A lapse no scan ' +
      'flagged, ended by a purchase after a silence the lapse rule counts as a lapse (history ' +
      "imported, a purchase before the day's scan), sends neither: it is counted in the " +
      "reports and shown as the customer's lastLapse. Ids are " +
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
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
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
      'a 400.\n\n' +
      "**Earning.** Earnable spend E = total - the spend of lines in the program's " +
      'excludedCategories (line spend = quantity x unitPrice.amount; the lines together may ' +
      'not exceed the total, and what they do not cover, such as tax, earns like any ' +
      'spend). Base points = floor(floor(E x earnRate.points / earnRate.per) x multiplier ' +
      'of the tier held before the purchase). Each campaign running at occurredAt whose ' +
      'audience the customer is in (as before the purchase) adds: a `multiplier` campaign ' +
      'floor(floor(M x earnRate.points / earnRate.per) x (m - 1)) on its matching earnable ' +
      'spend M (all of E without a match); a `bonus` campaign its points when M > 0, M >= ' +
      'minSpend and, with firstPurchaseOnly, on the first purchase. `breakdown` lists each ' +
      'part and sums to pointsEarned; only E counts towards tiers. Every unitPrice in ' +
      '`lines` must be in the program currency.\n\n' +
      'Campaigns are read like the program: a new or changed campaign reaches every ' +
      'function within LOYALTY_PROGRAM_CACHE_MS (30 s by default; at once locally).',
    body: recordPurchaseSchema,
    idempotent: true,
    status: 201,
    response: 'RecordedPurchase',
    responseDescription: 'The purchase (or, with `Idempotent-Replayed: true`, its replay)',
    errors: [
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
      [
        'validation-failed',
        "An admin key without storeId; occurredAt out of range; the lines' spend exceeds the total",
      ],
      ['validation-failed', BOUNDS_NOTE],
      ['forbidden', "A pos key sending another store's storeId"],
      ['not-found', 'Unknown customerId, or unknown storeId (admin keys)'],
      ['conflict', 'This receiptId was already recorded at this store'],
      ['currency-mismatch', "total or a line's unitPrice is not in the program currency"],
    ],
  },
  quotePurchase: {
    tag: 'purchases',
    summary: 'What a purchase would earn now, before it is paid',
    description:
      'The same body and rules as POST /v1/purchases, with no Idempotency-Key: the points, ' +
      'their breakdown and the customer as they would be after it. Nothing is written, so ' +
      'a till can show it before payment; recording the purchase then earns the same ' +
      'unless the customer, the program or a campaign changes in between.',
    body: recordPurchaseSchema,
    status: 200,
    response: 'PurchaseQuote',
    responseDescription: 'What the purchase would earn',
    errors: [
      ['customer-erased', 'The customer was erased on request: nothing about them changes'],
      [
        'validation-failed',
        "An admin key without storeId; occurredAt out of range; the lines' spend exceeds the total",
      ],
      ['forbidden', "A pos key sending another store's storeId"],
      ['not-found', 'Unknown customerId, or unknown storeId (admin keys)'],
      ['currency-mismatch', "total or a line's unitPrice is not in the program currency"],
    ],
  },
  importCustomers: {
    tag: 'import',
    summary: 'Bring members from another system, up to 500 at a time',
    description:
      'Each item is checked on its own: a bad one is reported in `errors` with its index and ' +
      'the problem code POST /v1/customers would give, and the rest are created. An item ' +
      'whose externalId, email or phone already belongs to a customer (in the table, or to an ' +
      'earlier item of the batch) is `existing`: that customer is left as it is, so running ' +
      'an import again creates nothing twice and credits no opening balance twice, and finds ' +
      'each item by its externalId when it has one. An item whose identifiers belong to two ' +
      'different customers is a `conflict` error, naming whose each one is. ' +
      '`openingPoints` become an `adjust` ledger entry with reason `opening balance`. Imported ' +
      'members are members already: enrolment campaigns do not credit them. An item not ' +
      'created because the database failed is a `service-unavailable` error: send it again.\n\n' +
      'A batch is many transactions, not one: while it runs its Idempotency-Key answers 409 ' +
      '`idempotency-key-in-use` (with Retry-After); afterwards the same request replays the ' +
      'answer. A batch cut short by a failure may have created some of its members; sending ' +
      'it again finds those `existing`.',
    body: importCustomersSchema,
    idempotent: true,
    status: 200,
    response: 'CustomerImport',
    responseDescription:
      'What became of each item (or, with `Idempotent-Replayed: true`, its replay)',
    errors: [
      ['validation-failed', '`items` missing, empty or over 500 (each item is checked on its own)'],
      ['idempotency-key-in-use', 'A batch with this key is still running'],
    ],
  },
  importPurchases: {
    tag: 'import',
    summary: 'Bring a purchase history, up to 500 purchases at a time',
    description:
      "Each purchase is applied exactly as POST /v1/purchases applies it (an admin's, so at " +
      'any time in the past): points at the tier held before it, qualifying spend, cadence, ' +
      'the campaigns running at its occurredAt, the lapse due time. Within a batch each ' +
      "customer's purchases are applied in occurredAt order (then the batch's order); send " +
      'batches in occurredAt order, or a customer at a time, and the customers come out as if ' +
      'each purchase had been recorded one by one. storeId, receiptId and occurredAt are ' +
      'required. Campaigns count as on POST /v1/purchases: every campaign whose window holds ' +
      'occurredAt, however long ago it ended. A receiptId already recorded at its store (or earlier in the batch) is a ' +
      '`duplicate` and skipped, so running an import again applies nothing twice.\n\n' +
      'Each item is checked on its own: a bad one is reported in `errors` with its index and ' +
      'the code POST /v1/purchases would give (`validation-failed`, `currency-mismatch`, ' +
      '`not-found` for an unknown customer or store), and the rest are applied. A purchase ' +
      'still losing races for its customer after 10 attempts is reported as ' +
      '`service-unavailable`: send it again. So is each purchase not applied when the ' +
      'database fails during the batch (no new transaction starts then): the batch still ' +
      'answers 200, with what it imported before. Send those items again before later ' +
      "purchases of their customers, to keep each customer's purchases in occurredAt order.\n\n" +
      'A batch is many transactions, not one: while it runs its Idempotency-Key answers 409 ' +
      '`idempotency-key-in-use` (with Retry-After); afterwards the same request replays the ' +
      'answer. A batch cut short by a failure may have applied some purchases; sending it ' +
      'again finds those duplicates.',
    body: importPurchasesSchema,
    idempotent: true,
    status: 200,
    response: 'PurchaseImport',
    responseDescription:
      'Counts, and each item not imported (or, with `Idempotent-Replayed: true`, its replay)',
    errors: [
      ['validation-failed', '`items` missing, empty or over 500 (each item is checked on its own)'],
      ['idempotency-key-in-use', 'A batch with this key is still running'],
    ],
  },
  createCampaign: {
    tag: 'campaigns',
    summary: 'Start (or schedule) a campaign',
    description:
      '`multiplier` (1 < m <= 10): matching spend earns m times its base points. `bonus`: ' +
      'points on a qualifying purchase (minSpend, firstPurchaseOnly). Campaigns add up; ' +
      'the tier multiplier applies to base points only. `match` narrows a campaign to lines ' +
      'of some categories or SKUs, `audience` to tiers or to lapsed customers (a win-back ' +
      'offer: it applies to the purchase that brings them back, also from a silence the ' +
      'lapse rule counts as a lapse that no scan had flagged yet), `daysOfWeek` to UTC days ' +
      'of occurredAt. The window may lie in the past: purchases backdated or imported into ' +
      'it earn by it. At most 20 campaigns may run at any one instant (ended ones count ' +
      'too), and the campaigns not yet ended (running or scheduled) together take at most ' +
      '300,000 bytes (about 1,000 without match lists).',
    body: createCampaignSchema,
    idempotent: true,
    status: 201,
    response: 'Campaign',
    responseDescription: 'The campaign (or, with `Idempotent-Replayed: true`, its replay)',
    errors: [
      [
        'validation-failed',
        'endsAt not after startsAt, a multiplier out of range, fields of another type, an ' +
          'unknown tier in audience',
      ],
      [
        'conflict',
        'It would run at some instant beside 20 other campaigns, or the campaigns not yet ' +
          'ended would take more than 300,000 bytes together (the detail says which)',
      ],
      ['currency-mismatch', 'minSpend is not in the program currency'],
    ],
  },
  listCampaigns: {
    tag: 'campaigns',
    summary: 'List campaigns, oldest first, with their counts',
    description:
      'With `status`, only campaigns in that status now. A page reads at most `limit` ' +
      'campaigns, so with a status a page may hold fewer (even none) and still have a ' +
      'nextCursor.',
    query: campaignListQuerySchema,
    status: 200,
    response: 'CampaignPage',
    responseDescription: 'One page of campaigns',
    errors: [['validation-failed', 'Bad limit or status, or a cursor not issued for this list']],
  },
  getCampaign: {
    tag: 'campaigns',
    summary: 'Read a campaign and its counts',
    status: 200,
    response: 'Campaign',
    responseDescription: 'The campaign',
    errors: [['not-found', 'No such campaign']],
  },
  campaignUplift: {
    tag: 'campaigns',
    summary: "A win-back offer's measured effect, against its holdout",
    description:
      'Of the customers flagged lapsed while the campaign ran and assigned to its offer or ' +
      'holdout group (campaign `holdout`), those flagged windowDays or more ago: how many ' +
      'bought within windowDays of their flag, and what they spent then, per group. ' +
      '`uplift.rate` is the difference of the two return rates with a 95% interval; ' +
      'incrementalCustomers and incrementalSpend scale it to the offer group. Customers ' +
      'whose lapse no scan flagged (a return from a silence ended before a scan reached ' +
      'them) are in neither group. The counts are kept by UTC day of the flag as changes ' +
      'happen, so this reads one small item per group, day and shard the campaign ran, ' +
      'however many customers it flagged.',
    query: upliftQuerySchema,
    status: 200,
    response: 'CampaignUplift',
    responseDescription: 'The two groups, the uplift and its interval',
    errors: [
      ['validation-failed', 'windowDays not one of 30, 60, 90, 180'],
      ['not-found', 'No such campaign'],
    ],
  },
  patchCampaign: {
    tag: 'campaigns',
    summary: 'Rename a campaign, end it early or extend it',
    description:
      'endsAt moves its end (null: runs until ended). What was earned stays earned; ' +
      'purchases recorded after the change see the new end.',
    body: patchCampaignSchema,
    status: 200,
    response: 'Campaign',
    responseDescription: 'The campaign as changed',
    errors: [
      ['validation-failed', 'endsAt not after startsAt, or neither name nor endsAt given'],
      ['not-found', 'No such campaign'],
      [
        'conflict',
        'Extended, it would run at some instant beside 20 other campaigns, or the campaigns ' +
          'not yet ended would take more than 300,000 bytes together (the detail says which)',
      ],
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
