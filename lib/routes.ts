/**
 * The one route table. The local server and the CDK stack both read it, so the two
 * can never serve different routes, roles or permissions.
 */
import {
  CAMPAIGN_READ,
  CAMPAIGN_WRITE,
  CUSTOMER_WRITE,
  ERASE,
  GET_AND_PUT,
  GET_AND_QUERY,
  GET_ONLY,
  JOB,
  PUT_ONLY,
  QUERY_ONLY,
  REPORT_READ,
  SETTLING_ACTIVITY,
  SETTLING_READ,
} from './routes/grants.ts';
import { jobRoute, jobs } from './routes/jobs.ts';
import { IMPORT_BODY_BYTES, REDOC_SCRIPT, type Route, type TableAction } from './routes/shape.ts';

export { jobs } from './routes/jobs.ts';
export {
  bodyLimitOf,
  type ExportBucketUse,
  IMPORT_BODY_BYTES,
  type Job,
  MAX_BODY_BYTES,
  REDOC_SCRIPT,
  type Route,
  type TableAction,
} from './routes/shape.ts';

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
    method: 'GET',
    path: '/v1/campaigns/{id}/uplift',
    fn: 'campaignUplift',
    roles: ['admin'],
    // The campaign (GetItem), its counts (BatchGetItem), one Query of its experiment's counts.
    table: ['GetItem', 'BatchGetItem', 'Query'],
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
    // The endpoint goes and its GONE marker comes, in one transaction (store/webhooks.ts).
    table: ['DeleteItem', 'PutItem'],
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
