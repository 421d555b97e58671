import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { getCustomerConsistent } from '../../lib/store/customers.ts';
import { forgetCachedProgram, putProgram } from '../../lib/store/program.ts';
import { createCampaign } from '../../lib/usecases/campaigns.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase, refundPurchase } from '../../lib/usecases/purchases.ts';
import { startTestTable } from '../support/table.ts';

/**
 * A referral's points are pending like its purchase's (pendingDays 14): a full refund
 * takes them back only inside that window. The clock is injected to step past it.
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const DAY = 86_400_000;
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
let storeId: string;
let n = 0;

beforeAll(async () => {
  await startTestTable();
  await putProgram({ ...defaultProgram, pendingDays: 14 });
  forgetCachedProgram();
  storeId = (await createPlace('store', 'Main street')).id;
  await createCampaign(
    {
      name: 'Bring a friend',
      type: 'referral',
      points: 100,
      refereePoints: 50,
      startsAt: new Date(Date.now() - DAY).toISOString(),
    },
    key(),
  );
});

describe('a referral after its pending window', () => {
  it('stays with both customers when its purchase is refunded in full later', async () => {
    const referrer = (await enrolCustomer({ externalId: `uc-rf-${++n}` })).id;
    const referred = (await enrolCustomer({ externalId: `uc-rf-${++n}`, referredBy: referrer })).id;
    const now = new Date();
    const bought = await recordPurchase(
      admin,
      { customerId: referred, storeId, total: usd(1_000) },
      key(),
      () => now,
    );
    expect(bought.value.customer.points).toMatchObject({ available: 0, pending: 60 });

    const later = new Date(now.getTime() + 15 * DAY);
    const refund = await refundPurchase(
      admin,
      bought.value.id,
      { amount: usd(1_000) },
      key(),
      () => later,
    );
    // The purchase's own 10 come back out of available; the referral's 50 stay.
    expect(refund.value.pointsReversed).toBe(10);
    expect(refund.value.customer.points).toMatchObject({ available: 50, pending: 0 });
    const after = await getCustomerConsistent(referrer);
    expect(after).toMatchObject({ lifetimeEarned: 100 });
    expect((after?.available ?? 0) + (after?.pending ?? 0)).toBe(100);
    expect((await getCustomerConsistent(referred))?.referralPaid).toBeUndefined();
  });
});

describe('a referral to a referrer with many lots pending', () => {
  it("joins the referrer's next 00:00 UTC lot, and a full refund in the window finds it there", async () => {
    const referrer = (await enrolCustomer({ externalId: `uc-rf-${++n}` })).id;
    const now = Date.now();
    // 33 purchases pending: 32 lots of their own, then the day lots (lots.ts).
    for (let i = 0; i < 33; i++) {
      await recordPurchase(
        admin,
        {
          customerId: referrer,
          storeId,
          total: usd(100),
          occurredAt: new Date(now - i * 1_000).toISOString(),
        },
        key(),
      );
    }
    const own = (await getCustomerConsistent(referrer))?.pending ?? 0;
    expect(own).toBe(33);
    const referred = (await enrolCustomer({ externalId: `uc-rf-${++n}`, referredBy: referrer })).id;
    const bought = await recordPurchase(
      admin,
      { customerId: referred, storeId, total: usd(1_000) },
      key(),
    );
    const paid = await getCustomerConsistent(referrer);
    expect(paid?.pending).toBe(own + 100);
    const lots = Object.entries(paid?.pendingLots ?? {});
    expect(lots.length).toBeLessThanOrEqual(34);
    expect(lots.find(([, points]) => points >= 100)?.[0]).toMatch(/T00:00:00\.000Z$/);

    await refundPurchase(admin, bought.value.id, { amount: usd(1_000) }, key());
    const after = await getCustomerConsistent(referrer);
    expect(after).toMatchObject({ pending: own, lifetimeEarned: own });
  });
});
