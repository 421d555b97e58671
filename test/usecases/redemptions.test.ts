import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CODE_FAILURES_PER_MINUTE } from '../../lib/domain/redemptions.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { getCustomerConsistent } from '../../lib/store/customers.ts';
import { adjustPoints } from '../../lib/usecases/adjustments.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import {
  CODE_ALPHABET,
  CODE_LENGTH,
  CODE_TTL_SECONDS,
  createRedemptionCode,
} from '../../lib/usecases/redemptionCodes.ts';
import {
  authorizeRedemption,
  captureOrVoidRedemption,
  partnerSettlement,
  readRedemption,
  releaseLapsedHolds,
} from '../../lib/usecases/redemptions.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The redemption use cases called directly: what they return and which DomainError they
 * throw, with the clock injected. (HTTP statuses are tested in test/integration.)
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const MINUTE = 60_000;
/** The default program holds points for 15 minutes. */
const HOLD_MS = 15 * MINUTE;

let storeId: string;
let otherStoreId: string;
let partnerA: string;
let partnerB: string;
let pos: Principal;
let posOther: Principal;
let ptnA: Principal;
let ptnB: Principal;
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
let n = 0;

/** A customer with `points` available, given by an adjustment. */
async function customerWith(points: number): Promise<string> {
  const id = (await enrolCustomer({ externalId: `uc-r-${++n}` })).id;
  if (points > 0) await adjustPoints(id, { points, reason: 'test credit' }, key());
  return id;
}
const codeFor = async (customerId: string, now?: Date) =>
  (await createRedemptionCode(customerId, now)).code;
const pointsOf = async (customerId: string) => {
  const c = await getCustomerConsistent(customerId);
  return { available: c?.available, held: c?.held };
};
/** A pos principal with a credential of its own, so its failed-code count starts at 0. */
const freshPos = (): Principal => ({ keyId: `key_pos_${++n}`, role: 'pos', storeId });

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Main street')).id;
  otherStoreId = (await createPlace('store', 'High street')).id;
  partnerA = (await createPlace('partner', 'Partner A')).id;
  partnerB = (await createPlace('partner', 'Partner B')).id;
  pos = { keyId: 'key_pos', role: 'pos', storeId };
  posOther = { keyId: 'key_pos_other', role: 'pos', storeId: otherStoreId };
  ptnA = { keyId: 'key_ptn_a', role: 'partner', partnerId: partnerA };
  ptnB = { keyId: 'key_ptn_b', role: 'partner', partnerId: partnerB };
});

describe('createRedemptionCode', () => {
  it('draws an 8-character code of the unambiguous alphabet, valid 10 minutes', async () => {
    const customerId = await customerWith(0);
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 700);
    const a = await createRedemptionCode(customerId, now);
    const b = await createRedemptionCode(customerId, now);
    expect(a.code).toHaveLength(CODE_LENGTH);
    for (const ch of a.code) expect(CODE_ALPHABET).toContain(ch);
    expect(a.code).not.toBe(b.code);
    // Whole seconds: the 700 ms are dropped.
    expect(a.expiresAt).toBe(
      new Date(Math.floor(now.getTime() / 1000) * 1000 + CODE_TTL_SECONDS * 1000).toISOString(),
    );
  });
});

describe('authorizeRedemption', () => {
  it('returns the redemption with its points and holds them', async () => {
    const customerId = await customerWith(500);
    const now = new Date();
    const answer = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(123) },
      key(),
      () => now,
    );
    expect(answer.replayed).toBe(false);
    expect(answer.value).toEqual({
      id: expect.stringMatching(/^red_/),
      status: 'authorized',
      customerId,
      amount: usd(123),
      points: 123,
      storeId,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + HOLD_MS).toISOString(),
    });
    expect(await pointsOf(customerId)).toEqual({ available: 377, held: 123 });
    expect(await readRedemption(pos, answer.value.id, now)).toEqual(answer.value);
  });

  it('spends at once with capture: true', async () => {
    const customerId = await customerWith(300);
    const now = new Date();
    const { value } = await authorizeRedemption(
      ptnA,
      { code: await codeFor(customerId), amount: usd(300), capture: true },
      key(),
      () => now,
    );
    expect(value).toMatchObject({
      status: 'captured',
      points: 300,
      partnerId: partnerA,
      capturedAt: now.toISOString(),
    });
    expect(value.storeId).toBeUndefined();
    expect(await pointsOf(customerId)).toEqual({ available: 0, held: 0 });
  });

  it('gives the stored answer again for a repeated key, and holds nothing twice', async () => {
    const customerId = await customerWith(100);
    const idem = key();
    const input = { code: await codeFor(customerId), amount: usd(30) };
    const first = await authorizeRedemption(pos, input, idem);
    const again = await authorizeRedemption(pos, input, idem);
    expect(again).toEqual({ value: first.value, replayed: true });
    expect(await pointsOf(customerId)).toEqual({ available: 70, held: 30 });
    await expect(
      authorizeRedemption(pos, input, { ...idem, requestHash: 'another' }),
    ).rejects.toMatchObject({ code: 'idempotency-key-reused' });
  });

  it('refuses more than the available points, and keeps the code for a smaller amount', async () => {
    const customerId = await customerWith(50);
    const code = await codeFor(customerId);
    await expect(authorizeRedemption(pos, { code, amount: usd(51) }, key())).rejects.toMatchObject({
      code: 'insufficient-points',
    });
    expect(await pointsOf(customerId)).toEqual({ available: 50, held: 0 });
    const { value } = await authorizeRedemption(pos, { code, amount: usd(50) }, key());
    expect(value.points).toBe(50);
    expect(await pointsOf(customerId)).toEqual({ available: 0, held: 50 });
  });

  it('refuses an unknown, used or expired code with invalid-redemption-code', async () => {
    const till = freshPos();
    const customerId = await customerWith(100);
    const code = await codeFor(customerId);
    await authorizeRedemption(till, { code, amount: usd(1) }, key());
    await expect(authorizeRedemption(till, { code, amount: usd(1) }, key())).rejects.toMatchObject({
      code: 'invalid-redemption-code',
    });
    await expect(
      authorizeRedemption(till, { code: 'NOPE2345', amount: usd(1) }, key()),
    ).rejects.toMatchObject({ code: 'invalid-redemption-code' });
    const stale = await codeFor(customerId, new Date(Date.now() - (CODE_TTL_SECONDS + 60) * 1000));
    await expect(
      authorizeRedemption(till, { code: stale, amount: usd(1) }, key()),
    ).rejects.toMatchObject({ code: 'invalid-redemption-code' });
    expect(await pointsOf(customerId)).toEqual({ available: 99, held: 1 });
  });

  it('takes a code until the second before its expiresAt, and not at it', async () => {
    const customerId = await customerWith(100);
    const issued = await createRedemptionCode(customerId);
    const expiresAt = Date.parse(issued.expiresAt);
    await expect(
      authorizeRedemption(
        freshPos(),
        { code: issued.code, amount: usd(5) },
        key(),
        () => new Date(expiresAt),
      ),
    ).rejects.toMatchObject({ code: 'invalid-redemption-code' });
    const { value } = await authorizeRedemption(
      pos,
      { code: issued.code, amount: usd(5) },
      key(),
      () => new Date(expiresAt - 1000),
    );
    expect(value.status).toBe('authorized');
  });

  it('throws the problem code for each other refusal', async () => {
    const customerId = await customerWith(100);
    const code = await codeFor(customerId);
    await expect(
      authorizeRedemption(pos, { code, amount: { amount: 1, currency: 'EUR' } }, key()),
    ).rejects.toMatchObject({ code: 'currency-mismatch' });
    await expect(authorizeRedemption(admin, { code, amount: usd(1) }, key())).rejects.toMatchObject(
      { code: 'validation-failed', extra: { errors: [{ path: 'storeId' }] } },
    );
    await expect(
      authorizeRedemption(admin, { code, amount: usd(1), storeId, partnerId: partnerA }, key()),
    ).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'storeId' }] },
    });
    await expect(
      authorizeRedemption(admin, { code, amount: usd(1), storeId: 'sto_missing' }, key()),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(
      authorizeRedemption(admin, { code, amount: usd(1), partnerId: 'ptn_missing' }, key()),
    ).rejects.toMatchObject({ code: 'not-found' });
    // None of these used the code or moved a point.
    expect(await pointsOf(customerId)).toEqual({ available: 100, held: 0 });
    const { value } = await authorizeRedemption(
      admin,
      { code, amount: usd(7), partnerId: partnerA },
      key(),
    );
    expect(value).toMatchObject({ partnerId: partnerA, points: 7 });
    expect(value.storeId).toBeUndefined();
  });
});

describe('guessing codes', () => {
  it(`answers rate-limited after ${MAX_CODE_FAILURES_PER_MINUTE} wrong codes a minute, with the seconds to the next minute`, async () => {
    const guesser = freshPos();
    const minuteStart = Math.floor(Date.now() / MINUTE) * MINUTE;
    const at17s = () => new Date(minuteStart + 17_000);
    for (let i = 0; i < MAX_CODE_FAILURES_PER_MINUTE; i++) {
      await expect(
        authorizeRedemption(guesser, { code: `WRONG${100 + i}`, amount: usd(1) }, key(), at17s),
      ).rejects.toMatchObject({ code: 'invalid-redemption-code' });
    }
    await expect(
      authorizeRedemption(guesser, { code: 'WRONG999', amount: usd(1) }, key(), at17s),
    ).rejects.toMatchObject({ code: 'rate-limited', extra: { retryAfterSeconds: 43 } });
    // Later in the same minute, less to wait: never below 1.
    await expect(
      authorizeRedemption(
        guesser,
        { code: 'WRONG998', amount: usd(1) },
        key(),
        () => new Date(minuteStart + 59_500),
      ),
    ).rejects.toMatchObject({ code: 'rate-limited', extra: { retryAfterSeconds: 1 } });

    // A right code waits too, and is not used up by the refusal.
    const customerId = await customerWith(10);
    const right = await codeFor(customerId);
    await expect(
      authorizeRedemption(guesser, { code: right, amount: usd(1) }, key(), at17s),
    ).rejects.toMatchObject({ code: 'rate-limited', extra: { retryAfterSeconds: 43 } });
    expect(await pointsOf(customerId)).toEqual({ available: 10, held: 0 });

    // Another credential is unaffected, and the next minute counts from 0 again.
    const other = await authorizeRedemption(
      freshPos(),
      { code: right, amount: usd(1) },
      key(),
      at17s,
    );
    expect(other.value.status).toBe('authorized');
    await expect(
      authorizeRedemption(
        guesser,
        { code: 'WRONG997', amount: usd(1) },
        key(),
        () => new Date(minuteStart + MINUTE),
      ),
    ).rejects.toMatchObject({ code: 'invalid-redemption-code' });
  });

  it('gives 60 seconds at the very start of a minute', async () => {
    const guesser = freshPos();
    const minuteStart = new Date(Math.floor(Date.now() / MINUTE) * MINUTE);
    const start = () => minuteStart;
    for (let i = 0; i < MAX_CODE_FAILURES_PER_MINUTE; i++) {
      await expect(
        authorizeRedemption(guesser, { code: `MISS${100 + i}`, amount: usd(1) }, key(), start),
      ).rejects.toMatchObject({ code: 'invalid-redemption-code' });
    }
    const blocked = authorizeRedemption(guesser, { code: 'MISS999', amount: usd(1) }, key(), start);
    await expect(blocked).rejects.toMatchObject({
      code: 'rate-limited',
      extra: { retryAfterSeconds: 60 },
    });
  });
});

describe('captureOrVoidRedemption', () => {
  it('spends the held points at capture and gives them back at void', async () => {
    const customerId = await customerWith(500);
    const auth = await authorizeRedemption(
      ptnA,
      { code: await codeFor(customerId), amount: usd(123) },
      key(),
    );
    const now = new Date();
    const captured = await captureOrVoidRedemption(
      ptnA,
      auth.value.id,
      'capture',
      key(),
      () => now,
    );
    expect(captured).toEqual({
      value: { ...auth.value, status: 'captured', capturedAt: now.toISOString() },
      replayed: false,
    });
    expect(await pointsOf(customerId)).toEqual({ available: 377, held: 0 });

    const hold = await authorizeRedemption(
      ptnA,
      { code: await codeFor(customerId), amount: usd(77) },
      key(),
    );
    expect(await pointsOf(customerId)).toEqual({ available: 300, held: 77 });
    const voided = await captureOrVoidRedemption(ptnA, hold.value.id, 'void', key());
    expect(voided.value).toMatchObject({ id: hold.value.id, status: 'voided' });
    expect(voided.value.capturedAt).toBeUndefined();
    expect(await pointsOf(customerId)).toEqual({ available: 377, held: 0 });
    expect((await readRedemption(ptnA, hold.value.id)).status).toBe('voided');
  });

  it('replays a capture or a void with the same key, and does nothing twice', async () => {
    const customerId = await customerWith(100);
    const a = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(30) },
      key(),
    );
    const capKey = key();
    const cap1 = await captureOrVoidRedemption(pos, a.value.id, 'capture', capKey);
    const cap2 = await captureOrVoidRedemption(pos, a.value.id, 'capture', capKey);
    expect(cap2).toEqual({ value: cap1.value, replayed: true });

    const b = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(25) },
      key(),
    );
    const voidKey = key();
    const void1 = await captureOrVoidRedemption(pos, b.value.id, 'void', voidKey);
    const void2 = await captureOrVoidRedemption(pos, b.value.id, 'void', voidKey);
    expect(void2).toEqual({ value: void1.value, replayed: true });
    expect(await pointsOf(customerId)).toEqual({ available: 70, held: 0 });
  });

  it('refuses to capture or void a redemption that is not authorized (invalid-state)', async () => {
    const customerId = await customerWith(100);
    const a = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(10) },
      key(),
    );
    await captureOrVoidRedemption(pos, a.value.id, 'void', key());
    for (const action of ['capture', 'void'] as const) {
      await expect(captureOrVoidRedemption(pos, a.value.id, action, key())).rejects.toMatchObject({
        code: 'invalid-state',
      });
    }
    const b = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(10) },
      key(),
    );
    await captureOrVoidRedemption(pos, b.value.id, 'capture', key());
    for (const action of ['capture', 'void'] as const) {
      await expect(captureOrVoidRedemption(pos, b.value.id, action, key())).rejects.toMatchObject({
        code: 'invalid-state',
      });
    }
    const c = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(10), capture: true },
      key(),
    );
    await expect(captureOrVoidRedemption(pos, c.value.id, 'void', key())).rejects.toMatchObject({
      code: 'invalid-state',
    });
    await expect(
      captureOrVoidRedemption(pos, 'red_missing', 'capture', key()),
    ).rejects.toMatchObject({ code: 'not-found' });
    expect(await pointsOf(customerId)).toEqual({ available: 80, held: 0 });
  });
});

describe('holds that lapse', () => {
  it('keeps a hold until its expiresAt, then releases it and reads it as expired', async () => {
    const customerId = await customerWith(100);
    const now = new Date();
    const { value } = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(40) },
      key(),
      () => now,
    );
    const expiresAt = Date.parse(value.expiresAt);
    expect(expiresAt).toBe(now.getTime() + HOLD_MS);

    expect((await readRedemption(pos, value.id, new Date(expiresAt - 1))).status).toBe(
      'authorized',
    );
    expect(await pointsOf(customerId)).toEqual({ available: 60, held: 40 });

    const later = new Date(expiresAt + 1_000);
    expect(await readRedemption(pos, value.id, later)).toEqual({ ...value, status: 'expired' });
    expect(await pointsOf(customerId)).toEqual({ available: 100, held: 0 });
    // Read again: still expired, and nothing given back twice.
    expect((await readRedemption(pos, value.id, later)).status).toBe('expired');
    expect(await pointsOf(customerId)).toEqual({ available: 100, held: 0 });
  });

  it('refuses to capture a lapsed hold, and gives its points back', async () => {
    const customerId = await customerWith(100);
    const { value } = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(40) },
      key(),
    );
    const later = () => new Date(Date.parse(value.expiresAt) + 1_000);
    await expect(
      captureOrVoidRedemption(pos, value.id, 'capture', key(), later),
    ).rejects.toMatchObject({ code: 'invalid-state' });
    expect(await pointsOf(customerId)).toEqual({ available: 100, held: 0 });
    expect((await readRedemption(pos, value.id, later())).status).toBe('expired');
  });

  it('captures a hold in its last millisecond', async () => {
    const customerId = await customerWith(100);
    const { value } = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(40) },
      key(),
    );
    const last = () => new Date(Date.parse(value.expiresAt) - 1);
    const captured = await captureOrVoidRedemption(pos, value.id, 'capture', key(), last);
    expect(captured.value.status).toBe('captured');
    expect(await pointsOf(customerId)).toEqual({ available: 60, held: 0 });
  });
});

describe('readRedemption', () => {
  it("hides a redemption from another store's or partner's key as if it did not exist", async () => {
    const customerId = await customerWith(100);
    const atStore = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(5) },
      key(),
    );
    const atPartner = await authorizeRedemption(
      ptnA,
      { code: await codeFor(customerId), amount: usd(6) },
      key(),
    );
    expect(await readRedemption(pos, atStore.value.id)).toMatchObject({ id: atStore.value.id });
    expect(await readRedemption(ptnA, atPartner.value.id)).toMatchObject({
      id: atPartner.value.id,
    });
    for (const [who, id] of [
      [posOther, atStore.value.id],
      [ptnA, atStore.value.id],
      [ptnB, atPartner.value.id],
      [pos, atPartner.value.id],
    ] as const) {
      await expect(readRedemption(who, id)).rejects.toMatchObject({ code: 'not-found' });
    }
    await expect(
      captureOrVoidRedemption(ptnB, atPartner.value.id, 'capture', key()),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(
      captureOrVoidRedemption(posOther, atStore.value.id, 'void', key()),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(readRedemption(admin, 'red_missing')).rejects.toMatchObject({ code: 'not-found' });
    // Still authorized: the refused calls changed nothing, and an admin sees both.
    expect((await readRedemption(admin, atStore.value.id)).status).toBe('authorized');
    expect((await readRedemption(admin, atPartner.value.id)).status).toBe('authorized');
    expect(await pointsOf(customerId)).toEqual({ available: 89, held: 11 });
  });
});

describe('partnerSettlement', () => {
  it('sums exactly what the partner captured in [from, to)', async () => {
    const partnerId = (await createPlace('partner', 'Settled')).id;
    const ptn: Principal = { keyId: 'key_settled', role: 'partner', partnerId };
    const customerId = await customerWith(1_000);
    const codes = await Promise.all(Array.from({ length: 8 }, () => codeFor(customerId)));
    const [c1, c2, c3, c4, c5, c6, c7, c8] = codes.map((c) => c as string) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const base = new Date(Date.now() + 1_000);
    const at = (ms: number) => () => new Date(base.getTime() + ms);
    const from = base.toISOString();
    const to = new Date(base.getTime() + 10_000).toISOString();

    // Captured at `from` exactly: counted (from is inclusive).
    await authorizeRedemption(ptn, { code: c1, amount: usd(101), capture: true }, key(), at(0));
    // Authorized before, captured inside: counted.
    const held = await authorizeRedemption(ptn, { code: c2, amount: usd(37) }, key(), at(1_000));
    await captureOrVoidRedemption(ptn, held.value.id, 'capture', key(), at(2_000));
    // Voided, still authorized, another partner's, a store's: not counted.
    const voided = await authorizeRedemption(ptn, { code: c3, amount: usd(55) }, key(), at(3_000));
    await captureOrVoidRedemption(ptn, voided.value.id, 'void', key(), at(4_000));
    await authorizeRedemption(ptn, { code: c4, amount: usd(66) }, key(), at(5_000));
    await authorizeRedemption(ptnB, { code: c5, amount: usd(77), capture: true }, key(), at(6_000));
    await authorizeRedemption(pos, { code: c6, amount: usd(88), capture: true }, key(), at(7_000));
    // Captured by an admin for the partner: counted.
    await authorizeRedemption(
      admin,
      { code: c7, amount: usd(9), partnerId, capture: true },
      key(),
      at(8_000),
    );
    // Captured at `to` exactly: not counted (to is exclusive).
    await authorizeRedemption(
      ptn,
      { code: c8, amount: usd(250), capture: true },
      key(),
      at(10_000),
    );

    expect(await partnerSettlement(ptn, partnerId, { from, to })).toEqual({
      partnerId,
      from,
      to,
      count: 3,
      amount: usd(101 + 37 + 9),
      points: 101 + 37 + 9,
    });
    // An admin sees the same; a range just past `to` holds the capture at `to`.
    expect(await partnerSettlement(admin, partnerId, { from, to })).toMatchObject({ count: 3 });
    const after = new Date(base.getTime() + 60_000).toISOString();
    expect(await partnerSettlement(ptn, partnerId, { from: to, to: after })).toMatchObject({
      count: 1,
      amount: usd(250),
      points: 250,
    });
    // Other offsets name the same instants.
    expect(
      await partnerSettlement(ptn, partnerId, {
        from: from.replace('Z', '+00:00'),
        to: to.replace('Z', '+00:00'),
      }),
    ).toMatchObject({ from, to, count: 3 });
  });

  it('refuses another partner, an unknown partner and an empty range', async () => {
    const from = new Date(Date.now() - MINUTE).toISOString();
    const to = new Date().toISOString();
    await expect(partnerSettlement(ptnB, partnerA, { from, to })).rejects.toMatchObject({
      code: 'not-found',
    });
    await expect(partnerSettlement(admin, 'ptn_missing', { from, to })).rejects.toMatchObject({
      code: 'not-found',
    });
    await expect(partnerSettlement(ptnA, partnerA, { from: to, to: from })).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'to' }] },
    });
    await expect(partnerSettlement(ptnA, partnerA, { from, to: from })).rejects.toMatchObject({
      code: 'validation-failed',
    });
    expect(await partnerSettlement(ptnA, partnerA, { from, to })).toMatchObject({
      partnerId: partnerA,
    });
  });
});

describe('releaseLapsedHolds', () => {
  it('gives back the holds lapsed by asOf, once, and counts the same on a dry run', async () => {
    const customerId = await customerWith(200);
    const now = new Date();
    const lapsing = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(60) },
      key(),
      () => now,
    );
    const captured = await authorizeRedemption(
      pos,
      { code: await codeFor(customerId), amount: usd(40) },
      key(),
      () => now,
    );
    await captureOrVoidRedemption(pos, captured.value.id, 'capture', key(), () => now);
    expect(await pointsOf(customerId)).toEqual({ available: 100, held: 60 });

    const expiresAt = Date.parse(lapsing.value.expiresAt);
    await releaseLapsedHolds(new Date(expiresAt - 1));
    expect(await pointsOf(customerId)).toEqual({ available: 100, held: 60 });

    // A hold lapsing exactly at asOf is due.
    const asOf = new Date(expiresAt);
    const dry = await releaseLapsedHolds(asOf, { dryRun: true });
    expect(dry.released).toBeGreaterThanOrEqual(1);
    expect(await pointsOf(customerId)).toEqual({ available: 100, held: 60 });

    const run = await releaseLapsedHolds(asOf);
    expect(run).toEqual({ asOf: asOf.toISOString(), released: dry.released });
    expect(await pointsOf(customerId)).toEqual({ available: 160, held: 0 });
    expect((await readRedemption(pos, lapsing.value.id, asOf)).status).toBe('expired');
    expect((await readRedemption(pos, captured.value.id, asOf)).status).toBe('captured');

    expect(await releaseLapsedHolds(asOf)).toEqual({ asOf: asOf.toISOString(), released: 0 });
    expect(await releaseLapsedHolds(asOf, { dryRun: true })).toMatchObject({ released: 0 });
    expect(await pointsOf(customerId)).toEqual({ available: 160, held: 0 });
  });
});
