import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { groupOf } from '../../lib/domain/winBack.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { onDynamoCall } from '../../lib/store/client.ts';
import { createCampaign, patchCampaign, readCampaign } from '../../lib/usecases/campaigns.ts';
import { readCustomer } from '../../lib/usecases/customers.ts';
import { listEvents } from '../../lib/usecases/events.ts';
import { runLapseScan } from '../../lib/usecases/lapse.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { campaignUplift } from '../../lib/usecases/uplift.ts';
import { DAY, seedCustomers } from '../support/seedCustomers.ts';
import { startTestTable } from '../support/table.ts';

/**
 * Section 15 on DynamoDB Local, through the use cases: a win-back campaign with a holdout,
 * customers flagged by a scan as of the past (their lapse began 110 days ago), returns
 * backdated into the windows after it, and the uplift read from the counts kept as they
 * happened. Instants are placed relative to now.
 */
const NOW = Date.now();
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const usd = (amount: number) => ({ amount, currency: 'USD' });
/** Bought every 10 days from 160 to 130 days ago: the rule held from 110 days ago. */
const HISTORY = { days: [160, 150, 140, 130] };
const FLAGGED_AT = NOW - 110 * DAY;

let storeId: string;
let campaignId: string;
let ids: string[] = [];

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Win-back store')).id;
  const created = await createCampaign(
    {
      name: 'We miss you',
      type: 'bonus',
      points: 500,
      audience: { status: 'lapsed' },
      holdout: 0.5,
      startsAt: new Date(NOW - 400 * DAY).toISOString(),
    },
    key(),
    new Date(NOW),
  );
  campaignId = (created.value as { id: string }).id;
  ids = (
    await seedCustomers(
      Array.from({ length: 120 }, () => HISTORY),
      NOW,
    )
  ).map((c) => c.id);
  // The scan as of 100 days ago flags them all, each with its lapse 110 days ago.
  const scan = await runLapseScan(new Date(NOW - 100 * DAY));
  expect(scan).toMatchObject({ flagged: 120, complete: true });
});

async function events() {
  const all = [];
  let cursor: string | undefined;
  do {
    const page = await listEvents(100, cursor);
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

const groupOfId = (id: string) => groupOf({ id: campaignId, holdout: 0.5 }, id);

describe('assignment at the flag', () => {
  it("puts each customer in the group its keyed hash says, in customer.lapsed's data", async () => {
    const lapsed = (await events()).filter((e) => e.type === 'customer.lapsed');
    expect(lapsed).toHaveLength(120);
    for (const e of lapsed) {
      expect(e.data.winBack).toEqual([{ campaignId, group: groupOfId(e.customerId as string) }]);
    }
    const held = ids.filter((id) => groupOfId(id) === 'holdout').length;
    // Enough of each for an uplift (120 at 0.5: 30 is 5.5 standard deviations from 60).
    expect(held).toBeGreaterThanOrEqual(30);
    expect(120 - held).toBeGreaterThanOrEqual(30);
  });

  it('is not made again by a rerun, and none count twice', async () => {
    const before = await campaignUplift(campaignId, 90);
    await runLapseScan(new Date(NOW - 100 * DAY));
    await runLapseScan(new Date(NOW));
    const after = await campaignUplift(campaignId, 90);
    expect(after.groups.offer.lapsed + after.groups.holdout.lapsed).toBe(120);
    expect(after.groups).toEqual(before.groups);
  });
});

describe('returns, their points and the uplift', () => {
  /** Which customers come back on which day after the flag (none: not in the plan). */
  const plan = new Map<string, number>();

  it('pays a holdout customer no offer points, an offer customer the offer', async () => {
    const holdout = ids.find((id) => groupOfId(id) === 'holdout') as string;
    const offer = ids.find((id) => groupOfId(id) === 'offer') as string;
    const back = async (id: string) => {
      plan.set(id, 20);
      const { value } = await recordPurchase(
        admin,
        {
          customerId: id,
          storeId,
          total: usd(3_000),
          occurredAt: new Date(FLAGGED_AT + 20 * DAY).toISOString(),
        },
        key(),
      );
      return value as { breakdown: { source: string; campaignId?: string }[] };
    };
    const held = await back(holdout);
    expect(held.breakdown.some((b) => b.campaignId === campaignId)).toBe(false);
    expect((await readCustomer(holdout)) as any).toMatchObject({ status: 'active' });
    const offered = await back(offer);
    expect(offered.breakdown).toContainEqual({ source: 'campaign', campaignId, points: 500 });
    // The campaign's stats count only what it paid.
    expect((await readCampaign(campaignId)).stats).toEqual({
      purchases: 1,
      customers: 1,
      pointsAwarded: 500,
    });
  });

  it('counts exactly under 50 returning purchases at once, each in the windows it falls in', async () => {
    const rest = ids.filter((id) => !plan.has(id));
    // Days after the flag: within 30, on day 60 and 61, on day 90 and 91, past 100 (not in 90).
    const days = [5, 29, 30, 60, 61, 89, 90, 91, 100, 105];
    const returning = rest.slice(0, 50);
    for (const [n, id] of returning.entries()) plan.set(id, days[n % days.length] as number);
    await Promise.all(
      returning.map((id) =>
        recordPurchase(
          admin,
          {
            customerId: id,
            storeId,
            total: usd(3_000),
            occurredAt: new Date(FLAGGED_AT + (plan.get(id) as number) * DAY).toISOString(),
          },
          key(),
        ),
      ),
    );
    const expected = (window: number) => {
      const count = (group: string) =>
        [...plan].filter(([id, d]) => groupOfId(id) === group && d <= window).length;
      return { offer: count('offer'), holdout: count('holdout') };
    };
    for (const window of [30, 60, 90]) {
      const u = await campaignUplift(campaignId, window);
      const want = expected(window);
      expect(u.groups.offer.cameBack).toBe(want.offer);
      expect(u.groups.holdout.cameBack).toBe(want.holdout);
      expect(u.groups.offer.spendAfter.amount).toBe(3_000 * want.offer);
      expect(u.groups.offer.pointsAwarded).toBe(500 * want.offer);
      expect(u.groups.holdout.pointsAwarded).toBe(0);
    }
    // Flagged 110 days ago: their 180-day windows have not closed, so nobody counts there.
    const long = await campaignUplift(campaignId, 180);
    expect(long).toMatchObject({ uplift: null, groups: { offer: { lapsed: 0 } } });
    expect(long.insufficientData).toMatch(/Fewer than 30/);
  });

  it('gives the uplift, its interval and what it is worth', async () => {
    const u = await campaignUplift(campaignId, 90);
    const { offer, holdout } = u.groups;
    expect(offer.lapsed + holdout.lapsed).toBe(120);
    const rate = offer.cameBack / offer.lapsed - holdout.cameBack / holdout.lapsed;
    expect(u.uplift?.rate).toBeCloseTo(rate, 4);
    const [lo, hi] = (u.uplift as { ci95: [number, number] }).ci95;
    expect(lo).toBeLessThan(rate);
    expect(hi).toBeGreaterThan(rate);
    expect(u.incrementalCustomers).toBeCloseTo(rate * offer.lapsed, 1);
    const stats = (await readCampaign(campaignId)).stats;
    expect(u.cost).toEqual({ amount: stats.pointsAwarded, currency: 'USD' });
    expect(u.insufficientData).toBeUndefined();
  });

  it("reads the same whatever the campaign's size", async () => {
    const reads = async () => {
      let calls = 0;
      let items = 0;
      const stop = onDynamoCall((_command, _input, output: any) => {
        calls += 1;
        items += output?.Items?.length ?? 0;
      });
      await campaignUplift(campaignId, 90);
      stop();
      return { calls, items };
    };
    const small = await reads();
    // Three times the customers, flagged on the same day: the same items to read.
    await seedCustomers(
      Array.from({ length: 240 }, () => HISTORY),
      NOW,
    );
    await runLapseScan(new Date(NOW - 100 * DAY));
    const large = await campaignUplift(campaignId, 90);
    expect(large.groups.offer.lapsed + large.groups.holdout.lapsed).toBe(360);
    expect(await reads()).toEqual(small);
  });
});

describe('holdout share', () => {
  it('a campaign without holdout has an empty holdout group and no uplift', async () => {
    const plain = await createCampaign(
      {
        name: 'Come back',
        type: 'multiplier',
        multiplier: 2,
        audience: { status: 'lapsed' },
        startsAt: new Date(NOW - 400 * DAY).toISOString(),
      },
      key(),
      new Date(NOW),
    );
    const id = (plain.value as { id: string }).id;
    await seedCustomers(
      Array.from({ length: 5 }, () => HISTORY),
      NOW,
    );
    await runLapseScan(new Date(NOW - 100 * DAY));
    const u = await campaignUplift(id, 90);
    expect(u.groups.holdout).toMatchObject({ lapsed: 0, cameBack: 0, rate: null });
    expect(u.groups.offer.lapsed).toBe(5);
    expect(u).toMatchObject({ uplift: null, incrementalCustomers: null, incrementalSpend: null });
    expect(u.insufficientData).toMatch(/holdout 0/);
  });

  it('a PATCH changes the share for customers assigned from then on', async () => {
    const patched = await patchCampaign(campaignId, { holdout: 0 }, new Date(NOW));
    expect(patched.holdout).toBe(0);
    const before = await campaignUplift(campaignId, 90);
    const fresh = await seedCustomers(
      Array.from({ length: 10 }, () => HISTORY),
      NOW,
    );
    await runLapseScan(new Date(NOW - 100 * DAY));
    const after = await campaignUplift(campaignId, 90);
    expect(after.groups.holdout.lapsed).toBe(before.groups.holdout.lapsed);
    expect(after.groups.offer.lapsed).toBe(before.groups.offer.lapsed + 10);
    const lapsed = (await events()).filter(
      (e) => e.type === 'customer.lapsed' && fresh.some((c) => c.id === e.customerId),
    );
    expect(lapsed.flatMap((e) => e.data.winBack as { group: string }[])).toContainEqual({
      campaignId,
      group: 'offer',
    });
    expect(
      lapsed.every((e) =>
        (e.data.winBack as { campaignId: string; group: string }[]).every(
          (w) => w.campaignId !== campaignId || w.group === 'offer',
        ),
      ),
    ).toBe(true);
  });

  it('refuses a holdout on a campaign that is not a win-back, and one above 0.5', async () => {
    const { createCampaignSchema } = await import('../../lib/schemas/campaigns.ts');
    const bad = createCampaignSchema.safeParse({
      name: 'Double',
      type: 'multiplier',
      multiplier: 2,
      holdout: 0.2,
    });
    expect(bad.success).toBe(false);
    const high = createCampaignSchema.safeParse({
      name: 'Back',
      type: 'bonus',
      points: 10,
      audience: { status: 'lapsed' },
      holdout: 0.6,
    });
    expect(high.success).toBe(false);
  });
});
