import type { IdentifierKind } from '../domain/customer.ts';
/**
 * Every key of the single table is built here, so the layout can be read in one place
 * (the README's key design mirrors this file).
 */
export interface Key {
  PK: string;
  SK: string;
}

/** Ledger entries sort by the customer's version at the time of the change. */
const seq = (n: number) => String(n).padStart(12, '0');

export const LEDGER_PREFIX = 'LEDGER#';

export const keys = {
  program: (): Key => ({ PK: 'PROGRAM', SK: 'PROGRAM' }),
  /** The BG/NBD parameters last fitted (the lapse-scan job). */
  model: (): Key => ({ PK: 'PROGRAM', SK: 'MODEL' }),
  /** The lapse-scan job's last backtest of the lapse flag (GET /v1/reports/lapse-quality). */
  lapseQuality: (): Key => ({ PK: 'PROGRAM', SK: 'LAPSE_QUALITY' }),
  /** What the changes of a day added to the counts, one of DAY_SHARDS (see reports.ts). */
  dayStats: (shard: number, day: string): Key => ({ PK: `DAYS#${shard}`, SK: day }),
  /** A day rolled up: its counts and what a report shows of the totals at its end. */
  dailyRow: (day: string): Key => ({ PK: 'DAILY', SK: day }),
  /** The totals at the end of a day rolled up (what the days after it are counted from). */
  dailyTotals: (day: string): Key => ({ PK: 'DAILYTOTALS', SK: day }),
  /** The last day rolled up. */
  rolledUp: (): Key => ({ PK: 'REPORTS', SK: 'ROLLED' }),
  /** Held by the roll-up job while it runs (one at a time). */
  rollUpLease: (): Key => ({ PK: 'REPORTS', SK: 'LEASE' }),
  /** Whether the customers stored before the counts existed have all been counted. */
  reportsBackfill: (): Key => ({ PK: 'REPORTS', SK: 'BACKFILL' }),
  /** Months with changes written after their day, one of DAY_SHARDS. */
  staleMonths: (shard: number): Key => ({ PK: 'REPORTS', SK: `STALE#${shard}` }),
  customer: (id: string): Key => ({ PK: `CUS#${id}`, SK: 'PROFILE' }),
  /** The customer id of a customer item's (or index entry's) PK. */
  customerIdOf: (pk: string): string => pk.slice('CUS#'.length),
  ledgerEntry: (customerId: string, version: number): Key => ({
    PK: `CUS#${customerId}`,
    SK: `${LEDGER_PREFIX}${seq(version)}`,
  }),
  identifier: (kind: IdentifierKind, value: string): Key => ({
    PK: `IDENT#${kind}#${value}`,
    SK: 'IDENT',
  }),
  /**
   * A purchase; one with a receipt id has the id receiptPurchaseId gives (ids.ts), so this
   * item is also the receipt's guard. Under such an id from before that, the one-off pass
   * (usecases/receiptGuards.ts) keeps only `legacyReceiptOf`: the guard of an older purchase.
   */
  purchase: (id: string): Key => ({ PK: `PUR#${id}`, SK: 'PURCHASE' }),
  /** A receipt's guard as purchases wrote it before their own item was (the pass reads them). */
  receipt: (storeId: string, receiptId: string): Key => ({
    PK: `RECEIPT#${storeId}#${receiptId}`,
    SK: 'RECEIPT',
  }),
  store: (id: string): Key => ({ PK: 'STORES', SK: `STORE#${id}` }),
  partner: (id: string): Key => ({ PK: 'PARTNERS', SK: `PARTNER#${id}` }),
  apiKey: (id: string): Key => ({ PK: `APIKEY#${id}`, SK: 'APIKEY' }),
  apiKeyHash: (hash: string): Key => ({ PK: `KEYHASH#${hash}`, SK: 'KEYHASH' }),
  idempotency: (scope: string, key: string): Key => ({ PK: `IDEM#${scope}#${key}`, SK: 'IDEM' }),
  redemptionCode: (code: string): Key => ({ PK: `CODE#${code}`, SK: 'CODE' }),
  redemption: (id: string): Key => ({ PK: `RED#${id}`, SK: 'REDEMPTION' }),
  /** The outbox: one partition, ids sort by time, so it reads oldest first. */
  event: (id: string): Key => ({ PK: EVENTS_PARTITION, SK: `${EVENT_PREFIX}${id}` }),
  /** Campaigns live in one partition, by id (so by creation): a list is one Query. */
  campaign: (id: string): Key => ({ PK: 'CAMPAIGNS', SK: `CAMPAIGN#${id}` }),
  /** The campaigns not yet ended, in one item: what a purchase reads (cached). */
  liveCampaigns: (): Key => ({ PK: 'CAMPAIGNS', SK: 'LIVE' }),
  /**
   * A campaign by its window: one partition per window class (domain/campaigns.ts), by
   * start, so the campaigns in force at an instant are one bounded Query per class.
   */
  campaignWindow: (windowClass: number, startsAt: string, id: string): Key => ({
    PK: `CMPWIN#${windowClass}`,
    SK: `${startsAt}#${id}`,
  }),
  /** A campaign's counts, sharded so that its purchases do not contend on one item. */
  campaignStats: (id: string, shard: number): Key => ({
    PK: `CMPSTATS#${id}`,
    SK: `SHARD#${shard}`,
  }),
  /**
   * A win-back campaign's experiment counts for one group and UTC day of the flag, sharded:
   * one partition per campaign, so the uplift report is one Query over the days it needs.
   */
  upliftCounts: (id: string, group: string, day: string, shard: number): Key => ({
    PK: `UPLIFT#${id}`,
    SK: `${group}#${day}#${shard}`,
  }),
  /** That a customer took part in a campaign (for its count of distinct customers). */
  campaignCustomer: (id: string, customerId: string): Key => ({
    PK: `CMPCUS#${id}#${customerId}`,
    SK: 'CMPCUS',
  }),
  /** Webhook endpoints live in one partition, by id (so by creation): a list is one Query. */
  webhookEndpoint: (id: string): Key => ({ PK: 'WEBHOOKS', SK: `WHE#${id}` }),
  /** How far the outbox has been fanned out to the endpoints. */
  webhookCursor: (): Key => ({ PK: 'WEBHOOKS', SK: 'CURSOR' }),
  /** A deleted endpoint whose lane of deliveries the delivery job still has to cancel. */
  webhookGone: (id: string): Key => ({ PK: 'WEBHOOKS', SK: `GONE#${id}` }),
  /** One event's delivery to one endpoint: by endpoint, by event (so by time). */
  webhookDelivery: (endpointId: string, eventId: string): Key => ({
    PK: `WHD#${endpointId}`,
    SK: `DLV#${eventId}`,
  }),
  /** How far giving customers stored before the RemindDue index their remindLot has got. */
  remindIndexState: (): Key => ({ PK: 'JOBS', SK: 'REMIND_INDEX' }),
  /** Where the pass giving events from before it their customer's index keys stands. */
  eventIndexState: (): Key => ({ PK: 'JOBS', SK: 'EVENT_INDEX' }),
  /** Where the pass giving the receipt guards of older purchases their new key stands. */
  receiptGuardsState: (): Key => ({ PK: 'JOBS', SK: 'RECEIPT_GUARDS' }),
  /** Where the daily refresh of the lapsed customers' sorted orders stands. */
  lapsedScoresState: (): Key => ({ PK: 'JOBS', SK: 'LAPSED_SCORES' }),
  /** A customer's data export: who asked, its status, where its document is (store/exports.ts). */
  export: (id: string): Key => ({ PK: `EXPORT#${id}`, SK: 'EXPORT' }),
  /** An export listed under its customer, so an erase finds every one with one Query. */
  customerExport: (customerId: string, id: string): Key => ({
    PK: `CUS#${customerId}`,
    SK: `${EXPORT_PREFIX}${id}`,
  }),
  /**
   * What a partner's captures of one UTC day, hour or minute add up to, on one of
   * SETTLEMENT_SHARDS: `D#2024-05-06#0`, `H#2024-05-06T07#1`, `M#2024-05-06T07:08#2`
   * (domain/settlement.ts, store/settlements.ts).
   */
  settlementTotals: (partnerId: string, sk: string): Key => ({
    PK: `SETTLETOTALS#${partnerId}`,
    SK: sk,
  }),
  /** Where the pass giving captures from before the settlement totals to them stands. */
  settlementTotalsState: (): Key => ({ PK: 'JOBS', SK: 'SETTLEMENT_TOTALS' }),
  /** Failed code attempts of one credential in one minute. */
  codeFailures: (scope: string, minute: number): Key => ({
    PK: `CODEFAIL#${scope}#${minute}`,
    SK: 'CODEFAIL',
  }),
};

export const EVENTS_PARTITION = 'EVENTS';
/** The sort-key prefix of a customer's exports under the customer's partition. */
export const EXPORT_PREFIX = 'EXPORT#';
export const EVENT_PREFIX = 'EVT#';

export type { IdentifierKind };

/** Holds are spread over a few GSI partitions so a busy hour of tills has no hot key. */
export const HOLD_SHARDS = 4;

/** Customers are spread over this many partitions of each due index (table.ts). */
export const DUE_SHARDS = 4;

const hashOf = (id: string) => [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);

/** The model fit's sample is read shard by shard from the Customers index (table.ts). */
export const SAMPLE_SHARDS = 64;

export const sampleShardOf = (customerId: string) =>
  String(Math.floor(hashOf(customerId) / DUE_SHARDS) % SAMPLE_SHARDS);

/** The due-index partition of a customer: fixed for life, so it costs one write, once. */
export const dueShardOf = (customerId: string) => String(hashOf(customerId) % DUE_SHARDS);

export const indexKeys = {
  hold: (redemptionId: string, expiresAt: string) => ({
    GSI1PK: `HOLDS#${hashOf(redemptionId) % HOLD_SHARDS}`,
    GSI1SK: `${expiresAt}#${redemptionId}`,
  }),
  holdShard: (shard: number) => `HOLDS#${shard}`,
  /**
   * A redemption captured at a partner, by capture time, counted in the partner's totals
   * (keys.settlementTotals) by the transaction that captured it.
   */
  settlement: (partnerId: string, capturedAt: string, redemptionId: string) => ({
    GSI1PK: `CAPTURED#${partnerId}`,
    GSI1SK: `${capturedAt}#${redemptionId}`,
  }),
  settlementPartition: (partnerId: string) => `CAPTURED#${partnerId}`,
  /**
   * Where captures written before the totals existed sit, by capture time: counted in no
   * totals until the one-off pass (usecases/settlementTotals.ts) moves them.
   */
  legacySettlementPartition: (partnerId: string) => `SETTLE#${partnerId}`,
  /** An export waiting for the exports job, by when it is next due (store/exports.ts). */
  exportDue: (runAt: string, exportId: string) => ({
    GSI1PK: EXPORTS_DUE,
    GSI1SK: `${runAt}#${exportId}`,
  }),
  /** A redemption code under its customer (an export lists them; a code lives 10 minutes). */
  customerCode: (customerId: string, createdAt: string, code: string) => ({
    GSI1PK: `CODES#${customerId}`,
    GSI1SK: `${createdAt}#${code}`,
  }),
  customerCodes: (customerId: string) => `CODES#${customerId}`,
  /** An outbox event under the customer it names (an export lists them), by its id (time). */
  customerEvent: (customerId: string, eventId: string) => ({
    GSI1PK: `EVENTS#${customerId}`,
    GSI1SK: eventId,
  }),
  customerEvents: (customerId: string) => `EVENTS#${customerId}`,
  /**
   * A lapsed customer in the LapsedByValue index (table.ts): under its dueShard, by value
   * at risk (minor units) highest first, ties by id (riskSortKey).
   */
  lapsedByValue: (valueAtRisk: number, customerId: string) => riskSortKey(valueAtRisk, customerId),
  /** A lapsed customer in GSI1 by churnRisk (millionths, -1 for none: last), as above. */
  lapsedByChurn: (customerId: string, churnRisk: number) => ({
    GSI1PK: lapsedByChurnShard(Number(dueShardOf(customerId))),
    GSI1SK: riskSortKey(churnRisk, customerId),
  }),
  lapsedByChurnShard,
};

function lapsedByChurnShard(shard: number): string {
  return `CHURN#${shard}`;
}

/**
 * The sort key of both sorted orders of lapsed customers: larger scores first in the
 * ascending string order (the complement to 2^53 - 1, 16 digits), then the id. Scores
 * lie in [-1, 2^53 - 1].
 */
export function riskSortKey(score: number, customerId: string): string {
  return `${String(Number.MAX_SAFE_INTEGER - score).padStart(16, '0')}#${customerId}`;
}

/** The score and customer id of a riskSortKey. */
export function parseRiskSortKey(key: string): { score: number; customerId: string } {
  const [complement = '', customerId = ''] = key.split('#');
  return { score: Number.MAX_SAFE_INTEGER - Number(complement), customerId };
}

/** GSI1's one partition of exports still to write (few at a time: no shards). */
export const EXPORTS_DUE = 'EXPORTS';
