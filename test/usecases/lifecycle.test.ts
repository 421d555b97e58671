import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerView } from '../../lib/domain/customer.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { getCustomerConsistent, listLedger } from '../../lib/store/customers.ts';
import { forgetCachedProgram, putProgram } from '../../lib/store/program.ts';
import { adjustPoints } from '../../lib/usecases/adjustments.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { runJob } from '../../lib/usecases/jobs.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { readProgram } from '../../lib/usecases/program.ts';
import { recordPurchase, refundPurchase } from '../../lib/usecases/purchases.ts';
import { readSettledCustomer, settledCustomer } from '../../lib/usecases/settledCustomer.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The lifecycle use cases called directly: adjustments, settling on read, and the periodic
 * jobs, with the clock (or asOf) placed relative to now. (HTTP statuses are tested in
 * test/integration/lifecycle.test.ts.)
 *
 * runJob takes any asOf: the refusal of an asOf more than 5 minutes ahead is the job
 * route's (lib/http/jobs.ts), so no LOYALTY_ALLOW_FUTURE_ASOF is needed here.
 */
delete process.env.LOYALTY_ALLOW_FUTURE_ASOF;

const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const DAY = 86_400_000;
const at = (ms: number) => new Date(ms);
/** "YYYYMMDD" of an instant's UTC day (a lot's key). */
const dayOf = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '');
/** 00:00 UTC of the day `days` after the UTC day of `d`. */
const dayStartAfter = (d: Date, days: number) =>
  Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days);
/** Far enough ahead that every job finds everything already in the table due. */
const FAR = 3650 * DAY;

const admin: Principal = { keyId: 'key_admin', role: 'admin' };
let storeId: string;
let n = 0;
let made: string[] = [];

async function enrol(): Promise<string> {
  const id = (await enrolCustomer({ externalId: `uc-l-${++n}` })).id;
  made.push(id);
  return id;
}

/** An admin purchase (admin keys may backdate) of `amount` cents at `occurredAt`, as of `now`. */
async function buy(customerId: string, amount: number, occurredAt: Date, now = occurredAt) {
  const answer = await recordPurchase(
    admin,
    { customerId, storeId, total: usd(amount), occurredAt: occurredAt.toISOString() },
    key(),
    () => now,
  );
  return answer.value;
}

async function setProgram(changes: Partial<Program>) {
  await putProgram({ ...defaultProgram, ...changes });
  forgetCachedProgram();
}

/** Every ledger entry, newest first. */
const ledger = async (id: string) => (await listLedger(id, 1000, undefined)).items;

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Main street')).id;
});

afterEach(async () => {
  // The bar: available and pending equal the sums of the ledger, and balanceAfter adds up.
  for (const id of made) {
    const entries = (await ledger(id)).reverse();
    let available = 0;
    let pending = 0;
    for (const entry of entries) {
      available += entry.points;
      pending += entry.pendingPoints ?? 0;
      expect(entry.balanceAfter).toBe(available);
    }
    expect(await getCustomerConsistent(id)).toMatchObject({ available, pending });
  }
  made = [];
});

describe('adjustPoints', () => {
  it('credits with its reason, at the clock, and leaves lifetime points alone', async () => {
    const id = await enrol();
    const now = new Date();
    const answer = await adjustPoints(
      id,
      { points: 500, reason: 'Complaint #4411: cold coffee' },
      key(),
      () => now,
    );
    expect(answer.replayed).toBe(false);
    expect(answer.value).toMatchObject({
      type: 'adjust',
      points: 500,
      reason: 'Complaint #4411: cold coffee',
      balanceAfter: 500,
      at: now.toISOString(),
    });
    expect(answer.value.id).toMatch(/^led_/);
    const stored = await getCustomerConsistent(id);
    expect(stored).toMatchObject({ available: 500, lifetimeEarned: 0, version: 1 });
    expect(stored?.lots).toEqual({ [dayOf(now)]: 500 });
    expect((await ledger(id)).map((e) => e.id)).toEqual([answer.value.id]);
  });

  it('debits, and refuses a debit that would take available below 0 without writing', async () => {
    const id = await enrol();
    await adjustPoints(id, { points: 300, reason: 'goodwill' }, key());
    const down = await adjustPoints(id, { points: -120, reason: 'posted twice' }, key());
    expect(down.value).toMatchObject({ type: 'adjust', points: -120, balanceAfter: 180 });

    await expect(
      adjustPoints(id, { points: -181, reason: 'correction' }, key()),
    ).rejects.toMatchObject({ code: 'insufficient-points' });
    expect(await getCustomerConsistent(id)).toMatchObject({ available: 180, version: 2 });

    // Exactly to 0 is allowed.
    const all = await adjustPoints(id, { points: -180, reason: 'correction' }, key());
    expect(all.value.balanceAfter).toBe(0);
    expect((await ledger(id)).map((e) => e.points)).toEqual([-180, -120, 300]);

    const empty = await enrol();
    await expect(
      adjustPoints(empty, { points: -1, reason: 'correction' }, key()),
    ).rejects.toMatchObject({ code: 'insufficient-points' });
  });

  it('gives the stored answer again for a repeated key, and changes nothing', async () => {
    const id = await enrol();
    const idem = key();
    const body = { points: 25, reason: 'birthday' };
    const first = await adjustPoints(id, body, idem);
    const again = await adjustPoints(id, body, idem);
    expect(again).toEqual({ value: first.value, replayed: true });
    // Even once the clock has moved on (within the key's 48 h).
    const later = new Date(Date.now() + 3_600_000);
    expect(await adjustPoints(id, body, idem, () => later)).toEqual({
      value: first.value,
      replayed: true,
    });
    expect(await getCustomerConsistent(id)).toMatchObject({ available: 25, version: 1 });
    expect(await ledger(id)).toHaveLength(1);

    // The same key with another request is refused.
    await expect(adjustPoints(id, body, { ...idem, requestHash: 'another' })).rejects.toMatchObject(
      { code: 'idempotency-key-reused' },
    );
  });

  it('credits a customer whose balance is below 0, and still refuses a debit there', async () => {
    // A refund of points already spent takes available below 0 (README: refunds).
    const id = await enrol();
    const now = new Date();
    const p = await buy(id, 10_000, now);
    await adjustPoints(id, { points: -100, reason: 'spent elsewhere' }, key(), () => now);
    await refundPurchase(admin, p.id, { amount: usd(10_000) }, key(), () => now);
    expect((await getCustomerConsistent(id))?.available).toBe(-100);

    await expect(
      adjustPoints(id, { points: -1, reason: 'correction' }, key(), () => now),
    ).rejects.toMatchObject({ code: 'insufficient-points' });
    // Only a debit may be refused (the adjustments route: "A debit may not take available
    // points below 0"); a goodwill credit smaller than the deficit must go through.
    const credit = await adjustPoints(id, { points: 40, reason: 'goodwill' }, key(), () => now);
    expect(credit.value).toMatchObject({ points: 40, balanceAfter: -60 });
    expect((await getCustomerConsistent(id))?.available).toBe(-60);
  });

  it('throws not-found for a customer that does not exist', async () => {
    await expect(
      adjustPoints('cus_missing', { points: 10, reason: 'goodwill' }, key()),
    ).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('settling on read (pendingDays: 14)', () => {
  beforeAll(() => setProgram({ pendingDays: 14 }));
  afterAll(() => setProgram({}));

  it('keeps points pending until availableAt, then makes them available once', async () => {
    const id = await enrol();
    const now = new Date();
    const p = await buy(id, 25_000, now);
    const availableAt = at(now.getTime() + 14 * DAY);
    expect(p).toMatchObject({
      pointsEarned: 250,
      pointsStatus: 'pending',
      availableAt: availableAt.toISOString(),
      customer: { points: { available: 0, pending: 250, lifetimeEarned: 250 } },
    });

    const program = await readProgram();
    expect(program.pendingDays).toBe(14);
    const before = await settledCustomer(id, program, at(availableAt.getTime() - 1));
    expect(before).toMatchObject({ available: 0, pending: 250, version: 1 });

    const after = await settledCustomer(id, program, availableAt);
    expect(after).toMatchObject({
      available: 250,
      pending: 0,
      version: 2,
    });
    expect(after?.pendingLots).toEqual({});
    expect(after?.lots).toEqual({ [dayOf(availableAt)]: 250 });
    // Written, with its ledger entry at the reading's clock.
    expect(await getCustomerConsistent(id)).toMatchObject({ available: 250, version: 2 });
    const [activate, pending] = await ledger(id);
    expect(activate).toMatchObject({
      type: 'activate',
      points: 250,
      pendingPoints: -250,
      balanceAfter: 250,
      at: availableAt.toISOString(),
    });
    expect(pending).toMatchObject({ type: 'pending', points: 0, pendingPoints: 250 });

    // Nothing more is due: a later read writes nothing.
    expect((await settledCustomer(id, program, at(availableAt.getTime() + DAY)))?.version).toBe(2);
    expect(await ledger(id)).toHaveLength(2);
  });

  it('readSettledCustomer shows the customer as of its clock', async () => {
    const id = await enrol();
    const now = new Date();
    await buy(id, 10_000, now);
    const availableAt = now.getTime() + 14 * DAY;
    const early = await readSettledCustomer(id, at(availableAt - 1));
    expect(early).toMatchObject({
      id,
      points: { available: 0, pending: 100, held: 0, lifetimeEarned: 100, expiringSoon: null },
      cashValue: usd(0),
    });
    const due = await readSettledCustomer(id, at(availableAt));
    expect(due).toMatchObject({
      points: { available: 100, pending: 0, lifetimeEarned: 100 },
      cashValue: usd(100),
    });
    expect((await ledger(id)).map((e) => e.type)).toEqual(['activate', 'pending']);
  });

  it('an adjustment settles first, and a debit counts available points only', async () => {
    const id = await enrol();
    const now = new Date();
    await buy(id, 10_000, now);
    await expect(
      adjustPoints(id, { points: -1, reason: 'correction' }, key(), () => now),
    ).rejects.toMatchObject({ code: 'insufficient-points' });
    const due = at(now.getTime() + 14 * DAY);
    const answer = await adjustPoints(id, { points: -100, reason: 'correction' }, key(), () => due);
    expect(answer.value).toMatchObject({ points: -100, balanceAfter: 0, at: due.toISOString() });
    expect((await ledger(id)).map((e) => e.type)).toEqual(['adjust', 'activate', 'pending']);
  });

  it('throws not-found for a customer that does not exist', async () => {
    expect(await settledCustomer('cus_missing', await readProgram(), new Date())).toBeUndefined();
    await expect(readSettledCustomer('cus_missing')).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('settling on read (pointsExpireAfterDays: 30)', () => {
  beforeAll(() => setProgram({ pointsExpireAfterDays: 30 }));
  afterAll(() => setProgram({}));

  it('shows points expiring soon, and expires them when read at the end of their 30 days', async () => {
    const id = await enrol();
    const now = new Date();
    const occurredAt = at(now.getTime() - 10 * DAY);
    const p = await buy(id, 4_200, occurredAt, now);
    expect(p.customer.points.available).toBe(42);
    // 00:00 UTC the day after the lot's day + 30 days.
    const expiresAt = dayStartAfter(occurredAt, 31);

    const before = (await readSettledCustomer(id, at(expiresAt - 1))) as CustomerView;
    expect(before.points).toMatchObject({
      available: 42,
      expiringSoon: { points: 42, expiresAt: at(expiresAt).toISOString() },
    });
    const after = (await readSettledCustomer(id, at(expiresAt))) as CustomerView;
    expect(after.points).toMatchObject({ available: 0, lifetimeEarned: 42, expiringSoon: null });
    const [expired] = await ledger(id);
    expect(expired).toMatchObject({
      type: 'expire',
      points: -42,
      balanceAfter: 0,
      at: at(expiresAt).toISOString(),
    });
    const stored = await getCustomerConsistent(id);
    expect(stored?.available).toBe(0);
    expect(stored?.lots).toEqual({});
  });
});

describe('runJob', () => {
  it('does nothing with expire-points when the program has no expiry', async () => {
    const id = await enrol();
    await adjustPoints(id, { points: 10, reason: 'goodwill' }, key());
    const asOf = at(Date.now() + FAR);
    expect(await runJob('expire-points', asOf)).toEqual({
      asOf: asOf.toISOString(),
      customers: 0,
      points: 0,
      tiersChanged: 0,
      complete: true,
    });
    expect((await getCustomerConsistent(id))?.available).toBe(10);
  });

  describe('activate-pending (pendingDays: 14)', () => {
    beforeAll(() => setProgram({ pendingDays: 14 }));
    afterAll(() => setProgram({}));

    it('activates what is due at asOf, counts a dry run without writing, and never twice', async () => {
      const now = new Date();
      // Whatever earlier tests left pending is activated first, so the counts are ours.
      await runJob('activate-pending', at(now.getTime() + FAR));
      const a = await enrol();
      const b = await enrol();
      await buy(a, 10_000, now);
      await buy(b, 5_000, now);
      const availableAt = at(now.getTime() + 14 * DAY);

      expect(await runJob('activate-pending', at(availableAt.getTime() - 1))).toMatchObject({
        customers: 0,
        points: 0,
        complete: true,
      });
      expect(await runJob('activate-pending', availableAt, { dryRun: true })).toMatchObject({
        customers: 2,
        points: 150,
      });
      expect(await getCustomerConsistent(a)).toMatchObject({ available: 0, pending: 100 });

      expect(await runJob('activate-pending', availableAt)).toEqual({
        asOf: availableAt.toISOString(),
        customers: 2,
        points: 150,
        tiersChanged: 0,
        complete: true,
      });
      expect(await getCustomerConsistent(a)).toMatchObject({ available: 100, pending: 0 });
      expect(await getCustomerConsistent(b)).toMatchObject({ available: 50, pending: 0 });

      expect(await runJob('activate-pending', availableAt)).toMatchObject({
        customers: 0,
        points: 0,
      });
      expect((await runJob('activate-pending', at(now.getTime() + FAR))).customers).toBe(0);
      for (const id of [a, b]) {
        expect((await ledger(id)).filter((e) => e.type === 'activate')).toHaveLength(1);
      }
    });

    it('cut off half-way is finished by the next run', async () => {
      const now = new Date();
      await runJob('activate-pending', at(now.getTime() + FAR));
      const ids = [await enrol(), await enrol()];
      for (const id of ids) await buy(id, 10_000, now);
      const asOf = at(now.getTime() + 15 * DAY);
      let pages = 0;
      const cut = await runJob('activate-pending', asOf, {
        pageSize: 1,
        shouldStop: () => ++pages > 1,
      });
      expect(cut).toMatchObject({ customers: 1, points: 100, complete: false });
      const rest = await runJob('activate-pending', asOf, { pageSize: 1 });
      expect(rest).toMatchObject({ customers: 1, points: 100, complete: true });
      for (const id of ids) {
        expect(await getCustomerConsistent(id)).toMatchObject({ available: 100, pending: 0 });
      }
    });
  });

  describe('expire-points (pointsExpireAfterDays: 30)', () => {
    beforeAll(() => setProgram({ pointsExpireAfterDays: 30 }));
    afterAll(() => setProgram({}));

    it('expires what is left of the oldest lots first, at the end of their day, once', async () => {
      const now = new Date();
      await runJob('expire-points', at(now.getTime() + FAR));
      const id = await enrol();
      const dayA = at(now.getTime() - 25 * DAY);
      const dayB = at(now.getTime() - 20 * DAY);
      const dayC = at(now.getTime() - 2 * DAY);
      await buy(id, 10_000, dayA, now); // lot A: 100
      await buy(id, 5_000, dayB, now); // lot B: 50
      await buy(id, 3_000, dayC, now); // lot C: 30
      // A correction takes the oldest first: all of A, 20 of B.
      await adjustPoints(id, { points: -120, reason: 'correction' }, key(), () => now);
      const spent = await getCustomerConsistent(id);
      expect(spent?.available).toBe(60);
      expect(spent?.lots).toEqual({ [dayOf(dayB)]: 30, [dayOf(dayC)]: 30 });

      // A would have expired, but it was spent: nothing to do.
      expect(await runJob('expire-points', at(dayStartAfter(dayA, 31)))).toMatchObject({
        customers: 0,
        points: 0,
      });
      const expiryB = dayStartAfter(dayB, 31);
      expect(await runJob('expire-points', at(expiryB - 1))).toMatchObject({ customers: 0 });
      expect(await runJob('expire-points', at(expiryB))).toEqual({
        asOf: at(expiryB).toISOString(),
        customers: 1,
        points: 30,
        tiersChanged: 0,
        complete: true,
      });
      expect((await getCustomerConsistent(id))?.available).toBe(30);
      expect(await runJob('expire-points', at(expiryB))).toMatchObject({ points: 0 });

      expect(await runJob('expire-points', at(dayStartAfter(dayC, 31)))).toMatchObject({
        customers: 1,
        points: 30,
      });
      const emptied = await getCustomerConsistent(id);
      expect(emptied?.available).toBe(0);
      expect(emptied?.lots).toEqual({});
      expect((await ledger(id)).filter((e) => e.type === 'expire').map((e) => e.points)).toEqual([
        -30, -30,
      ]);
    });
  });

  it('review-tiers moves a tier down once its spend has left the window, and only then', async () => {
    const now = new Date();
    await runJob('review-tiers', at(now.getTime() + FAR));
    const id = await enrol();
    const p = await buy(id, 60_000, now);
    expect(p.customer.tier.id).toBe('silver');
    // The purchase's month leaves the 12-month window on the 1st, 12 months on.
    const reviewAt = at(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 12, 1));
    expect((await getCustomerConsistent(id))?.reviewAt).toBe(reviewAt.toISOString());

    expect(await runJob('review-tiers', at(reviewAt.getTime() - 1))).toMatchObject({
      customers: 0,
      tiersChanged: 0,
    });
    expect(await runJob('review-tiers', reviewAt)).toEqual({
      asOf: reviewAt.toISOString(),
      customers: 1,
      points: 0,
      tiersChanged: 1,
      complete: true,
    });
    const after = await getCustomerConsistent(id);
    expect(after?.tierId).toBe('member');
    expect(after?.reviewAt).toBeUndefined();
    expect(await runJob('review-tiers', at(now.getTime() + FAR))).toMatchObject({
      customers: 0,
      tiersChanged: 0,
    });
  });

  it('lapse-scan flags a customer just after its silence exceeds the rule, once', async () => {
    const now = Date.now();
    await runJob('lapse-scan', at(now + FAR));
    // A day and a half ago, so whole-day gaps hold at any hour of the run.
    const base = now - 1.5 * DAY;
    const id = await enrol();
    for (const d of [20, 10, 0]) await buy(id, 1_000, at(base - d * DAY), at(now));
    // Gaps 10 and 10: lapsed more than 2 x 10 days after the last purchase.
    const due = base + 20 * DAY;
    // In the LapseWatch index under its gap band (10 days: band 14, from 2^(13/4) = 9.51
    // days), its last purchase, gap x 2 and purchases; the thresholds are not in the key.
    expect((await getCustomerConsistent(id))?.lapseWatch).toBe(`14#${at(base).toISOString()}#20#3`);

    expect(await runJob('lapse-scan', at(due))).toMatchObject({ customers: 0, points: 0 });
    expect(await runJob('lapse-scan', at(due + 1))).toEqual({
      asOf: at(due + 1).toISOString(),
      customers: 1,
      points: 1,
      tiersChanged: 0,
      complete: true,
    });
    const lapsed = await getCustomerConsistent(id);
    expect(lapsed).toMatchObject({ status: 'lapsed', lapsedAt: at(due).toISOString() });
    expect(lapsed?.lapseWatch).toBeUndefined();
    expect(await runJob('lapse-scan', at(now + FAR))).toMatchObject({ customers: 0 });
  });
});
