import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_OVERLAPPING_CAMPAIGNS } from '../../lib/domain/campaigns.ts';
import type { DomainError } from '../../lib/errors.ts';
import type { CreateCampaignInput } from '../../lib/schemas/campaigns.ts';
import { getCampaign } from '../../lib/store/campaigns.ts';
import {
  createCampaign,
  listCampaigns,
  patchCampaign,
  readCampaign,
} from '../../lib/usecases/campaigns.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { recordPurchase } from '../../lib/usecases/purchases.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The campaign use cases called directly on DynamoDB Local: create (idempotent), read,
 * list by status, patch, the refusals, the at-most-20-at-once limit, and a bonus earned by
 * a purchase counted in the campaign's stats. Instants are placed relative to now.
 */
type Idem = Parameters<typeof createCampaign>[1];
type Pos = Parameters<typeof recordPurchase>[0];
const key = (): Idem => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const usd = (amount: number) => ({ amount, currency: 'USD' });
const DAY = 86_400_000;
const at = (ms: number) => new Date(Date.now() + ms).toISOString();
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: DomainError) => e.code,
  );
const bonus = (extra: Partial<CreateCampaignInput> = {}): CreateCampaignInput => ({
  name: 'Double up',
  type: 'bonus',
  points: 50,
  ...extra,
});

let pos: Pos;

/** Ends a campaign a millisecond after its start: ended from then on. */
const endAtStart = (c: { id: string; startsAt: string }) =>
  patchCampaign(
    c.id,
    { endsAt: new Date(Date.parse(c.startsAt) + 1).toISOString() },
    new Date(Date.parse(c.startsAt) + 2),
  );

beforeAll(async () => {
  await startTestTable();
  pos = { keyId: 'key_pos', role: 'pos', storeId: (await createPlace('store', 'Cmp')).id };
});

describe('createCampaign / readCampaign', () => {
  it('stores the campaign, active from now with empty stats, and a repeated key answers it again', async () => {
    const now = new Date();
    const idem = key();
    const first = await createCampaign(bonus({ endsAt: at(30 * DAY) }), idem, now);
    expect(first.replayed).toBe(false);
    expect(first.value).toMatchObject({
      name: 'Double up',
      type: 'bonus',
      points: 50,
      startsAt: now.toISOString(),
      status: 'active',
      stats: { purchases: 0, customers: 0, pointsAwarded: 0 },
    });
    expect(first.value.id).toMatch(/^cmp_/);
    expect(await getCampaign(first.value.id)).toMatchObject({ name: 'Double up', points: 50 });
    expect(await readCampaign(first.value.id, now)).toEqual(first.value);

    const again = await createCampaign(bonus({ name: 'other body' }), idem, now);
    expect(again).toEqual({ value: first.value, replayed: true });
  });

  it('refuses an end not after the start, a tier the program lacks, and another currency, storing nothing', async () => {
    const before = (await listCampaigns({ limit: 100 })).items.length;
    const start = at(DAY);
    expect(await codeOf(createCampaign(bonus({ startsAt: start, endsAt: start }), key()))).toBe(
      'validation-failed',
    );
    expect(
      await codeOf(createCampaign(bonus({ audience: { tiers: ['platinum-x'] } }), key())),
    ).toBe('validation-failed');
    expect(
      await codeOf(createCampaign(bonus({ minSpend: { amount: 100, currency: 'EUR' } }), key())),
    ).toBe('currency-mismatch');
    expect((await listCampaigns({ limit: 100 })).items).toHaveLength(before);
  });

  it('answers not-found for a campaign that is not there', async () => {
    expect(await codeOf(readCampaign('cmp_nope'))).toBe('not-found');
    expect(await codeOf(patchCampaign('cmp_nope', { name: 'x' }))).toBe('not-found');
  });
});

describe('listCampaigns / patchCampaign', () => {
  it('lists by status, and a patch renames, ends early or refuses an end before the start', async () => {
    const scheduled = (
      await createCampaign(
        bonus({ name: 'Later', startsAt: at(10 * DAY), endsAt: at(11 * DAY) }),
        key(),
      )
    ).value;
    expect(scheduled.status).toBe('scheduled');
    const ids = async (status: 'active' | 'scheduled' | 'ended') =>
      (await listCampaigns({ limit: 100, status })).items.map((c) => c.id);
    expect(await ids('scheduled')).toContain(scheduled.id);
    expect(await ids('active')).not.toContain(scheduled.id);

    const renamed = await patchCampaign(scheduled.id, { name: 'Later still' });
    expect(renamed).toMatchObject({ name: 'Later still', status: 'scheduled' });
    expect((await getCampaign(scheduled.id))?.name).toBe('Later still');

    expect(await codeOf(patchCampaign(scheduled.id, { endsAt: scheduled.startsAt }))).toBe(
      'validation-failed',
    );

    const active = (await createCampaign(bonus({ name: 'Now' }), key())).value;
    const ended = await endAtStart(active);
    expect(ended.status).toBe('ended');
    expect(await ids('ended')).toContain(active.id);
    expect(await ids('active')).not.toContain(active.id);
    // Back to running until ended.
    expect((await patchCampaign(active.id, { endsAt: null })).status).toBe('active');
    await endAtStart(active);
  });

  it('pages through every campaign once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listCampaigns({ limit: 2, ...(cursor && { cursor }) });
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('a bonus earned', () => {
  it('adds its points to a purchase and its counts to the stats', async () => {
    const cmp = (
      await createCampaign(bonus({ name: 'Big spender', points: 70, minSpend: usd(5_000) }), key())
    ).value;
    const customerId = (await enrolCustomer({ externalId: 'cmp-1' })).id;
    await recordPurchase(pos, { customerId, total: usd(4_000) }, key());
    await recordPurchase(pos, { customerId, total: usd(6_000) }, key());
    const read = await readCampaign(cmp.id);
    expect(read.stats).toEqual({ purchases: 1, customers: 1, pointsAwarded: 70 });
    await endAtStart(cmp);
  });
});

describe(`at most ${MAX_OVERLAPPING_CAMPAIGNS} at once`, () => {
  it('refuses one more campaign in a window where that many run already, as conflict', async () => {
    // A window of their own, a year ahead, where no other campaign of this file runs.
    const startsAt = at(365 * DAY);
    const endsAt = at(366 * DAY);
    for (let i = 0; i < MAX_OVERLAPPING_CAMPAIGNS; i++) {
      await createCampaign(bonus({ name: `Crowd ${i}`, startsAt, endsAt }), key());
    }
    expect(
      await codeOf(createCampaign(bonus({ name: 'One too many', startsAt, endsAt }), key())),
    ).toBe('conflict');
    // After it, not overlapping: taken.
    const after = await createCampaign(
      bonus({ name: 'After the crowd', startsAt: endsAt, endsAt: at(367 * DAY) }),
      key(),
    );
    expect(after.value.status).toBe('scheduled');
  });
});
