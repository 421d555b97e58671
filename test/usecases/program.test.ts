import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { forgetCachedProgram } from '../../lib/store/program.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { listEvents } from '../../lib/usecases/events.ts';
import { createPlace, listPlaces } from '../../lib/usecases/places.ts';
import { readProgram, replaceProgram } from '../../lib/usecases/program.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { allEvents } from '../support/seedCustomers.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The program, places and events use cases called directly. The program is table-wide:
 * the describe that replaces it puts the default back after it.
 */
const usd = (amount: number) => ({ amount, currency: 'USD' });
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const DAY = 86_400_000;
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';

let storeId: string;
let pos: Principal;
let n = 0;
const enrol = async () => (await enrolCustomer({ externalId: `uc-pr-${++n}` })).id;

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Main street')).id;
  pos = { keyId: 'key_pos', role: 'pos', storeId };
});

describe('readProgram / replaceProgram', () => {
  afterAll(async () => {
    await replaceProgram(defaultProgram);
    forgetCachedProgram();
  });

  it('reads the default program of a fresh table', async () => {
    forgetCachedProgram();
    expect(await readProgram()).toEqual(defaultProgram);
  });

  it('stores the program it is given, read back from the table, and purchases earn by it', async () => {
    const changed: Program = {
      ...defaultProgram,
      name: 'Acme Double Rewards',
      earnRate: { points: 2, per: 100 },
      tiers: [
        { id: 'member', name: 'Member', qualifyingSpend: 0, multiplier: 1 },
        { id: 'vip', name: 'VIP', qualifyingSpend: 10_000, multiplier: 1.5 },
      ],
      pendingDays: 3,
      pointsExpireAfterDays: 365,
      lapse: { factor: 3, minPurchases: 2, minDays: 30, mode: 'calibrated', targetPrecision: 0.8 },
    };
    expect(await replaceProgram(changed)).toEqual(changed);
    // At once in this process (its cache), and from the table once the cache is gone.
    expect(await readProgram()).toEqual(changed);
    forgetCachedProgram();
    expect(await readProgram()).toEqual(changed);

    const customerId = await enrol();
    const now = new Date();
    const { value } = await recordPurchase(
      pos,
      { customerId, total: usd(4_250) },
      key(),
      () => now,
    );
    expect(value).toMatchObject({
      pointsEarned: 85,
      pointsStatus: 'pending',
      availableAt: new Date(now.getTime() + 3 * DAY).toISOString(),
      customer: { tier: { id: 'member' }, nextTier: { id: 'vip', spendNeeded: usd(5_750) } },
    });

    await replaceProgram(defaultProgram);
    forgetCachedProgram();
    expect(await readProgram()).toEqual(defaultProgram);
  });
});

describe('createPlace / listPlaces', () => {
  it('creates stores and partners with ids of their kind, at the clock', async () => {
    const now = new Date();
    const store = await createPlace('store', 'Harbour road', now);
    expect(store).toEqual({
      id: expect.stringMatching(new RegExp(`^sto_${ULID}$`)),
      name: 'Harbour road',
      createdAt: now.toISOString(),
    });
    const partner = await createPlace('partner', 'Skyways Airline', now);
    expect(partner).toEqual({
      id: expect.stringMatching(new RegExp(`^ptn_${ULID}$`)),
      name: 'Skyways Airline',
      createdAt: now.toISOString(),
    });

    const stores = await listPlaces('store', 100, undefined);
    expect(stores.nextCursor).toBeNull();
    expect(stores.items).toContainEqual(store);
    expect(stores.items.map((s) => s.id)).not.toContain(partner.id);
    const partners = await listPlaces('partner', 100, undefined);
    expect(partners.items.map((p) => p.id)).toContain(partner.id);
    expect(partners.items.map((p) => p.id)).not.toContain(store.id);
  });

  it('lists in creation order, a page at a time', async () => {
    const made = [];
    for (const name of ['North', 'South', 'East']) made.push(await createPlace('store', name));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listPlaces('store', 1, cursor);
      expect(page.items).toHaveLength(1);
      seen.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(seen.length);
    expect(seen).toEqual([...seen].sort());
    expect(seen.slice(-3)).toEqual(made.map((p) => p.id));
    expect(seen).toContain(storeId);
  });

  it("refuses another list's cursor", async () => {
    await createPlace('partner', 'Rail');
    await createPlace('partner', 'Bus');
    const partners = await listPlaces('partner', 1, undefined);
    expect(partners.nextCursor).not.toBeNull();
    await expect(listPlaces('store', 1, partners.nextCursor as string)).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'cursor' }] },
    });
  });

  it('makes a store that purchases can name; an unknown one is not-found', async () => {
    const store = await createPlace('store', 'Station kiosk');
    const admin: Principal = { keyId: 'key_admin', role: 'admin' };
    const customerId = await enrol();
    const { value } = await recordPurchase(
      admin,
      { customerId, storeId: store.id, total: usd(100) },
      key(),
    );
    expect(value.storeId).toBe(store.id);
    await expect(
      recordPurchase(admin, { customerId, storeId: 'sto_nowhere', total: usd(100) }, key()),
    ).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('listEvents', () => {
  it('returns the tier changes purchases wrote, oldest first, and nothing for the rest', async () => {
    const customerId = await enrol();
    const before = await allEvents();

    // Below silver: no event.
    await recordPurchase(pos, { customerId, total: usd(10_000) }, key());
    expect(await allEvents()).toHaveLength(before.length);

    const up = new Date();
    await recordPurchase(pos, { customerId, total: usd(45_000) }, key(), () => up);
    const later = new Date(up.getTime() + 1_000);
    await recordPurchase(pos, { customerId, total: usd(150_000) }, key(), () => later);

    const all = await allEvents();
    expect(all).toHaveLength(before.length + 2);
    expect(all.slice(0, before.length)).toEqual(before);
    const ours = all.filter((e) => e.customerId === customerId);
    expect(ours).toEqual([
      {
        id: expect.stringMatching(new RegExp(`^evt_${ULID}$`)),
        type: 'tier.changed',
        at: up.toISOString(),
        customerId,
        data: {
          from: { id: 'member', name: 'Member' },
          to: { id: 'silver', name: 'Silver' },
          direction: 'up',
          reason: 'purchase',
          qualifyingSpend: usd(55_000),
        },
      },
      {
        id: expect.stringMatching(new RegExp(`^evt_${ULID}$`)),
        type: 'tier.changed',
        at: later.toISOString(),
        customerId,
        data: {
          from: { id: 'silver', name: 'Silver' },
          to: { id: 'gold', name: 'Gold' },
          direction: 'up',
          reason: 'purchase',
          qualifyingSpend: usd(205_000),
        },
      },
    ]);
  });

  it('pages through the same events in id order', async () => {
    const customerId = await enrol();
    await recordPurchase(pos, { customerId, total: usd(60_000) }, key());
    const whole = await allEvents();
    expect(whole.length).toBeGreaterThanOrEqual(1);
    const paged = await allEvents(1);
    expect(paged).toEqual(whole);
    const ids = paged.map((e) => e.id);
    expect(ids).toEqual([...ids].sort());
    await expect(listEvents(10, 'abc')).rejects.toMatchObject({
      code: 'validation-failed',
      extra: { errors: [{ path: 'cursor' }] },
    });
  });
});
