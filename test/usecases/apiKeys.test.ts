import { beforeAll, describe, expect, it } from 'vitest';
import type { DomainError } from '../../lib/errors.ts';
import { keys } from '../../lib/store/keys.ts';
import {
  authenticate,
  createApiKey,
  ensureAdminKey,
  hashApiKey,
  revokeKey,
} from '../../lib/usecases/apiKeys.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/** The API key use cases called directly on DynamoDB Local: create, authenticate, revoke. */
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: DomainError) => e.code,
  );
const item = storedItem;

let storeId: string;
let partnerId: string;

beforeAll(async () => {
  await startTestTable();
  storeId = (await createPlace('store', 'Key store')).id;
  partnerId = (await createPlace('partner', 'Key partner')).id;
});

describe('createApiKey / authenticate', () => {
  it('answers a new lk_ key once, stores only its hash, and the key authenticates as its role and store', async () => {
    const now = new Date();
    const made = await createApiKey({ role: 'pos', storeId, name: 'till 1' }, now);
    expect(made.key).toMatch(/^lk_[A-Za-z0-9_-]{43}$/);
    expect(made).toMatchObject({
      role: 'pos',
      storeId,
      name: 'till 1',
      createdAt: now.toISOString(),
    });
    expect(made.id).toMatch(/^key_/);

    const record = await item(keys.apiKey(made.id));
    expect(record).toMatchObject({ role: 'pos', storeId, hash: hashApiKey(made.key) });
    expect(JSON.stringify(record)).not.toContain(made.key);
    expect(await item(keys.apiKeyHash(hashApiKey(made.key)))).toBeDefined();

    expect(await authenticate(made.key)).toEqual({ keyId: made.id, role: 'pos', storeId });
  });

  it('makes a partner key for its partner and an app key with neither, each key different', async () => {
    const partner = await createApiKey({ role: 'partner', partnerId });
    const app = await createApiKey({ role: 'app' });
    expect(partner.key).not.toBe(app.key);
    expect(await authenticate(partner.key)).toEqual({
      keyId: partner.id,
      role: 'partner',
      partnerId,
    });
    expect(await authenticate(app.key)).toEqual({ keyId: app.id, role: 'app' });
  });

  it('answers not-found for a store or partner that is not there, storing no key', async () => {
    expect(await codeOf(createApiKey({ role: 'pos', storeId: 'sto_nope' }))).toBe('not-found');
    expect(await codeOf(createApiKey({ role: 'partner', partnerId: 'ptn_nope' }))).toBe(
      'not-found',
    );
  });

  it('authenticates nobody for no key, an unknown key or one over 512 characters', async () => {
    expect(await authenticate(undefined)).toBeUndefined();
    expect(await authenticate('')).toBeUndefined();
    expect(await authenticate('lk_not-a-key')).toBeUndefined();
    expect(await authenticate(`lk_${'a'.repeat(600)}`)).toBeUndefined();
  });
});

describe('revokeKey', () => {
  it('stops the key authenticating, stamps revokedAt, and a second revoke changes nothing', async () => {
    const made = await createApiKey({ role: 'app' });
    const at = new Date(Date.now() + 1000);
    await revokeKey(made.id, at);
    expect(await authenticate(made.key)).toBeUndefined();
    expect(await item(keys.apiKeyHash(hashApiKey(made.key)))).toBeUndefined();
    expect((await item(keys.apiKey(made.id)))?.revokedAt).toBe(at.toISOString());
    await revokeKey(made.id, new Date(at.getTime() + 5000));
    expect((await item(keys.apiKey(made.id)))?.revokedAt).toBe(at.toISOString());
  });

  it('answers not-found for a key id that is not there', async () => {
    expect(await codeOf(revokeKey('key_nope'))).toBe('not-found');
  });
});

describe('ensureAdminKey', () => {
  it('makes the given key an admin key once, however often it is called', async () => {
    const key = `lk_bootstrap-${Date.now()}`;
    expect(await authenticate(key)).toBeUndefined();
    await ensureAdminKey(key);
    const first = await authenticate(key);
    expect(first?.role).toBe('admin');
    await ensureAdminKey(key);
    expect(await authenticate(key)).toEqual(first);
  });
});
