import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdempotencyContext } from '../../lib/principal.ts';
import { principalForHash } from '../../lib/store/apiKeys.ts';
import { keys } from '../../lib/store/keys.ts';
import { encodeCursor } from '../../lib/store/pagination.ts';
import { TOKEN_TTL_SECONDS, verifyCustomerToken } from '../../lib/tokens.ts';
import { adjustPoints } from '../../lib/usecases/adjustments.ts';
import {
  authenticate,
  createApiKey,
  ensureAdminKey,
  hashApiKey,
  revokeKey,
} from '../../lib/usecases/apiKeys.ts';
import {
  createSessionToken,
  customerActivity,
  enrolCustomer,
  findCustomer,
} from '../../lib/usecases/customers.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/**
 * The customer and API-key use cases called directly: what they return and which
 * DomainError they throw. (HTTP statuses are tested in test/integration.)
 */
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
let n = 0;
/** Identifiers no other test of this file uses (they share one table). */
const fresh = () => {
  const i = ++n;
  return {
    externalId: `uc-c-${i}`,
    email: `person.${i}@example.com`,
    phone: `+1415555${String(i).padStart(4, '0')}`,
  };
};
/** The stored item at `k`, as it is in the table. */
const itemAt = storedItem;

let storeId: string;
let partnerId: string;

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Main street')).id;
  partnerId = (await createPlace('partner', 'Partner')).id;
});

describe('enrolCustomer', () => {
  it('enrols with its identifiers, the email in lower case, and a fresh balance', async () => {
    const ids = fresh();
    const now = new Date();
    const customer = await enrolCustomer(
      { ...ids, email: `  ${ids.email.toUpperCase()} `, name: 'Ada' },
      now,
    );
    expect(customer).toMatchObject({
      createdAt: now.toISOString(),
      externalId: ids.externalId,
      email: ids.email,
      phone: ids.phone,
      name: 'Ada',
      tier: { id: 'member' },
      points: { available: 0, pending: 0, held: 0, lifetimeEarned: 0 },
      status: 'active',
    });
    expect(customer.id).toMatch(/^cus_[0-9A-Z]{26}$/);
    expect((await findCustomer({ email: ids.email })).id).toBe(customer.id);
  });

  it.each(['email', 'phone', 'externalId'] as const)(
    'refuses a taken %s with conflict and the existing customer id, keeping nothing',
    async (kind) => {
      const taken = fresh();
      const first = await enrolCustomer(taken);
      const other = fresh();
      // The taken identifier (an email in another case: emails match case-insensitively).
      const value = kind === 'email' ? taken.email.toUpperCase() : taken[kind];
      await expect(enrolCustomer({ ...other, [kind]: value })).rejects.toMatchObject({
        code: 'conflict',
        extra: { existingCustomerId: first.id },
      });
      // Nothing of the refused enrolment was kept: its other identifiers are still free.
      for (const k of ['email', 'phone', 'externalId'] as const) {
        if (k === kind) continue;
        await expect(findCustomer({ [k]: other[k] })).rejects.toMatchObject({ code: 'not-found' });
      }
      expect((await enrolCustomer({ [kind]: other[kind] })).id).not.toBe(first.id);
    },
  );
});

describe('findCustomer', () => {
  it('finds a customer by email (any case), phone or externalId', async () => {
    const ids = fresh();
    const { id } = await enrolCustomer(ids);
    for (const query of [
      { email: ids.email },
      { email: ids.email.toUpperCase() },
      { phone: ids.phone },
      { externalId: ids.externalId },
    ]) {
      expect((await findCustomer(query)).id).toBe(id);
    }
  });

  it('throws not-found for an identifier no customer has', async () => {
    const ids = fresh();
    await enrolCustomer({ externalId: ids.externalId });
    await expect(findCustomer({ email: ids.email })).rejects.toMatchObject({ code: 'not-found' });
    await expect(findCustomer({ phone: ids.phone })).rejects.toMatchObject({ code: 'not-found' });
    // External ids match exactly, not case-insensitively.
    await expect(findCustomer({ externalId: ids.externalId.toUpperCase() })).rejects.toMatchObject({
      code: 'not-found',
    });
  });
});

describe('customerActivity', () => {
  it('pages through the ledger newest first without gaps or repeats', async () => {
    const { id } = await enrolCustomer(fresh());
    const amounts = [1, 2, 3, 4, 5, 6, 7];
    for (const points of amounts) {
      await adjustPoints(id, { points, reason: `credit ${points}` }, key());
    }
    const seen: number[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await customerActivity(id, 3, cursor);
      seen.push(...page.items.map((e) => e.points));
      sizes.push(page.items.length);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual([...amounts].reverse());

    const first = await customerActivity(id, 3, undefined);
    expect(first.items[0]).toMatchObject({ type: 'adjust', points: 7, balanceAfter: 28 });
    expect(first.items[0]?.reason).toBe('credit 7');
    // A page exactly as long as the ledger has no next page.
    expect((await customerActivity(id, amounts.length, undefined)).nextCursor).toBeNull();
    expect((await customerActivity(id, amounts.length - 1, undefined)).nextCursor).not.toBeNull();
  });

  it('throws not-found for an unknown customer and validation-failed for a foreign cursor', async () => {
    const { id } = await enrolCustomer(fresh());
    await adjustPoints(id, { points: 1, reason: 'one' }, key());
    await expect(customerActivity('cus_unknown', 10, undefined)).rejects.toMatchObject({
      code: 'not-found',
    });
    const other = await enrolCustomer(fresh());
    const foreign = encodeCursor({ PK: `CUS#${other.id}`, SK: 'LEDGER#000000000001' });
    for (const cursor of [foreign, 'bm9wZQ']) {
      await expect(customerActivity(id, 10, cursor)).rejects.toMatchObject({
        code: 'validation-failed',
        extra: { errors: [{ path: 'cursor' }] },
      });
    }
  });
});

describe('createSessionToken', () => {
  it('mints a token naming the customer, valid one hour', async () => {
    const { id } = await enrolCustomer(fresh());
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 400);
    const { token, expiresAt } = await createSessionToken(id, now);
    const end = Math.floor(now.getTime() / 1000) * 1000 + TOKEN_TTL_SECONDS * 1000;
    expect(expiresAt).toBe(new Date(end).toISOString());
    expect(await verifyCustomerToken(token, now)).toBe(id);
    expect(await verifyCustomerToken(token, new Date(end - 1_000))).toBe(id);
    expect(await verifyCustomerToken(token, new Date(end + 1_000))).toBeUndefined();
  });

  it('throws not-found for an unknown customer', async () => {
    await expect(createSessionToken('cus_unknown')).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('API keys', () => {
  it('creates a key of each role that authenticates to its principal', async () => {
    const now = new Date();
    const pos = await createApiKey({ role: 'pos', storeId, name: 'till 1' }, now);
    expect(pos).toEqual({
      id: expect.stringMatching(/^key_/),
      role: 'pos',
      storeId,
      name: 'till 1',
      createdAt: now.toISOString(),
      key: expect.stringMatching(/^lk_[A-Za-z0-9_-]{43}$/),
    });
    expect(await authenticate(pos.key)).toEqual({ keyId: pos.id, role: 'pos', storeId });

    const partner = await createApiKey({ role: 'partner', partnerId });
    expect(await authenticate(partner.key)).toEqual({
      keyId: partner.id,
      role: 'partner',
      partnerId,
    });
    for (const role of ['admin', 'app'] as const) {
      const created = await createApiKey({ role });
      expect(await authenticate(created.key)).toEqual({ keyId: created.id, role });
    }
    expect(partner.key).not.toBe(pos.key);
  });

  it('stores only the hash of the key', async () => {
    const created = await createApiKey({ role: 'app' });
    expect(await principalForHash(hashApiKey(created.key))).toEqual({
      keyId: created.id,
      role: 'app',
    });
    expect(await principalForHash(created.key)).toBeUndefined();
    const record = await itemAt(keys.apiKey(created.id));
    expect(record?.hash).toBe(hashApiKey(created.key));
    expect(JSON.stringify(record)).not.toContain(created.key);
    expect(await itemAt(keys.apiKeyHash(created.key))).toBeUndefined();
    const hashItem = await itemAt(keys.apiKeyHash(hashApiKey(created.key)));
    expect(JSON.stringify(hashItem)).not.toContain(created.key);
  });

  it('refuses a key for an unknown store or partner', async () => {
    await expect(createApiKey({ role: 'pos', storeId: 'sto_missing' })).rejects.toMatchObject({
      code: 'not-found',
    });
    await expect(createApiKey({ role: 'partner', partnerId: 'ptn_missing' })).rejects.toMatchObject(
      { code: 'not-found' },
    );
  });

  it('stops authenticating a revoked key; revoking twice is fine, an unknown id is not-found', async () => {
    const created = await createApiKey({ role: 'pos', storeId });
    const kept = await createApiKey({ role: 'pos', storeId });
    const now = new Date();
    await revokeKey(created.id, now);
    expect(await authenticate(created.key)).toBeUndefined();
    expect((await itemAt(keys.apiKey(created.id)))?.revokedAt).toBe(now.toISOString());
    await expect(revokeKey(created.id)).resolves.toBeUndefined();
    expect(await authenticate(kept.key)).toEqual({ keyId: kept.id, role: 'pos', storeId });
    await expect(revokeKey('key_unknown')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('authenticates nothing for a missing, unknown or overlong key', async () => {
    const created = await createApiKey({ role: 'admin' });
    for (const candidate of [
      undefined,
      '',
      'lk_unknown',
      `${created.key}x`,
      created.key.slice(0, -1),
      'x'.repeat(600),
    ]) {
      expect(await authenticate(candidate)).toBeUndefined();
    }
  });

  it('makes a bootstrap admin key once', async () => {
    const raw = `lk_bootstrap_${randomUUID()}`;
    expect(await authenticate(raw)).toBeUndefined();
    await ensureAdminKey(raw);
    const principal = await authenticate(raw);
    expect(principal).toMatchObject({ role: 'admin', keyId: expect.stringMatching(/^key_/) });
    await ensureAdminKey(raw);
    expect(await authenticate(raw)).toEqual(principal);
  });
});
