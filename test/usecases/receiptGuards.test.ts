import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { newId, receiptPurchaseId } from '../../lib/ids.ts';
import type { Principal } from '../../lib/principal.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import {
  forgetReceiptGuardsState,
  legacyReceiptGuards,
  receiptGuardsState,
} from '../../lib/store/receiptGuards.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { importPurchases } from '../../lib/usecases/importPurchases.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { readPurchase, recordPurchase, refundPurchase } from '../../lib/usecases/purchases.ts';
import { passReceiptGuards, SETTLE_MS } from '../../lib/usecases/receiptGuards.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/**
 * A purchase with a receipt id is its own receipt guard (its id is the receipt's), on
 * DynamoDB Local; and a table from before, whose purchases kept their guards in items of
 * their own: no receipt is recorded twice before, during or after the one-off pass that
 * gives those guards the new key (usecases/receiptGuards.ts).
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = () => ({ scope: 'k', key: randomUUID(), requestHash: randomUUID() });
const admin: Principal = { keyId: 'key_admin', role: 'admin' };

let storeId: string;
let pos: Principal;
let customerId: string;
/** The purchases of the table's older version: receipt id -> purchase id. */
const old = new Map<string, string>();

/** A purchase as a version before this one stored it: a random id and a guard of its own. */
async function oldPurchase(receiptId: string) {
  const id = newId('pur');
  const purchase = {
    id,
    customerId,
    storeId,
    total: usd(1_000),
    occurredAt: new Date().toISOString(),
    recordedAt: new Date().toISOString(),
    receiptId,
    pointsEarned: 10,
    breakdown: [{ source: 'base', points: 10 }],
    pointsStatus: 'available',
    refunded: usd(0),
  };
  await db().send(
    new PutCommand({ TableName: tableName(), Item: { ...keys.purchase(id), ...purchase } }),
  );
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keys.receipt(storeId, receiptId), purchaseId: id },
    }),
  );
  old.set(receiptId, id);
}

/** An import of a purchase of each receipt, at this store, now. */
const importReceipts = (...receiptIds: string[]) =>
  importPurchases(
    admin,
    receiptIds.map((receiptId) => ({
      customerId,
      storeId,
      receiptId,
      total: usd(700),
      occurredAt: new Date().toISOString(),
    })),
    key(),
  );

const buy = (receiptId: string, idem = key()) =>
  recordPurchase(pos, { customerId, total: usd(2_500), receiptId }, idem);

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Receipts')).id;
  pos = { keyId: 'key_pos', role: 'pos', storeId };
  customerId = (await enrolCustomer({ externalId: `rg-${randomUUID()}` })).id;
});

describe('a purchase as its own receipt guard', () => {
  it('has nothing to pass on a new table', async () => {
    expect(await receiptGuardsState()).toEqual({ done: true });
    expect(await legacyReceiptGuards()).toBe(false);
  });

  it('takes the id its receipt gives, writes no second item for it, and refuses the receipt again', async () => {
    const idem = key();
    const first = await buy('new-1', idem);
    expect(first.value.id).toBe(receiptPurchaseId(storeId, 'new-1'));
    expect(await storedItem(keys.receipt(storeId, 'new-1'))).toBeUndefined();
    expect((await storedItem(keys.purchase(first.value.id)))?.receiptId).toBe('new-1');
    // Its retry is answered again; the receipt under another key is a conflict.
    expect(await buy('new-1', idem)).toEqual({ value: first.value, replayed: true });
    await expect(buy('new-1')).rejects.toMatchObject({ code: 'conflict' });
    // The same receipt at another store is another purchase.
    const other = (await createPlace('store', 'Receipts two')).id;
    const there = await recordPurchase(
      { keyId: 'key_pos2', role: 'pos', storeId: other },
      { customerId, total: usd(2_500), receiptId: 'new-1' },
      key(),
    );
    expect(there.value.id).not.toBe(first.value.id);
    // A purchase without a receipt keeps a time-ordered id.
    const plain = await recordPurchase(pos, { customerId, total: usd(100) }, key());
    expect(plain.value.id).toMatch(/^pur_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(first.value.id).toMatch(/^pur_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  });
});

describe('a table whose purchases kept their receipt guards apart', () => {
  it('refuses an older receipt again before the pass, and writes the older guard too meanwhile', async () => {
    for (let n = 0; n < 30; n++) await oldPurchase(`old-${n}`);
    // The table as a version before this one left it: the pass not done.
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...keys.receiptGuardsState(), done: false },
      }),
    );
    forgetReceiptGuardsState();
    expect(await legacyReceiptGuards()).toBe(true);
    await expect(buy('old-3')).rejects.toMatchObject({ code: 'conflict' });
    const during = await buy('during-1');
    expect((await storedItem(keys.receipt(storeId, 'during-1')))?.purchaseId).toBe(during.value.id);
    const imported = await importReceipts('old-4', 'during-1');
    expect(imported.value).toMatchObject({ imported: 0, duplicates: 2 });
  });

  it('gives every older guard the new key, page by page from where it stopped, and is done only after a pass begun once the deploy settled', async () => {
    let clock = Date.now();
    const now = () => clock;
    // Out of time after the first page (of 20 items read): it keeps its place.
    expect(await passReceiptGuards({ deadline: clock - 1, pageSize: 20, now })).toBe(false);
    const stopped = await receiptGuardsState();
    expect(stopped.done).toBe(false);
    expect(stopped.after).toBeDefined();
    // The rest of that pass gives every guard its new item; but it began as the deploy did
    // (older functions may still write older guards), so another pass follows.
    expect(await passReceiptGuards({ pageSize: 20, now })).toBe(false);
    expect(await receiptGuardsState()).toEqual({ done: false, firstRunAt: clock });
    for (const [receiptId, id] of old) {
      expect(await storedItem(keys.purchase(receiptPurchaseId(storeId, receiptId)))).toEqual({
        ...keys.purchase(receiptPurchaseId(storeId, receiptId)),
        legacyReceiptOf: id,
      });
    }
    // An older guard written meanwhile (an older function still running) is found by it.
    await oldPurchase('late-old');
    clock += SETTLE_MS;
    expect(await passReceiptGuards({ pageSize: 20, now })).toBe(true);
    expect(await receiptGuardsState()).toEqual({ done: true });
    expect(
      (await storedItem(keys.purchase(receiptPurchaseId(storeId, 'late-old'))))?.legacyReceiptOf,
    ).toBe(old.get('late-old'));
    // A guard written during the pass by the new purchase's own item is left as it was.
    const during = await storedItem(keys.purchase(receiptPurchaseId(storeId, 'during-1')));
    expect(during?.receiptId).toBe('during-1');
    expect(during?.legacyReceiptOf).toBeUndefined();
    // Done: a second run reads nothing.
    expect(await passReceiptGuards()).toBe(true);
  });

  it('after the pass, refuses an older receipt by its new key alone, and the older guard is no purchase', async () => {
    forgetReceiptGuardsState();
    expect(await legacyReceiptGuards()).toBe(false);
    await expect(buy('old-7')).rejects.toMatchObject({ code: 'conflict' });
    const imported = await importReceipts('old-8', 'after-1');
    expect(imported.value).toMatchObject({ imported: 1, duplicates: 1 });
    expect(await storedItem(keys.receipt(storeId, 'after-1'))).toBeUndefined();
    // The older purchase is read by its own id; its receipt's new id names no purchase.
    const oldId = old.get('old-8') as string;
    expect((await readPurchase(admin, oldId)).receiptId).toBe('old-8');
    const guardId = receiptPurchaseId(storeId, 'old-8');
    await expect(readPurchase(admin, guardId)).rejects.toMatchObject({ code: 'not-found' });
    await expect(refundPurchase(admin, guardId, { amount: usd(1) }, key())).rejects.toMatchObject({
      code: 'not-found',
    });
    const refunded = await refundPurchase(admin, oldId, { amount: usd(1_000) }, key());
    expect(refunded.value.pointsReversed).toBe(10);
  });
});
