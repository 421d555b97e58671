/**
 * The DynamoDB action sets the route table and the jobs grant, named once each, with who
 * uses them: identical sets are one constant, so a function's grant reads as its purpose.
 */
import type { TableAction } from './shape.ts';

/**
 * Reads one item: the programme, a purchase, the stored backtest, a webhook endpoint, a
 * session token's customer; the authorizer's key hashes.
 */
export const GET_ONLY: TableAction[] = ['GetItem'];
/** Writes one item: the programme, a redemption code, a webhook endpoint, a store, a partner. */
export const PUT_ONLY: TableAction[] = ['PutItem'];
/** Lists one partition: the events, the webhook endpoints, the stores, the partners. */
export const QUERY_ONLY: TableAction[] = ['Query'];
/** An item and a list: a partner's settlement, the lapsed customers, an endpoint's deliveries. */
export const GET_AND_QUERY: TableAction[] = ['GetItem', 'Query'];
/** Reads an item and writes one: a new API key, a webhook endpoint's ping (logged), a code. */
export const GET_AND_PUT: TableAction[] = ['GetItem', 'PutItem'];
/**
 * Reads a customer and writes, lazily, whatever fell due (pending, expiry, tier review).
 * Every change to a customer also adds to the counts by day (UpdateItem, store/reports.ts).
 * Finding and reading a customer, the customer's own; putting a lapse reason.
 */
export const SETTLING_READ: TableAction[] = ['GetItem', 'PutItem', 'UpdateItem'];
/** SETTLING_READ and a page of the ledger (Query): a customer's activity, the customer's own. */
export const SETTLING_ACTIVITY: TableAction[] = ['GetItem', 'Query', 'PutItem', 'UpdateItem'];
/** Items and the campaigns they name (BatchGetItem): a purchase's quote, a campaign. */
export const CAMPAIGN_READ: TableAction[] = ['GetItem', 'BatchGetItem'];
/** CAMPAIGN_READ and the campaign written: creating, patching a campaign. */
export const CAMPAIGN_WRITE: TableAction[] = ['GetItem', 'BatchGetItem', 'PutItem'];
/**
 * A customer's points changed in a transaction, the campaigns read (BatchGetItem) and their
 * counts added to (UpdateItem): purchases, refunds, the four redemption routes (reading one
 * gives back its lapsed hold), adjustments, the import batches.
 */
export const CUSTOMER_WRITE: TableAction[] = ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'];
/**
 * An erase: the customer, their ledger newest first and their codes (GSI1), their open
 * redemptions (BatchGetItem), the answers kept for replays rewritten (PutItem), the
 * identifiers deleted and the codes cancelled in the transaction, their exports deleted.
 */
export const ERASE: TableAction[] = [
  'GetItem',
  'BatchGetItem',
  'Query',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
];
/** The counts by day (store/reports.ts), never the customers: the retention and daily reports. */
export const REPORT_READ: TableAction[] = ['GetItem', 'BatchGetItem', 'Query'];
/**
 * Every periodic job but the roll-up: its due index, the customers due, their changes. The
 * webhook deliveries (usecases/webhookDelivery.ts) read the endpoints, the outbox and the
 * deliveries due (WebhookDue), add deliveries, claim and settle them: the same actions.
 */
export const JOB: TableAction[] = ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem'];
/**
 * The exports job: JOB's actions, and a Scan for its one-off pass over the receipt guards
 * of older purchases (usecases/receiptGuards.ts); no other function reads the table whole.
 */
export const EXPORTS_JOB: TableAction[] = [...JOB, 'Scan'];
/**
 * The reports' roll-up: reads the counts by day, writes a row a day (store/reports.ts);
 * first counts the customers stored before the counts existed (PutItem, usecases/backfill.ts).
 */
export const ROLL_UP_JOB: TableAction[] = [
  'DeleteItem',
  'GetItem',
  'BatchGetItem',
  'Query',
  'PutItem',
  'UpdateItem',
  'BatchWriteItem',
];
