import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { getCustomerConsistent } from '../../lib/store/customers.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { readPurchase, recordPurchase, refundPurchase } from '../../lib/usecases/purchases.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The purchase use cases called directly: what they return and which DomainError they
 * throw, with the clock injected. (HTTP statuses are tested in test/integration.)
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const DAY = 86_400_000;

let storeId: string;
let pos: Principal;
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
let n = 0;
const enrol = async () => (await enrolCustomer({ externalId: `uc-p-${++n}` })).id;

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Main street')).id;
  pos = { keyId: 'key_pos', role: 'pos', storeId };
});

describe('recordPurchase', () => {
  it('returns the purchase with its points and the customer after it', async () => {
    const customerId = await enrol();
    const answer = await recordPurchase(pos, { customerId, total: usd(4250) }, key());
    expect(answer.replayed).toBe(false);
    expect(answer.value).toMatchObject({
      customerId,
      storeId,
      pointsEarned: 42,
      pointsStatus: 'available',
      customer: { id: customerId, points: { available: 42 } },
    });
    expect((await getCustomerConsistent(customerId))?.available).toBe(42);
  });

  it('gives the stored answer again for a repeated key, and changes nothing', async () => {
    const customerId = await enrol();
    const idem = key();
    const first = await recordPurchase(pos, { customerId, total: usd(1000) }, idem);
    const again = await recordPurchase(pos, { customerId, total: usd(1000) }, idem);
    expect(again).toEqual({ value: first.value, replayed: true });
    expect((await getCustomerConsistent(customerId))?.available).toBe(10);
  });

  it('keeps the stored answer even once the clock has moved past the backdating window', async () => {
    const customerId = await enrol();
    const idem = key();
    const now = new Date();
    // 29.5 days back: inside the default 30-day window now, outside it a day later.
    const occurredAt = new Date(now.getTime() - 29.5 * DAY).toISOString();
    const input = { customerId, total: usd(500), occurredAt };
    const first = await recordPurchase(pos, input, idem, () => now);
    const later = new Date(now.getTime() + DAY);
    expect(await recordPurchase(pos, input, idem, () => later)).toEqual({
      value: first.value,
      replayed: true,
    });
    await expect(recordPurchase(pos, input, key(), () => later)).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'occurredAt' }] },
    });
  });

  it('throws the problem code for each refusal', async () => {
    const customerId = await enrol();
    const now = new Date();
    await expect(
      recordPurchase(pos, { customerId, total: { amount: 100, currency: 'EUR' } }, key()),
    ).rejects.toMatchObject({ code: 'currency-mismatch' });
    await expect(
      recordPurchase(pos, { customerId: 'cus_missing', total: usd(100) }, key()),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(
      recordPurchase(pos, { customerId, storeId: 'sto_other', total: usd(100) }, key()),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      recordPurchase(admin, { customerId, total: usd(100) }, key()),
    ).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'storeId' }] },
    });
    await expect(
      recordPurchase(
        pos,
        {
          customerId,
          total: usd(100),
          occurredAt: new Date(now.getTime() + 10 * 60_000).toISOString(),
        },
        key(),
        () => now,
      ),
    ).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'occurredAt' }] },
    });
    await expect(
      recordPurchase(
        pos,
        {
          customerId,
          total: usd(100),
          occurredAt: new Date(now.getTime() - 400 * DAY).toISOString(),
        },
        key(),
        () => now,
      ),
    ).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'occurredAt' }] },
    });
    await recordPurchase(pos, { customerId, total: usd(100), receiptId: 'R-1' }, key());
    await expect(
      recordPurchase(pos, { customerId, total: usd(100), receiptId: 'R-1' }, key()),
    ).rejects.toMatchObject({ code: 'conflict' });
    expect((await getCustomerConsistent(customerId))?.available).toBe(1);
  });

  it('lets an admin key backdate beyond the window (imports)', async () => {
    const customerId = await enrol();
    const now = new Date();
    const occurredAt = new Date(now.getTime() - 400 * DAY).toISOString();
    const answer = await recordPurchase(
      admin,
      { customerId, storeId, total: usd(300), occurredAt },
      key(),
      () => now,
    );
    expect(answer.value.occurredAt).toBe(occurredAt);
  });
});

describe('readPurchase', () => {
  it("hides another store's purchase from a pos key as if it did not exist", async () => {
    const customerId = await enrol();
    const { value } = await recordPurchase(pos, { customerId, total: usd(100) }, key());
    expect(await readPurchase(pos, value.id)).toMatchObject({ id: value.id });
    const other: Principal = { keyId: 'key_pos2', role: 'pos', storeId: 'sto_other' };
    await expect(readPurchase(other, value.id)).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('refundPurchase', () => {
  it('reverses points in proportion and refuses more than the total', async () => {
    const customerId = await enrol();
    const { value } = await recordPurchase(pos, { customerId, total: usd(1000) }, key());
    const refund = await refundPurchase(pos, value.id, { amount: usd(250) }, key());
    expect(refund.value).toMatchObject({
      purchaseId: value.id,
      pointsReversed: 2,
      customer: { points: { available: 8 } },
    });
    await expect(refundPurchase(pos, value.id, { amount: usd(751) }, key())).rejects.toMatchObject({
      code: 'refund-exceeds-purchase',
    });
    await expect(
      refundPurchase(pos, value.id, { amount: { amount: 1, currency: 'EUR' } }, key()),
    ).rejects.toMatchObject({ code: 'currency-mismatch' });
    const rest = await refundPurchase(pos, value.id, { amount: usd(750) }, key());
    expect(rest.value.pointsReversed).toBe(8);
    expect((await getCustomerConsistent(customerId))?.available).toBe(0);
  });
});
