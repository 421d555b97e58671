/**
 * The one route table. The local server and the CDK stack both read it, so the two
 * can never serve different routes, roles or permissions.
 */
import type { Role } from './principal.ts';

/** DynamoDB actions a route's function may use on the table (least privilege per function). */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'BatchWriteItem'
  | 'DeleteItem'
  | 'ConditionCheckItem';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** The file in functions/ (without .ts) whose `handler` serves this route. */
  fn: string;
  /** Who may call it; `public` routes skip the authorizer. */
  roles: Role[] | 'public';
  table: TableAction[];
  /** The function signs or verifies customer tokens, so it may read the signing secret. */
  tokenSecret?: true;
  /** The function Queries an index, so its grant also covers `<table>/index/*`. */
  queriesIndex?: true;
  /** Lambda timeout when not the default 10 s (a job run on demand works for up to 25 s). */
  timeoutSeconds?: number;
  /** The largest body it takes when not MAX_BODY_BYTES (an import batch: IMPORT_BODY_BYTES). */
  maxBodyBytes?: number;
  /**
   * Package files the function reads at run time (readAsset in lib/http/assets.ts): from
   * node_modules locally; the CDK stack copies each next to the function's bundle.
   */
  assets?: string[];
  /**
   * The function serves the merchant console's built files (lib/console/bundle.ts): the CDK
   * stack builds them with esbuild next to the function's bundle; the local server builds
   * them into build/console/ before it first serves such a route.
   */
  console?: true;
  /**
   * Also answers at `path` + '/' (the console's page, whose relative links resolve below
   * it). API Gateway takes no route path ending in '/' and sends `/console/` to the
   * `/console` route; the local server, strict about trailing slashes everywhere else, does
   * the same for the routes that say so.
   */
  trailingSlash?: true;
  /**
   * The function uses the webhook secrets' key (webhooks/secrets.ts: KMS in AWS): to seal
   * a new secret, or to open them to sign a delivery.
   */
  webhookKey?: 'encrypt' | 'decrypt';
  /**
   * What the function does with the exports' bucket (exports/s3.ts; local files in npm
   * start): `write` a document (a multipart upload: PutObject and AbortMultipartUpload),
   * `link` to one (a presigned GET: GetObject), `delete` one (DeleteObject).
   */
  exportBucket?: ExportBucketUse[];
}

export type ExportBucketUse = 'write' | 'link' | 'delete';

/** Request bodies are at most this large (64 KiB)... */
export const MAX_BODY_BYTES = 64 * 1024;
/** ...except on the import routes, whose batches of 500 items take up to 1 MiB. */
export const IMPORT_BODY_BYTES = 1024 * 1024;

/** The largest body `route` takes. */
export const bodyLimitOf = (route: Pick<Route, 'maxBodyBytes'>) =>
  route.maxBodyBytes ?? MAX_BODY_BYTES;

/** The API reference's renderer: Redoc's self-contained browser bundle (no CDN, no fonts). */
export const REDOC_SCRIPT = 'redoc/bundles/redoc.standalone.js';

/**
 * Reads one item: the programme, a purchase, the stored backtest, a webhook endpoint, a
 * session token's customer; the authorizer's key hashes.
 */
const GET_ONLY: TableAction[] = ['GetItem'];
/** Writes one item: the programme, a redemption code, a webhook endpoint, a store, a partner. */
const PUT_ONLY: TableAction[] = ['PutItem'];
/** Lists one partition: the events, the webhook endpoints, the stores, the partners. */
const QUERY_ONLY: TableAction[] = ['Query'];
/** An item and a list: a partner's settlement, the lapsed customers, an endpoint's deliveries. */
const GET_AND_QUERY: TableAction[] = ['GetItem', 'Query'];
/** Reads an item and writes one: a new API key, a webhook endpoint's ping (logged), a code. */
const GET_AND_PUT: TableAction[] = ['GetItem', 'PutItem'];
/**
 * Reads a customer and writes, lazily, whatever fell due (pending, expiry, tier review).
 * Every change to a customer also adds to the counts by day (UpdateItem, store/reports.ts).
 * Finding and reading a customer, the customer's own; putting a lapse reason.
 */
const SETTLING_READ: TableAction[] = ['GetItem', 'PutItem', 'UpdateItem'];
/** SETTLING_READ and a page of the ledger (Query): a customer's activity, the customer's own. */
const SETTLING_ACTIVITY: TableAction[] = ['GetItem', 'Query', 'PutItem', 'UpdateItem'];
/** Items and the campaigns they name (BatchGetItem): a purchase's quote, a campaign. */
const CAMPAIGN_READ: TableAction[] = ['GetItem', 'BatchGetItem'];
/** CAMPAIGN_READ and the campaign written: creating, patching a campaign. */
const CAMPAIGN_WRITE: TableAction[] = ['GetItem', 'BatchGetItem', 'PutItem'];
/**
 * A customer's points changed in a transaction, the campaigns read (BatchGetItem) and their
 * counts added to (UpdateItem): purchases, refunds, the four redemption routes (reading one
 * gives back its lapsed hold), adjustments, the import batches.
 */
const CUSTOMER_WRITE: TableAction[] = ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'];
/**
 * An erase: the customer, their ledger newest first and their codes (GSI1), their open
 * redemptions (BatchGetItem), the answers kept for replays rewritten (PutItem), the
 * identifiers deleted and the codes cancelled in the transaction, their exports deleted.
 */
const ERASE: TableAction[] = [
  'GetItem',
  'BatchGetItem',
  'Query',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
];
/** The counts by day (store/reports.ts), never the customers: the retention and daily reports. */
const REPORT_READ: TableAction[] = ['GetItem', 'BatchGetItem', 'Query'];
/**
 * Every periodic job but the roll-up: its due index, the customers due, their changes. The
 * webhook deliveries (usecases/webhookDelivery.ts) read the endpoints, the outbox and the
 * deliveries due (WebhookDue), add deliveries, claim and settle them: the same actions.
 */
const JOB: TableAction[] = ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem'];
/**
 * The reports' roll-up: reads the counts by day, writes a row a day (store/reports.ts);
 * first counts the customers stored before the counts existed (PutItem, usecases/backfill.ts).
 */
const ROLL_UP_JOB: TableAction[] = [
  'DeleteItem',
  'GetItem',
  'BatchGetItem',
  'Query',
  'PutItem',
  'UpdateItem',
  'BatchWriteItem',
];

/**
 * Periodic jobs: run on a schedule (EventBridge Scheduler in AWS, a timer in the local
 * server), and on demand through their `/v1/jobs/...` route, by one function that serves
 * both (`fn` is the route's; http/jobs.ts jobFunction).
 */
export interface Job {
  name: string;
  fn: string;
  table: TableAction[];
  queriesIndex?: true;
  /** How often it runs; a run as of now does whatever fell due since the last. */
  everyMinutes: number;
  /** How often in the local server, if not everyMinutes. */
  localEveryMinutes?: number;
  /** ...or every this many seconds (the webhook deliveries). */
  localEverySeconds?: number;
  /** As Route's. */
  webhookKey?: 'encrypt' | 'decrypt';
  /** The scheduled function's timeout when not 60 s; it stops 5 s before. */
  timeoutSeconds?: number;
  /** As Route's. */
  exportBucket?: ExportBucketUse[];
}

/** Every periodic job, once: its schedule, its function and grants, and its route (jobRoute). */
export const jobs: Job[] = [
  { name: 'release-holds', fn: 'runReleaseHolds', table: JOB, queriesIndex: true, everyMinutes: 5 },
  {
    name: 'activate-pending',
    fn: 'runActivatePending',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 60,
  },
  {
    name: 'expire-points',
    fn: 'runExpirePoints',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 1440,
  },
  {
    name: 'review-tiers',
    fn: 'runReviewTiers',
    table: JOB,
    queriesIndex: true,
    everyMinutes: 1440,
  },
  {
    name: 'lapse-scan',
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
    table: JOB,
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
function jobRoute(job: Job): Route {
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

export const routes: Route[] = [
  { method: 'GET', path: '/v1/health', fn: 'health', roles: 'public', table: [] },
  { method: 'GET', path: '/v1/openapi.json', fn: 'openapi', roles: 'public', table: [] },
  // The API reference page, rendered in the browser from /v1/openapi.json by Redoc, which
  // the API serves itself: nothing is fetched from anywhere else.
  { method: 'GET', path: '/docs', fn: 'docsPage', roles: 'public', table: [] },
  {
    method: 'GET',
    path: '/docs/redoc.standalone.js',
    fn: 'docsScript',
    roles: 'public',
    table: [],
    assets: [REDOC_SCRIPT],
  },
  // The merchant console (lib/console/): one page, its script and styles built into it by
  // esbuild, that calls this API from the browser with an admin key. It reads no data itself.
  {
    method: 'GET',
    path: '/console',
    fn: 'consolePage',
    roles: 'public',
    table: [],
    console: true,
    trailingSlash: true,
  },
  {
    method: 'GET',
    path: '/v1/program',
    fn: 'getProgram',
    roles: ['admin', 'pos', 'partner', 'app'],
    table: GET_ONLY,
  },
  { method: 'PUT', path: '/v1/program', fn: 'putProgram', roles: ['admin'], table: PUT_ONLY },
  {
    method: 'POST',
    path: '/v1/customers',
    fn: 'createCustomer',
    roles: ['admin', 'pos', 'app'],
    // UpdateItem: the counts by day (store/reports.ts: a new customer) and the counts of enrolment
    // campaigns; ConditionCheckItem: that the referring customer exists; all in one transaction.
    table: ['GetItem', 'PutItem', 'UpdateItem', 'ConditionCheckItem'],
  },
  {
    method: 'GET',
    path: '/v1/customers',
    fn: 'findCustomer',
    roles: ['admin', 'pos', 'app'],
    table: SETTLING_READ,
  },
  {
    method: 'GET',
    path: '/v1/customers/{id}',
    fn: 'getCustomer',
    roles: ['admin', 'pos', 'app'],
    table: SETTLING_READ,
  },
  {
    method: 'GET',
    path: '/v1/customers/{id}/activity',
    fn: 'listCustomerActivity',
    roles: ['admin', 'pos', 'app'],
    table: SETTLING_ACTIVITY,
  },
  {
    method: 'POST',
    path: '/v1/customers/{id}/session-tokens',
    fn: 'createSessionToken',
    roles: ['admin', 'app'],
    table: GET_ONLY,
    tokenSecret: true,
  },
  { method: 'GET', path: '/v1/me', fn: 'getMe', roles: ['customer'], table: SETTLING_READ },
  {
    method: 'POST',
    path: '/v1/me/erase',
    fn: 'eraseMe',
    roles: ['customer'],
    table: ERASE,
    queriesIndex: true,
    exportBucket: ['delete'],
  },
  {
    method: 'GET',
    path: '/v1/me/activity',
    fn: 'listMyActivity',
    roles: ['customer'],
    table: SETTLING_ACTIVITY,
  },
  {
    method: 'POST',
    path: '/v1/me/redemption-codes',
    fn: 'createRedemptionCode',
    roles: ['customer'],
    table: GET_AND_PUT,
  },
  // Customers' data exports: a request is recorded (the export, its entry under the customer
  // and the idempotent answer, in one transaction); the `exports` job writes the document.
  {
    method: 'POST',
    path: '/v1/customers/{id}/exports',
    fn: 'requestCustomerExport',
    roles: ['admin', 'app'],
    table: GET_AND_PUT,
  },
  {
    method: 'POST',
    path: '/v1/me/exports',
    fn: 'requestMyExport',
    roles: ['customer'],
    table: GET_AND_PUT,
  },
  {
    // Only the credential that asked reads it: an API key, or the customer's token.
    method: 'GET',
    path: '/v1/exports/{id}',
    fn: 'getExport',
    roles: ['admin', 'app', 'customer'],
    table: GET_ONLY,
    exportBucket: ['link'],
  },
  {
    method: 'POST',
    path: '/v1/purchases',
    fn: 'recordPurchase',
    roles: ['admin', 'pos'],
    // UpdateItem: the counts of the campaigns the purchase earned by, in its transaction.
    table: CUSTOMER_WRITE,
  },
  {
    method: 'POST',
    path: '/v1/purchases/quote',
    fn: 'quotePurchase',
    roles: ['admin', 'pos'],
    table: CAMPAIGN_READ,
  },
  {
    method: 'POST',
    path: '/v1/campaigns',
    fn: 'createCampaign',
    roles: ['admin'],
    table: CAMPAIGN_WRITE,
  },
  {
    method: 'GET',
    path: '/v1/campaigns',
    fn: 'listCampaigns',
    roles: ['admin'],
    table: ['Query', 'BatchGetItem'],
  },
  {
    method: 'GET',
    path: '/v1/campaigns/{id}',
    fn: 'getCampaign',
    roles: ['admin'],
    table: CAMPAIGN_READ,
  },
  {
    method: 'PATCH',
    path: '/v1/campaigns/{id}',
    fn: 'patchCampaign',
    roles: ['admin'],
    table: CAMPAIGN_WRITE,
  },
  {
    method: 'POST',
    path: '/v1/purchases/{id}/refunds',
    fn: 'refundPurchase',
    roles: ['admin', 'pos'],
    table: CUSTOMER_WRITE,
  },
  {
    method: 'GET',
    path: '/v1/purchases/{id}',
    fn: 'getPurchase',
    roles: ['admin', 'pos'],
    table: GET_ONLY,
  },
  {
    method: 'POST',
    path: '/v1/redemptions',
    fn: 'authorizeRedemption',
    roles: ['admin', 'pos', 'partner'],
    table: CUSTOMER_WRITE,
  },
  {
    method: 'GET',
    path: '/v1/redemptions/{id}',
    fn: 'getRedemption',
    roles: ['admin', 'pos', 'partner'],
    table: CUSTOMER_WRITE,
  },
  {
    method: 'POST',
    path: '/v1/redemptions/{id}/capture',
    fn: 'captureRedemption',
    roles: ['admin', 'pos', 'partner'],
    table: CUSTOMER_WRITE,
  },
  {
    method: 'POST',
    path: '/v1/redemptions/{id}/void',
    fn: 'voidRedemption',
    roles: ['admin', 'pos', 'partner'],
    table: CUSTOMER_WRITE,
  },
  {
    method: 'GET',
    path: '/v1/partners/{id}/settlement',
    fn: 'partnerSettlement',
    roles: ['admin', 'partner'],
    table: GET_AND_QUERY,
    queriesIndex: true,
  },
  {
    method: 'POST',
    path: '/v1/customers/{id}/adjustments',
    fn: 'adjustPoints',
    roles: ['admin'],
    table: CUSTOMER_WRITE,
  },
  {
    // Both customers, their ledgers and events, the identifiers moved, the campaigns'
    // markers (BatchGetItem, PutItem) and the source's redemption codes (GSI1).
    method: 'POST',
    path: '/v1/customers/{id}/merge',
    fn: 'mergeCustomers',
    roles: ['admin', 'app'],
    table: JOB,
    queriesIndex: true,
  },
  {
    method: 'POST',
    path: '/v1/customers/{id}/erase',
    fn: 'eraseCustomer',
    roles: ['admin', 'app'],
    table: ERASE,
    queriesIndex: true,
    exportBucket: ['delete'],
  },
  { method: 'GET', path: '/v1/events', fn: 'listEvents', roles: ['admin'], table: QUERY_ONLY },
  {
    method: 'GET',
    path: '/v1/lapsed-customers',
    fn: 'listLapsedCustomers',
    roles: ['admin'],
    table: GET_AND_QUERY,
    queriesIndex: true,
  },
  {
    method: 'PUT',
    path: '/v1/customers/{id}/lapse-reason',
    fn: 'putLapseReason',
    roles: ['admin'],
    table: SETTLING_READ,
  },
  {
    method: 'GET',
    path: '/v1/reports/retention',
    fn: 'retentionReport',
    roles: ['admin'],
    // The counts by day (store/reports.ts): never the customers themselves.
    table: REPORT_READ,
  },
  {
    method: 'GET',
    path: '/v1/reports/lapse-quality',
    fn: 'lapseQualityReport',
    roles: ['admin'],
    // The stored backtest (or, before the first, the program for its thresholds).
    table: GET_ONLY,
  },
  {
    method: 'GET',
    path: '/v1/reports/daily',
    fn: 'dailyReport',
    roles: ['admin'],
    table: REPORT_READ,
  },
  // Each job's route, in the order `jobs` lists them.
  ...jobs.map(jobRoute),
  // Webhook endpoints: in one partition; secrets sealed.
  {
    method: 'POST',
    path: '/v1/webhook-endpoints',
    fn: 'createWebhookEndpoint',
    roles: ['admin'],
    table: PUT_ONLY,
    webhookKey: 'encrypt',
  },
  {
    method: 'GET',
    path: '/v1/webhook-endpoints',
    fn: 'listWebhookEndpoints',
    roles: ['admin'],
    table: QUERY_ONLY,
  },
  {
    method: 'GET',
    path: '/v1/webhook-endpoints/{id}',
    fn: 'getWebhookEndpoint',
    roles: ['admin'],
    table: GET_ONLY,
  },
  {
    method: 'DELETE',
    path: '/v1/webhook-endpoints/{id}',
    fn: 'deleteWebhookEndpoint',
    roles: ['admin'],
    table: ['DeleteItem'],
  },
  {
    method: 'POST',
    path: '/v1/webhook-endpoints/{id}/rotate-secret',
    fn: 'rotateWebhookSecret',
    roles: ['admin'],
    table: ['GetItem', 'UpdateItem'],
    webhookKey: 'encrypt',
  },
  {
    method: 'POST',
    path: '/v1/webhook-endpoints/{id}/test',
    fn: 'testWebhookEndpoint',
    roles: ['admin'],
    table: GET_AND_PUT,
    webhookKey: 'decrypt',
    // The receiver has 10 s.
    timeoutSeconds: 15,
  },
  {
    method: 'GET',
    path: '/v1/webhook-endpoints/{id}/deliveries',
    fn: 'listWebhookDeliveries',
    roles: ['admin'],
    table: GET_AND_QUERY,
  },
  // A batch is many transactions: its customers, receipts and campaign markers read in
  // BatchGetItems, campaign counts added (UpdateItem), its Idempotency-Key marked (PutItem).
  {
    method: 'POST',
    path: '/v1/imports/customers',
    fn: 'importCustomers',
    roles: ['admin'],
    table: CUSTOMER_WRITE,
    timeoutSeconds: 29,
    maxBodyBytes: IMPORT_BODY_BYTES,
  },
  {
    method: 'POST',
    path: '/v1/imports/purchases',
    fn: 'importPurchases',
    roles: ['admin'],
    table: CUSTOMER_WRITE,
    timeoutSeconds: 29,
    maxBodyBytes: IMPORT_BODY_BYTES,
  },
  { method: 'POST', path: '/v1/stores', fn: 'createStore', roles: ['admin'], table: PUT_ONLY },
  { method: 'GET', path: '/v1/stores', fn: 'listStores', roles: ['admin'], table: QUERY_ONLY },
  {
    method: 'POST',
    path: '/v1/partners',
    fn: 'createPartner',
    roles: ['admin'],
    table: PUT_ONLY,
  },
  { method: 'GET', path: '/v1/partners', fn: 'listPartners', roles: ['admin'], table: QUERY_ONLY },
  {
    method: 'POST',
    path: '/v1/api-keys',
    fn: 'createApiKey',
    roles: ['admin'],
    table: GET_AND_PUT,
  },
  {
    method: 'DELETE',
    path: '/v1/api-keys/{id}',
    fn: 'revokeApiKey',
    roles: ['admin'],
    table: ['GetItem', 'UpdateItem', 'DeleteItem'],
  },
];

/** Answers what no route matches (API Gateway's `$default` route); touches no data. */
export const fallbackFunction = { fn: 'notFound', table: [] as TableAction[] };

/** The authorizer is a function too: it only reads key hashes. */
export const authorizerFunction = { fn: 'authorizer', table: GET_ONLY, tokenSecret: true as const };

export const routeKey = (route: Pick<Route, 'method' | 'path'>) => `${route.method} ${route.path}`;

/**
 * The header that identifies the caller of a route that is not public: the customer's
 * token on the customer routes, an API key on all others. The stack's two cached
 * authorizers and the local server's cache of their answers both key on it. A route both
 * may call (GET /v1/exports/{id}) is `either`: its authorizer reads whichever is sent (the
 * key if both are), uncached, since API Gateway caches only on a credential every request has.
 */
export function identityHeaderOf(route: Route): 'authorization' | 'x-api-key' | 'either' {
  if (route.roles === 'public' || !route.roles.includes('customer')) return 'x-api-key';
  return route.roles.every((role) => role === 'customer') ? 'authorization' : 'either';
}

const byKey = new Map(routes.map((r) => [routeKey(r), r]));

export function findRoute(key: string): Route | undefined {
  return byKey.get(key);
}
