import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  redemptionCodeFor,
  startTestApi,
  type TestApi,
  tableItems,
} from '../support/api.ts';
import { wholeLedger } from '../support/ledger.ts';
import { receiver } from '../support/receiver.ts';

let t: TestApi;
let storeId: string;
let posKey: string;
let appKey: string;
let n = 0;
const usd = (amount: number) => ({ amount, currency: 'USD' });

/** An item as text, its gzipped answers opened, to look for a customer's data in it. */
function textOf(item: Record<string, unknown>): string {
  return JSON.stringify(item, (_, value) => {
    if (value instanceof Uint8Array) {
      try {
        return gunzipSync(value).toString('utf8');
      } catch {
        return Buffer.from(value).toString('utf8');
      }
    }
    return value;
  });
}

const purchase = (customerId: string, total: number, idem: string, key = posKey) =>
  t.call('POST', '/v1/purchases', {
    key,
    body: { customerId, total: usd(total) },
    headers: { 'idempotency-key': idem },
  });

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Erase street' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
  appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
});
afterAll(() => t.api.stop());

describe('POST /v1/customers/{id}/erase', () => {
  it('leaves no personal datum in any item, forfeits every point, and keeps the financial record', async () => {
    const r = await receiver();
    try {
      const endpoint = await t.call('POST', '/v1/webhook-endpoints', {
        body: { url: r.url, events: ['*'] },
      });
      expect(endpoint.status).toBe(201);
      const who = {
        email: `erin.${Date.now()}@example.com`,
        phone: `+1555${String(Date.now()).slice(-7)}`,
        name: 'Erin Quill-Marsh',
        externalId: `EXT-${Date.now()}-erase`,
        birthDate: '1987-06-05',
      };
      const id = (await t.call('POST', '/v1/customers', { body: who })).body.id as string;
      // Another record of hers, merged in: its phone stays a lookup key of her.
      const otherPhone = `+1444${String(Date.now()).slice(-7)}`;
      const other = (await t.call('POST', '/v1/customers', { body: { phone: otherPhone } })).body
        .id;
      expect((await purchase(other, 2_000, `er-o-${++n}`)).status).toBe(201);
      expect(
        (
          await t.call('POST', `/v1/customers/${id}/merge`, {
            key: appKey,
            body: { from: other },
            headers: { 'idempotency-key': `er-merge-${n}` },
          })
        ).status,
      ).toBe(200);

      // Purchases (their answers kept for replays hold her profile), a refund, a tier up.
      const first = await purchase(id, 60_000, `er-buy-${n}`);
      expect(first.status).toBe(201);
      expect(first.body.customer.email).toBe(who.email);
      const second = await purchase(id, 10_000, `er-buy2-${n}`);
      const refund = await t.call('POST', `/v1/purchases/${second.body.id}/refunds`, {
        key: posKey,
        body: { amount: usd(5_000) },
        headers: { 'idempotency-key': `er-refund-${n}` },
      });
      expect(refund.status).toBe(201);
      // A redemption captured, one held (authorized), and a code not used yet.
      const captured = await t.call('POST', '/v1/redemptions', {
        key: posKey,
        body: { code: await redemptionCodeFor(t, id, appKey), amount: usd(50), capture: true },
        headers: { 'idempotency-key': `er-red-${n}` },
      });
      expect(captured.status).toBe(201);
      const held = await t.call('POST', '/v1/redemptions', {
        key: posKey,
        body: { code: await redemptionCodeFor(t, id, appKey), amount: usd(100) },
        headers: { 'idempotency-key': `er-hold-${n}` },
      });
      expect(held.status).toBe(201);
      const unused = await redemptionCodeFor(t, id, appKey);
      const before = (await t.call('GET', `/v1/customers/${id}`)).body;
      expect(before.points.held).toBe(100);
      expect((await t.call('POST', '/v1/jobs/deliver-webhooks', { body: {} })).status).toBe(200);

      const erased = await t.call('POST', `/v1/customers/${id}/erase`, {
        key: appKey,
        headers: { 'idempotency-key': `er-erase-${n}` },
      });
      expect(erased.status).toBe(200);
      // The hold goes back first, then everything available and pending is forfeited.
      expect(erased.body).toEqual({
        id,
        status: 'erased',
        pointsForfeited: before.points.available + before.points.pending + 100,
      });
      const again = await t.call('POST', `/v1/customers/${id}/erase`, {
        key: appKey,
        headers: { 'idempotency-key': `er-erase-${n}` },
      });
      expect(again.body).toEqual(erased.body);
      expect((await t.call('POST', '/v1/jobs/deliver-webhooks', { body: {} })).status).toBe(200);

      // Not a personal datum left in any item of the table, answers for replays included.
      const items = await tableItems(t.table);
      const needles = [who.email, who.phone, who.name, who.externalId, otherPhone, who.birthDate];
      const hits = items.flatMap((item) =>
        needles.filter((needle) => textOf(item).includes(needle)).map((needle) => [needle, item]),
      );
      expect(hits).toEqual([]);
      expect(items.length).toBeGreaterThan(50);
      // Nor in what the webhook endpoint was sent.
      expect(r.got.length).toBeGreaterThan(0);
      for (const needle of needles) {
        expect(r.got.some((g) => g.body.includes(needle))).toBe(false);
      }
      expect(r.got.map((g) => JSON.parse(g.body))).toContainEqual(
        expect.objectContaining({ type: 'customer.erased', customerId: id }),
      );

      // She reads as erased, and nothing about her changes any more.
      const read = await t.call('GET', `/v1/customers/${id}`);
      expect(read.body).toEqual({ id, status: 'erased', erasedAt: expect.any(String) });
      expect((await t.call('GET', `/v1/customers/${other}`)).body.status).toBe('erased');
      for (const query of [`email=${who.email}`, `phone=${encodeURIComponent(otherPhone)}`]) {
        expect((await t.call('GET', `/v1/customers?${query}`)).status).toBe(404);
      }
      const refused = await purchase(id, 1_000, `er-after-${n}`);
      expect([refused.status, refused.body.code]).toEqual([409, 'customer-erased']);
      const adjusted = await t.call('POST', `/v1/customers/${id}/adjustments`, {
        body: { points: 5, reason: 'goodwill' },
        headers: { 'idempotency-key': `er-adj-${n}` },
      });
      expect([adjusted.status, adjusted.body.code]).toEqual([409, 'customer-erased']);
      // A replay of an earlier purchase answers as before, without her profile.
      const replay = await purchase(id, 60_000, `er-buy-${n}`);
      expect(replay.status).toBe(201);
      expect(replay.body.id).toBe(first.body.id);
      expect(replay.body.customer.email).toBeUndefined();
      expect(replay.body.customer.points).toEqual(first.body.customer.points);

      // The hold was voided, the code cancelled; the financial record stays.
      expect(
        (await t.call('GET', `/v1/redemptions/${held.body.id}`, { key: posKey })).body.status,
      ).toBe('voided');
      const late = await t.call('POST', '/v1/redemptions', {
        key: posKey,
        body: { code: unused, amount: usd(10) },
        headers: { 'idempotency-key': `er-late-${n}` },
      });
      expect(late.body.code).toBe('invalid-redemption-code');
      expect((await t.call('GET', `/v1/purchases/${first.body.id}`, { key: posKey })).status).toBe(
        200,
      );
      const ledger = await wholeLedger(t, id);
      expect(ledger[0]).toMatchObject({ type: 'erase', balanceAfter: 0 });
      // The ledger adds up, entry by entry, to the 0 left.
      let running = 0;
      for (const entry of [...ledger].reverse()) {
        running += entry.points;
        expect(entry.balanceAfter).toBe(running);
      }
      expect(running).toBe(0);

      // The same email may enrol again, as somebody new.
      const anew = await t.call('POST', '/v1/customers', { body: { email: who.email } });
      expect(anew.status).toBe(201);
      expect(anew.body.id).not.toBe(id);
    } finally {
      await r.close();
    }
  });

  it('leaves those they referred free to buy, and no job trips on them, whatever tier they held', async () => {
    const campaign = await t.call('POST', '/v1/campaigns', {
      body: {
        name: 'Bring a friend',
        type: 'referral',
        points: 100,
        refereePoints: 50,
        startsAt: new Date(Date.now() - 86_400_000).toISOString(),
      },
      headers: { 'idempotency-key': `er-referral-${++n}` },
    });
    expect(campaign.status).toBe(201);
    // The referrer, silver or above (a tier held is reviewed), then erased.
    const referrer = (await t.call('POST', '/v1/customers', { body: { externalId: `rr-${n}` } }))
      .body.id;
    const referred = (
      await t.call('POST', '/v1/customers', {
        body: { externalId: `rd-${n}`, referredBy: referrer },
      })
    ).body.id;
    expect((await purchase(referrer, 60_000, `er-rr-${n}`)).body.customer.tier.id).not.toBe(
      'member',
    );
    const erased = await t.call('POST', `/v1/customers/${referrer}/erase`, {
      key: appKey,
      headers: { 'idempotency-key': `er-rr-erase-${n}` },
    });
    expect(erased.status).toBe(200);
    // The referred customer's first purchase pays their own part, and nothing to the erased.
    const first = await purchase(referred, 2_000, `er-rd-${n}`);
    expect(first.status).toBe(201);
    const ledger = await wholeLedger(t, referred);
    expect(ledger.filter((e) => e.campaignId === campaign.body.id).map((e) => e.points)).toEqual([
      50,
    ]);
    const gone = await wholeLedger(t, referrer);
    expect(gone[0]).toMatchObject({ type: 'erase' });
    // Refunded in full: the referred customer's part goes back; the erased one is untouched.
    const refund = await t.call('POST', `/v1/purchases/${first.body.id}/refunds`, {
      key: posKey,
      body: { amount: usd(2_000) },
      headers: { 'idempotency-key': `er-rd-refund-${n}` },
    });
    expect(refund.status).toBe(201);
    expect(await wholeLedger(t, referrer)).toEqual(gone);
    // Every job runs over them (the tier they held is not reviewed: they are due for nothing).
    for (const job of ['review-tiers', 'expire-points', 'activate-pending', 'birthday-bonus']) {
      expect((await t.call('POST', `/v1/jobs/${job}`, { body: {} })).status, job).toBe(200);
    }
    // Their changes answer customer-erased, whatever else would have been said.
    const refusals = await Promise.all([
      t.call('POST', `/v1/customers/${referrer}/adjustments`, {
        body: { points: -5, reason: 'correction' },
        headers: { 'idempotency-key': `er-rr-adj-${n}` },
      }),
      t.call('POST', '/v1/purchases/quote', {
        key: posKey,
        body: { customerId: referrer, total: usd(1_000) },
      }),
      t.call('PUT', `/v1/customers/${referrer}/lapse-reason`, {
        body: { reason: 'moved' },
      }),
      t.call('POST', `/v1/customers/${referrer}/exports`, {
        key: appKey,
        headers: { 'idempotency-key': `er-rr-exp-${n}` },
      }),
    ]);
    expect(refusals.map((r) => [r.status, r.body.code])).toEqual(
      refusals.map(() => [409, 'customer-erased']),
    );
  });

  it('lets a customer erase themselves with their token, and only themselves', async () => {
    const id = (await t.call('POST', '/v1/customers', { body: { externalId: `self-${++n}` } })).body
      .id;
    const token = (await t.call('POST', `/v1/customers/${id}/session-tokens`, { key: appKey })).body
      .token;
    const bearer = { authorization: `Bearer ${token}` };
    const res = await t.call('POST', '/v1/me/erase', {
      key: null,
      headers: { ...bearer, 'idempotency-key': `self-${n}` },
    });
    expect(res.body).toEqual({ id, status: 'erased', pointsForfeited: 0 });
    const me = await t.call('GET', '/v1/me', { key: null, headers: bearer });
    expect(me.body).toMatchObject({ id, status: 'erased' });
    const again = await t.call('POST', '/v1/me/erase', {
      key: null,
      headers: { ...bearer, 'idempotency-key': `self-again-${n}` },
    });
    expect([again.status, again.body.code]).toEqual([409, 'customer-erased']);
    expect(
      (
        await t.call('POST', `/v1/customers/${id}/erase`, {
          key: ADMIN_KEY,
          headers: { 'idempotency-key': `admin-${n}` },
        })
      ).body.code,
    ).toBe('customer-erased');
  });
});
