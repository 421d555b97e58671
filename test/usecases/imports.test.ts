import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { getCustomerConsistent } from '../../lib/store/customers.ts';
import { findCustomer } from '../../lib/usecases/customers.ts';
import { importCustomers } from '../../lib/usecases/importCustomers.ts';
import { importPurchases } from '../../lib/usecases/importPurchases.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The import use cases called directly on DynamoDB Local: a customers batch (created,
 * existing, refused items, opening balances) and a purchases batch (imported, duplicates
 * by receipt, refused items), each answered again for a repeated key. (The CLI and the
 * storage-failure paths are tested through the server in test/integration/import*.test.ts.)
 */
type Idem = Parameters<typeof importCustomers>[1];
type Admin = Parameters<typeof importPurchases>[0];
const key = (): Idem => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const usd = (amount: number) => ({ amount, currency: 'USD' });
const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();
const admin: Admin = { keyId: 'key_admin', role: 'admin' };

let storeId: string;

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Import store')).id;
});

describe('importCustomers', () => {
  it('creates the valid items, credits opening balances, refuses the rest item by item, and answers again for its key', async () => {
    const idem = key();
    const items = [
      { externalId: 'imp-1', email: 'One@Example.com', openingPoints: 500 },
      { externalId: 'imp-2' },
      { name: 'no identifier' },
      { externalId: 'imp-3', openingPoints: -5 },
    ];
    const first = await importCustomers(items, idem);
    expect(first.replayed).toBe(false);
    const { value } = first;
    expect(value.created).toBe(2);
    expect(value.createdCustomers.map((c) => c.index)).toEqual([0, 1]);
    expect(value.existing).toEqual([]);
    expect(value.errors.map((e) => [e.index, e.code])).toEqual([
      [2, 'validation-failed'],
      [3, 'validation-failed'],
    ]);
    expect(value.errors[1]?.detail).toContain('openingPoints');

    const one = value.createdCustomers[0]?.customerId as string;
    expect((await getCustomerConsistent(one))?.available).toBe(500);
    expect((await findCustomer({ email: 'one@example.com' })).id).toBe(one);
    expect((await findCustomer({ externalId: 'imp-2' })).id).toBe(
      value.createdCustomers[1]?.customerId,
    );
    await expect(findCustomer({ externalId: 'imp-3' })).rejects.toMatchObject({
      code: 'not-found',
    });

    // The same key: the first answer, nothing created again.
    expect(await importCustomers(items, idem)).toEqual({ value, replayed: true });
    expect((await getCustomerConsistent(one))?.available).toBe(500);
  });

  it('finds customers it already has (not re-created, no second opening balance) and refuses identifiers of two customers', async () => {
    const { value } = await importCustomers(
      [
        { externalId: 'imp-1', openingPoints: 900 },
        { email: 'one@example.com' },
        { externalId: 'imp-2', email: 'one@example.com' },
        { externalId: 'imp-4' },
      ],
      key(),
    );
    const one = (await findCustomer({ externalId: 'imp-1' })).id;
    expect(value.created).toBe(1);
    expect(value.existing).toEqual([
      { index: 0, customerId: one, matchedBy: 'externalId' },
      { index: 1, customerId: one, matchedBy: 'email' },
    ]);
    expect(value.errors.map((e) => [e.index, e.code])).toEqual([[2, 'conflict']]);
    expect((await getCustomerConsistent(one))?.available).toBe(500);
  });
});

describe('importPurchases', () => {
  it('imports past purchases, skips a receipt already recorded, refuses bad items, and answers again for its key', async () => {
    const customerId = (await findCustomer({ externalId: 'imp-2' })).id;
    const before = (await getCustomerConsistent(customerId))?.lifetimeEarned ?? 0;
    const purchase = (receiptId: string, amount: number, days: number) => ({
      customerId,
      storeId,
      receiptId,
      total: usd(amount),
      occurredAt: daysAgo(days),
    });
    const idem = key();
    const items = [
      purchase('r-1', 10_000, 40),
      purchase('r-2', 5_000, 30),
      purchase('r-1', 10_000, 40),
      { ...purchase('r-3', 1_000, 20), customerId: 'cus_01ARZ3NDEKTSV4RRFFQ69G5FAV' },
      { ...purchase('r-4', 1_000, 20), total: usd(-1) },
    ];
    const first = await importPurchases(admin, items, idem);
    expect(first.replayed).toBe(false);
    expect(first.value.imported).toBe(2);
    expect(first.value.duplicates).toBe(1);
    expect(first.value.errors.map((e) => [e.index, e.code])).toEqual([
      [3, 'not-found'],
      [4, 'validation-failed'],
    ]);
    const after = await getCustomerConsistent(customerId);
    // Both purchases earned (r-1 once), nothing for the refused items.
    const earned = (after?.lifetimeEarned ?? 0) - before;
    expect(earned).toBe(150); // 1 point per 100 at the default program's Member tier

    expect(await importPurchases(admin, items, idem)).toEqual({
      value: first.value,
      replayed: true,
    });
    // Another key, the same receipts: all duplicates, nothing counted twice.
    const again = await importPurchases(admin, items.slice(0, 2), key());
    expect(again.value).toMatchObject({ imported: 0, duplicates: 2, errors: [] });
    expect((await getCustomerConsistent(customerId))?.lifetimeEarned).toBe(after?.lifetimeEarned);
  });
});
