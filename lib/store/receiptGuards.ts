/**
 * A purchase with a receipt id is its own receipt guard: its id comes from the store and
 * the receipt (ids.ts receiptPurchaseId), so a second purchase of the receipt finds its
 * item taken. Purchases recorded before that have a random id and a separate guard item
 * (`RECEIPT#<store>#<receipt>`). A one-off pass (usecases/receiptGuards.ts) writes, for each
 * such guard, an item under the id the receipt would have now, holding only
 * `legacyReceiptOf` (the older purchase's id); until it is done, purchases write the old
 * guard too, and imports read it, so no receipt is recorded twice meanwhile.
 */
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.ts';
import { receiptPurchaseId } from '../ids.ts';
import { db, tableName, writeIf } from './client.ts';
import { keys } from './keys.ts';

/**
 * The pass: done, or when it first ran, when the pass under way began and the Scan's
 * position to go on from (none: at the table's start).
 */
export interface ReceiptGuardsState {
  done: boolean;
  firstRunAt?: number;
  passStartedAt?: number;
  after?: Record<string, unknown>;
}

export async function receiptGuardsState(): Promise<ReceiptGuardsState> {
  const { Item } = await db().send(
    new GetCommand({
      TableName: tableName(),
      Key: keys.receiptGuardsState(),
      ConsistentRead: true,
    }),
  );
  return {
    done: Item?.done === true,
    ...(Item?.firstRunAt !== undefined && { firstRunAt: Item.firstRunAt as number }),
    ...(Item?.passStartedAt !== undefined && { passStartedAt: Item.passStartedAt as number }),
    ...(Item?.after !== undefined && { after: Item.after as Record<string, unknown> }),
  };
}

export async function saveReceiptGuardsState(state: ReceiptGuardsState): Promise<void> {
  await db().send(
    new PutCommand({ TableName: tableName(), Item: { ...keys.receiptGuardsState(), ...state } }),
  );
  if (state.done) cached = { legacy: false, until: Number.POSITIVE_INFINITY };
}

let cached: { legacy: boolean; until: number } | undefined;

/**
 * Whether old receipt guards may still be unpassed, so a purchase writes one too and an
 * import reads them. Read at most once per `programCacheMs`; once done, never again.
 */
export async function legacyReceiptGuards(now = Date.now()): Promise<boolean> {
  if (cached && cached.until > now) return cached.legacy;
  const legacy = !(await receiptGuardsState()).done;
  cached = { legacy, until: legacy ? now + config().programCacheMs : Number.POSITIVE_INFINITY };
  return legacy;
}

/** Forgets what legacyReceiptGuards read (a test that writes the state itself). */
export function forgetReceiptGuardsState(): void {
  cached = undefined;
}

const RECEIPT_PREFIX = 'RECEIPT#';

/** A guard's store and receipt, from its key (store ids hold no '#': ID_PATTERN). */
export function receiptOfGuard(pk: string): { storeId: string; receiptId: string } | undefined {
  if (!pk.startsWith(RECEIPT_PREFIX)) return undefined;
  const rest = pk.slice(RECEIPT_PREFIX.length);
  const at = rest.indexOf('#');
  if (at <= 0) return undefined;
  return { storeId: rest.slice(0, at), receiptId: rest.slice(at + 1) };
}

/**
 * The old receipt guards, a Scan page (up to 1,000 items read) at a time from `after`, with the
 * position after each page (none: the table is read to its end).
 */
export async function* legacyGuardPages(
  after: Record<string, unknown> | undefined,
  /** Items read per page (before the filter): 1,000 unless a test asks for fewer. */
  pageSize?: number,
): AsyncGenerator<{
  guards: { storeId: string; receiptId: string; purchaseId: string }[];
  next: Record<string, unknown> | undefined;
}> {
  let start = after;
  do {
    const page = await db().send(
      new ScanCommand({
        TableName: tableName(),
        FilterExpression: 'begins_with(PK, :receipt)',
        ExpressionAttributeValues: { ':receipt': RECEIPT_PREFIX },
        // Only what a guard is (never a customer's data); consistent, so a guard written
        // just before is not missed.
        ProjectionExpression: 'PK, purchaseId',
        ConsistentRead: true,
        Limit: pageSize ?? 1000,
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    const guards = (page.Items ?? []).flatMap((item) => {
      const receipt = receiptOfGuard(item.PK as string);
      return receipt ? [{ ...receipt, purchaseId: item.purchaseId as string }] : [];
    });
    start = page.LastEvaluatedKey;
    yield { guards, next: start };
  } while (start);
}

/**
 * Guards a receipt under the id its purchase would have now, naming the older purchase
 * that took it; false if that item exists (a purchase recorded since took both).
 */
export function guardUnderNewId(guard: {
  storeId: string;
  receiptId: string;
  purchaseId: string;
}): Promise<boolean> {
  return writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...keys.purchase(receiptPurchaseId(guard.storeId, guard.receiptId)),
        legacyReceiptOf: guard.purchaseId,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}
