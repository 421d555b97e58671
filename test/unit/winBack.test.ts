import { describe, expect, it } from 'vitest';
import type { Campaign } from '../../lib/domain/campaigns.ts';
import { type CustomerState, newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import {
  assign,
  assignmentUnit,
  groupOf,
  newcombe,
  tallyPurchase,
  type UpliftTallies,
  type WinBackAssignment,
  wilson,
} from '../../lib/domain/winBack.ts';

const DAY = 86_400_000;
const winBack = (holdout: number, over: Partial<Campaign> = {}): Campaign => ({
  id: 'cmp_01WINBACK',
  name: 'We miss you',
  type: 'bonus',
  points: 500,
  audience: { status: 'lapsed' },
  startsAt: '2026-01-01T00:00:00.000Z',
  endsAt: null,
  holdout,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('assignment to the holdout', () => {
  it('gives the same group to the same campaign and customer, every time', () => {
    const campaign = winBack(0.3);
    const ids = Array.from({ length: 200 }, (_, n) => `cus_${n}`);
    const first = ids.map((id) => groupOf(campaign, id));
    expect(ids.map((id) => groupOf(campaign, id))).toEqual(first);
    expect(ids.map((id) => groupOf({ ...campaign }, id))).toEqual(first);
  });

  it('holds out a share within binomial bounds of 10,000 customers', () => {
    for (const h of [0.1, 0.3, 0.5]) {
      const campaign = winBack(h, { id: `cmp_share_${h}` });
      let held = 0;
      for (let n = 0; n < 10_000; n++) if (groupOf(campaign, `cus_${n}`) === 'holdout') held++;
      // 4.5 standard deviations either side: fails by chance about once in 150,000 runs.
      const sd = Math.sqrt(10_000 * h * (1 - h));
      expect(Math.abs(held - 10_000 * h)).toBeLessThan(4.5 * sd);
    }
  });

  it('is independent across campaigns and uniform in [0, 1)', () => {
    let both = 0;
    for (let n = 0; n < 10_000; n++) {
      const a = assignmentUnit('cmp_a', `cus_${n}`);
      const b = assignmentUnit('cmp_b', `cus_${n}`);
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThan(1);
      if (a < 0.5 && b < 0.5) both++;
    }
    // Independent halves: a quarter in both (sd 43).
    expect(Math.abs(both - 2_500)).toBeLessThan(200);
  });

  it('assigns in the win-back campaigns running at the flag, for the tiers they name', () => {
    const campaigns = [
      winBack(0.5, { id: 'cmp_running' }),
      winBack(0.5, { id: 'cmp_later', startsAt: '2026-06-01T00:00:00.000Z' }),
      winBack(0.5, { id: 'cmp_gold', audience: { status: 'lapsed', tiers: ['gold'] } }),
      { ...winBack(0), id: 'cmp_everyone', audience: undefined, holdout: undefined },
    ];
    const assigned = assign(
      campaigns,
      { id: 'cus_1', tierId: 'member' },
      '2026-03-01T00:00:00.000Z',
    );
    expect(assigned.map((a) => a.campaignId)).toEqual(['cmp_running']);
    expect(assigned[0]).toMatchObject({ flaggedAt: '2026-03-01T00:00:00.000Z' });
  });
});

describe('the windows after the flag', () => {
  const flaggedAt = '2026-03-01T12:00:00.000Z';
  const a: WinBackAssignment = { campaignId: 'cmp_w', group: 'offer', flaggedAt };
  const returnOn = (days: number, ms = 0) => {
    const tallies: UpliftTallies = new Map();
    const at = new Date(Date.parse(flaggedAt) + days * DAY + ms).toISOString();
    const [after] = tallyPurchase(tallies, [a], {
      occurredAt: at,
      amount: 2_000,
      points: new Map([['cmp_w', 500]]),
    });
    return { counts: [...tallies.values()][0] ?? {}, after };
  };

  it('counts a return on day 90 in 90 and 180, not in 60', () => {
    const { counts, after } = returnOn(90);
    expect(counts).toEqual({
      came90: 1,
      came180: 1,
      spend90: 2_000,
      spend180: 2_000,
      points90: 500,
      points180: 500,
    });
    expect(after?.returnedAt).toBeDefined();
  });

  it('counts a return a millisecond into day 61 in 90, not 60; one on day 30 in all four', () => {
    expect(returnOn(60, 1).counts).toMatchObject({ came90: 1 });
    expect(returnOn(60, 1).counts.came60).toBeUndefined();
    expect(returnOn(60).counts).toMatchObject({ came60: 1 });
    expect(returnOn(30).counts).toMatchObject({ came30: 1, came60: 1, came90: 1, came180: 1 });
    expect(returnOn(181).counts).toEqual({});
  });

  it('counts a return once, and every purchase in a window as spend', () => {
    const tallies: UpliftTallies = new Map();
    const at = (d: number) => new Date(Date.parse(flaggedAt) + d * DAY).toISOString();
    let watched = [a];
    for (const d of [10, 50, 100]) {
      watched = tallyPurchase(tallies, watched, {
        occurredAt: at(d),
        amount: 1_000,
        points: new Map(),
      });
    }
    expect([...tallies.values()][0]).toEqual({
      came30: 1,
      came60: 1,
      came90: 1,
      came180: 1,
      spend30: 1_000,
      spend60: 2_000,
      spend90: 2_000,
      spend180: 3_000,
    });
    // Dated before the flag: nothing.
    const before: UpliftTallies = new Map();
    tallyPurchase(before, [a], { occurredAt: at(-1), amount: 1_000, points: new Map() });
    expect(before.size).toBe(0);
  });
});

describe("Newcombe's hybrid score interval", () => {
  // Newcombe RG (1998), Interval estimation for the difference between independent
  // proportions: comparison of eleven methods. Statistics in Medicine 17:873-890, Table II,
  // method 10.
  it.each([
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [6, 7, 2, 7, 0.0582, 0.8062],
    [5, 56, 0, 29, -0.0381, 0.1926],
  ])('%i/%i - %i/%i: [%f, %f]', (x1, n1, x2, n2, lo, hi) => {
    const [l, u] = newcombe(x1, n1, x2, n2);
    expect(l).toBeCloseTo(lo, 4);
    expect(u).toBeCloseTo(hi, 4);
  });

  it("Wilson's interval for 81/263 (Newcombe 1998's single-proportion example)", () => {
    const [l, u] = wilson(81, 263);
    expect(l).toBeCloseTo(0.2553, 4);
    expect(u).toBeCloseTo(0.3662, 4);
  });
});

describe('a customer in an experiment, as their changes see it', () => {
  const program: Program = {
    ...defaultProgram,
    lapse: { ...defaultProgram.lapse, factor: 2, minPurchases: 2, minDays: 10 },
  };
  const campaign = winBack(0.5, { id: 'cmp_exp', startsAt: '2025-01-01T00:00:00.000Z' });
  /** A customer id the keyed hash puts in `group`. */
  const idIn = (group: string) => {
    for (let n = 0; ; n++) if (groupOf(campaign, `cus_${n}`) === group) return `cus_${n}`;
  };
  function buy(c: CustomerState, iso: string, now = iso) {
    const change = new PointsChange(c, program, new Date(now)).settle();
    change.purchase({
      amount: 2_000,
      occurredAt: new Date(iso),
      availableAt: new Date(iso),
      purchaseId: `p-${iso}`,
      campaigns: [campaign],
    });
    return change;
  }
  /** Bought on 2026-01-05 and 01-10: lapsed from 01-20, flagged by a scan on `scanAt`. */
  function flagged(id: string, scanAt = '2026-02-01T00:00:00Z') {
    let c = newCustomer(id, {}, program, new Date('2026-01-01T00:00:00Z'));
    for (const day of ['2026-01-05', '2026-01-10']) c = buy(c, `${day}T12:00:00Z`).customer;
    const scan = new PointsChange(c, program, new Date(scanAt));
    expect(scan.flagLapse([campaign])).toBe(true);
    return scan;
  }

  it('a holdout customer back more than 180 days after the flag still gets no offer', () => {
    const scan = flagged(idIn('holdout'));
    expect(scan.customer.winBack).toEqual([
      { campaignId: 'cmp_exp', group: 'holdout', flaggedAt: '2026-01-20T12:00:00.000Z' },
    ]);
    const back = buy(scan.customer, '2026-09-01T12:00:00Z');
    expect(back.entries[0]?.entry.breakdown?.some((b) => b.campaignId === 'cmp_exp')).toBe(false);
    const offered = buy(flagged(idIn('offer')).customer, '2026-09-01T12:00:00Z');
    expect(offered.entries[0]?.entry.breakdown).toContainEqual({
      source: 'campaign',
      campaignId: 'cmp_exp',
      points: 500,
    });
  });

  it('is not assigned again while an earlier assignment is still counting', () => {
    const first = flagged(idIn('offer'));
    // Back on 02-05; bought again 02-10; lapsed from 02-20 (gap median 5: minDays 10).
    const back = buy(first.customer, '2026-02-05T12:00:00Z');
    const again = buy(back.customer, '2026-02-10T12:00:00Z');
    const scan = new PointsChange(again.customer, program, new Date('2026-03-15T00:00:00Z'));
    expect(scan.flagLapse([campaign])).toBe(true);
    expect(scan.customer.winBack).toHaveLength(1);
    expect(scan.uplift.size).toBe(0);
    expect(scan.events[0]?.data.winBack).toBeUndefined();
  });
});
