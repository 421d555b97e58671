import { randomUUID } from 'node:crypto';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { indexKeys, keys } from '../../lib/store/keys.ts';
import { moveToTotals, settlementTotals } from '../../lib/store/settlements.ts';
import { adjustPoints } from '../../lib/usecases/adjustments.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { inParallel } from '../../lib/usecases/parallel.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { createRedemptionCode } from '../../lib/usecases/redemptionCodes.ts';
import {
  authorizeRedemption,
  captureOrVoidRedemption,
  partnerSettlement,
  readRedemption,
  releaseLapsedHolds,
} from '../../lib/usecases/redemptions.ts';
import { totalLegacyCaptures } from '../../lib/usecases/settlementTotals.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/**
 * A partner's settlement read from running totals (lib/store/settlements.ts) on DynamoDB
 * Local: exact against the captures made, whatever voids, expiries, replays, races and day
 * boundaries; reads that do not grow with the captures; and the one-off pass that adds
 * captures from before the totals. Instants are placed from the next UTC midnight at least
 * a day ahead (clocks injected), never from the hour the test runs at.
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Hundreds of transactions on DynamoDB Local: well past the default 30 s under load. */
const SLOW = 120_000;
/** A UTC midnight at least a day from now: the days the tests capture on. */
const D = Math.ceil(Date.now() / DAY) * DAY + DAY;
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
const iso = (ms: number) => new Date(ms).toISOString();
const clockAt = (ms: number) => () => new Date(ms);

let n = 0;
async function customerWith(points: number): Promise<string> {
  const id = (await enrolCustomer({ externalId: `settle-${++n}` })).id;
  await adjustPoints(id, { points, reason: 'test credit' }, key());
  return id;
}

async function partner(): Promise<{ id: string; principal: Principal }> {
  const id = (await createPlace('partner', `Partner ${++n}`)).id;
  return { id, principal: { keyId: `key_${id}`, role: 'partner', partnerId: id } };
}

/** A capture the settlement must count: when, how much (1 point per cent by default). */
interface Captured {
  at: number;
  amount: number;
}

const expected = (captured: Captured[], from: number, to: number) => {
  const inRange = captured.filter((c) => c.at >= from && c.at < to);
  const amount = inRange.reduce((sum, c) => sum + c.amount, 0);
  return { count: inRange.length, amount: usd(amount), points: amount };
};

/** Captures `amount` at `at` at once (capture: true), for a customer of its own. */
async function captureNow(who: Principal, at: number, amount: number, idem = key()) {
  const customerId = await customerWith(amount);
  const { code } = await createRedemptionCode(customerId, new Date(at - SECOND));
  return authorizeRedemption(who, { code, amount: usd(amount), capture: true }, idem, clockAt(at));
}

/** Authorizes `amount` a little before `at` (a customer of its own); the caller settles it. */
async function authorizeBefore(who: Principal, at: number, amount: number) {
  const customerId = await customerWith(amount);
  const { code } = await createRedemptionCode(customerId, new Date(at - 2 * SECOND));
  return (
    await authorizeRedemption(who, { code, amount: usd(amount) }, key(), clockAt(at - SECOND))
  ).value;
}

/** The running totals of a partner's days as stored, summed over the shards. */
async function storedDays(partnerId: string): Promise<Map<string, [number, number]>> {
  const { Items = [] } = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :day)',
      ExpressionAttributeValues: { ':pk': keys.settlementTotals(partnerId, '').PK, ':day': 'D#' },
      ConsistentRead: true,
    }),
  );
  const days = new Map<string, [number, number]>();
  for (const item of Items) {
    const day = (item.SK as string).slice(2, 12);
    const [count, amount] = days.get(day) ?? [0, 0];
    days.set(day, [count + item.count, amount + item.amount]);
  }
  return days;
}

const byDay = (captured: Captured[]) => {
  const days = new Map<string, [number, number]>();
  for (const c of captured) {
    const day = iso(c.at).slice(0, 10);
    const [count, amount] = days.get(day) ?? [0, 0];
    days.set(day, [count + 1, amount + c.amount]);
  }
  return days;
};

/** The DynamoDB requests and the items they returned while `work` ran. */
async function reads<T>(work: () => Promise<T>) {
  const seen = { requests: 0, items: 0 };
  const stop = onDynamoCall((command, _input, output) => {
    seen.requests++;
    const out = output as { Count?: number; Item?: unknown; Items?: unknown[] } | undefined;
    if (command === 'QueryCommand') seen.items += out?.Count ?? 0;
    else if (command === 'GetItemCommand') seen.items += out?.Item ? 1 : 0;
    else seen.items += out?.Items?.length ?? 1;
  });
  try {
    return { result: await work(), ...seen };
  } finally {
    stop();
  }
}

beforeAll(async () => {
  await startTestTable();
});

describe('running settlement totals', () => {
  it(
    'equal the captures in any range, across days, whatever voids, expiries and replays',
    async () => {
      const p = await partner();
      const other = await partner();
      const captured: Captured[] = [];
      const instants = [
        D - DAY + 5 * HOUR,
        D - 1,
        D,
        D + 1,
        D + 30 * SECOND,
        D + HOUR - 1,
        D + HOUR,
        D + 12 * HOUR + 34 * MINUTE + 56 * SECOND + 789,
        D + DAY - 1,
        D + DAY,
        D + DAY + MINUTE + 500,
        D + 2 * DAY + 3 * HOUR,
      ];
      let amount = 100;
      for (const [i, at] of instants.entries()) {
        amount += 7;
        if (i % 3 === 0) {
          // At once, and sent again with the same Idempotency-Key: counted once.
          const idem = key();
          const first = await captureNow(p.principal, at, amount, idem);
          const again = await authorizeRedemption(
            p.principal,
            { code: 'UNUSED99', amount: usd(amount), capture: true },
            idem,
            clockAt(at + SECOND),
          );
          expect(again).toMatchObject({ replayed: true, value: { id: first.value.id } });
        } else if (i % 3 === 1) {
          // Authorized before, captured at `at` (by an admin for the partner), the capture
          // retried with its key: counted once, at the capture.
          const held = await authorizeBefore(p.principal, at, amount);
          const idem = key();
          await captureOrVoidRedemption(admin, held.id, 'capture', idem, clockAt(at));
          const retried = await captureOrVoidRedemption(
            admin,
            held.id,
            'capture',
            idem,
            clockAt(at),
          );
          expect(retried.replayed).toBe(true);
        } else {
          // Captured at once by an admin naming the partner.
          const viaAdmin = await customerWith(amount);
          const { code } = await createRedemptionCode(viaAdmin, new Date(at - SECOND));
          await authorizeRedemption(
            admin,
            { code, amount: usd(amount), capture: true, partnerId: p.id },
            key(),
            clockAt(at),
          );
        }
        captured.push({ at, amount });
        // Not counted: a void, an authorization left to expire, another partner's capture.
        const voided = await authorizeBefore(p.principal, at, 11);
        await captureOrVoidRedemption(p.principal, voided.id, 'void', key(), clockAt(at));
        const lapsed = await authorizeBefore(p.principal, at, 13);
        expect((await readRedemption(p.principal, lapsed.id, new Date(at + HOUR))).status).toBe(
          'expired',
        );
        await captureNow(other.principal, at, 17);
      }

      // The day totals as stored are the sums of the day's captures.
      expect(await storedDays(p.id)).toEqual(byDay(captured));
      // Every range between these bounds (whole days, hours, minutes and partial ones).
      const bounds = [
        D - DAY,
        D - 1,
        D,
        D + 1,
        D + 29 * SECOND,
        D + 17 * MINUTE + 1_234,
        D + HOUR,
        D + 12 * HOUR + 34 * MINUTE + 56 * SECOND + 790,
        D + DAY - 1,
        D + DAY + MINUTE,
        D + DAY + MINUTE + 501,
        D + 3 * DAY,
      ];
      for (const from of bounds) {
        for (const to of bounds.filter((b) => b > from)) {
          const report = await partnerSettlement(p.principal, p.id, {
            from: iso(from),
            to: iso(to),
          });
          expect(report).toEqual({
            partnerId: p.id,
            from: iso(from),
            to: iso(to),
            ...expected(captured, from, to),
          });
        }
      }
    },
    SLOW,
  );

  it(
    'are exact when captures race, each counted once however often it is sent',
    async () => {
      const p = await partner();
      const at = D + 5 * DAY + 10 * HOUR;
      const captured: Captured[] = [];
      // 30 captures at once, each sent twice at once with the same Idempotency-Key, and 15
      // authorizations captured at once: all in the same minute, on the same day items.
      const immediate = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const customerId = await customerWith(1_000);
          const { code } = await createRedemptionCode(customerId, new Date(at));
          return { code, amount: 100 + i, at: at + i };
        }),
      );
      const held = await Promise.all(
        Array.from({ length: 15 }, (_, i) => authorizeBefore(p.principal, at + 40 + i, 500 + i)),
      );
      await Promise.all([
        ...immediate.flatMap((r) => {
          const idem = key();
          const send = () =>
            authorizeRedemption(
              p.principal,
              { code: r.code, amount: usd(r.amount), capture: true },
              idem,
              clockAt(r.at),
            );
          return [send(), send()];
        }),
        ...held.map((h, i) =>
          captureOrVoidRedemption(p.principal, h.id, 'capture', key(), clockAt(at + 40 + i)),
        ),
      ]);
      captured.push(...immediate.map((r) => ({ at: r.at, amount: r.amount })));
      captured.push(...held.map((h, i) => ({ at: at + 40 + i, amount: h.amount.amount })));

      expect(await storedDays(p.id)).toEqual(byDay(captured));
      for (const [from, to] of [
        [at - DAY, at + DAY],
        [at, at + MINUTE],
        [at + 10, at + 45],
      ] as const) {
        expect(
          await partnerSettlement(p.principal, p.id, { from: iso(from), to: iso(to) }),
        ).toMatchObject(expected(captured, from, to));
      }
    },
    SLOW,
  );

  it(
    'are read in a number of items that does not grow with the captures',
    async () => {
      const at = D + 8 * DAY + 10 * HOUR;
      const few = await partner();
      const many = await partner();
      for (const [place, count] of [
        [few, 10],
        [many, 300],
      ] as const) {
        const customers = await Promise.all(Array.from({ length: 30 }, () => customerWith(10_000)));
        await inParallel(
          Array.from({ length: count }, (_, i) => i),
          15,
          async (i) => {
            const { code } = await createRedemptionCode(
              customers[i % 30] as string,
              new Date(at - SECOND),
            );
            await authorizeRedemption(
              place.principal,
              { code, amount: usd(5), capture: true },
              key(),
              clockAt(at + i * 100),
            );
          },
        );
      }
      // A whole day, and a range with partial minutes at both ends and the captures' hour.
      const ranges = [
        [D + 8 * DAY, D + 9 * DAY],
        [D + 8 * DAY + 5 * HOUR + 17 * MINUTE + 30 * SECOND, D + 9 * DAY + 10 * SECOND],
      ];
      for (const [from, to] of ranges as [number, number][]) {
        const query = { from: iso(from), to: iso(to) };
        const small = await reads(() => partnerSettlement(few.principal, few.id, query));
        const big = await reads(() => partnerSettlement(many.principal, many.id, query));
        expect(small.result).toMatchObject({ count: 10, amount: usd(50) });
        expect(big.result).toMatchObject({ count: 300, amount: usd(1_500) });
        // The same requests, and at most the 4 shards of one bucket, the partner and the
        // program: fewer items than even the 10 captures.
        expect(big.requests).toBe(small.requests);
        expect(big.items).toBeLessThanOrEqual(6);
        expect(small.items).toBeLessThanOrEqual(6);
      }
      // Summed capture by capture (as for a partner not yet totalled), the 300 are read.
      const oneByOne = await reads(() =>
        settlementTotals(many.id, iso(D + 8 * DAY), iso(D + 9 * DAY), false),
      );
      expect(oneByOne.result.count).toBe(300n);
      expect(oneByOne.items).toBeGreaterThanOrEqual(300);
    },
    SLOW,
  );

  it('refuses a range longer than 366 days', async () => {
    const p = await partner();
    const from = D;
    await expect(
      partnerSettlement(p.principal, p.id, { from: iso(from), to: iso(from + 366 * DAY + 1) }),
    ).rejects.toMatchObject({ code: 'validation-failed', extra: { errors: [{ path: 'to' }] } });
    expect(
      await partnerSettlement(p.principal, p.id, { from: iso(from), to: iso(from + 366 * DAY) }),
    ).toMatchObject({ count: 0 });
  });
});

/** A capture as a version before the totals stored it: under SETTLE#, in no totals. */
async function legacyCapture(partnerId: string, at: number, amount: number) {
  const id = newId('red', at);
  const redemption = {
    id,
    status: 'captured',
    customerId: 'cus_before',
    amount: usd(amount),
    points: amount,
    expiresAt: iso(at + 15 * MINUTE),
    partnerId,
    createdAt: iso(at),
    capturedAt: iso(at),
    updatedAt: iso(at),
  };
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...keys.redemption(id),
        ...redemption,
        GSI1PK: indexKeys.legacySettlementPartition(partnerId),
        GSI1SK: `${iso(at)}#${id}`,
      },
    }),
  );
  return { id, partnerId, capturedAt: iso(at), amount, points: amount };
}

describe('captures from before the totals', () => {
  it(
    'are summed one by one until the pass adds each to the totals once',
    async () => {
      const p = await partner();
      // A partner created before the totals: not marked totalled.
      await db().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: keys.partner(p.id),
          UpdateExpression: 'REMOVE settlementTotals',
        }),
      );
      const base = D + 20 * DAY;
      const captured: Captured[] = [];
      const legacy = [];
      for (let i = 0; i < 130; i++) {
        // Every 23 minutes from 20:00 the day before: across a midnight and many hours.
        const at = base - 4 * HOUR + i * 23 * MINUTE + (i % 7) * 1_001;
        legacy.push(await legacyCapture(p.id, at, 50 + i));
        captured.push({ at, amount: 50 + i });
      }
      // Captures since the upgrade: in the totals, and under CAPTURED#.
      for (const at of [base + HOUR, base + DAY + 1]) {
        await captureNow(p.principal, at, 999);
        captured.push({ at, amount: 999 });
      }
      const ranges: [number, number][] = [
        [base - DAY, base + 2 * DAY],
        [base, base + DAY],
        [base - 3 * HOUR - 30 * SECOND, base + 7 * HOUR + 11 * MINUTE + 5 * SECOND],
      ];
      const expectExact = async () => {
        for (const [from, to] of ranges) {
          expect(
            await partnerSettlement(p.principal, p.id, { from: iso(from), to: iso(to) }),
          ).toMatchObject(expected(captured, from, to));
        }
      };
      // Before the pass: summed capture by capture, exactly.
      await expectExact();

      // The release-holds job runs the pass; out of time, it does nothing and says so.
      await releaseLapsedHolds(new Date(base), { deadline: Date.now() - 1 });
      expect(await storedItem(keys.settlementTotalsState())).toMatchObject({ done: false });
      expect((await storedItem(keys.partner(p.id)))?.settlementTotals).toBeUndefined();
      await expectExact();

      // Two passes racing: each capture is added once.
      expect(await Promise.all([totalLegacyCaptures(), totalLegacyCaptures()])).toEqual([
        true,
        true,
      ]);
      expect(await storedItem(keys.settlementTotalsState())).toMatchObject({ done: true });
      expect((await storedItem(keys.partner(p.id)))?.settlementTotals).toBe(true);
      expect(await storedDays(p.id)).toEqual(byDay(captured));
      await expectExact();
      // Moving one again adds nothing.
      expect(await moveToTotals(legacy[0] as (typeof legacy)[number])).toBe(false);
      expect(await storedDays(p.id)).toEqual(byDay(captured));

      // Now read from the totals: a whole day reads its shards, not its 60-odd captures.
      const day = await reads(() =>
        partnerSettlement(p.principal, p.id, { from: iso(base), to: iso(base + DAY) }),
      );
      expect(day.items).toBeLessThanOrEqual(6);

      // A capture a version before the totals wrote after the pass (its Lambda still
      // running): still counted, once.
      const late = base + 2 * HOUR + 1;
      await legacyCapture(p.id, late, 4_321);
      captured.push({ at: late, amount: 4_321 });
      await expectExact();
    },
    SLOW,
  );
});
