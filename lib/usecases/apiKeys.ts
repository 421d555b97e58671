import { createHash, randomBytes } from 'node:crypto';
import { notFound } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Principal } from '../principal.ts';
import type { CreateApiKeyInput } from '../schemas/apiKeys.ts';
import {
  type ApiKeyRecord,
  insertApiKey,
  principalForHash,
  revokeApiKey,
} from '../store/apiKeys.ts';
import { getPlace } from '../store/catalog.ts';

export const hashApiKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/** `lk_` and 32 random bytes in base64url: 256 bits, nothing to guess. */
const generateKey = () => `lk_${randomBytes(32).toString('base64url')}`;

export async function createApiKey(
  input: CreateApiKeyInput,
  now = new Date(),
): Promise<ApiKeyRecord & { key: string }> {
  if (input.storeId !== undefined && !(await getPlace('store', input.storeId))) {
    throw notFound('Store');
  }
  if (input.partnerId !== undefined && !(await getPlace('partner', input.partnerId))) {
    throw notFound('Partner');
  }
  const key = generateKey();
  const record: ApiKeyRecord = {
    id: newId('key', now.getTime()),
    role: input.role,
    ...(input.storeId !== undefined && { storeId: input.storeId }),
    ...(input.partnerId !== undefined && { partnerId: input.partnerId }),
    ...(input.name !== undefined && { name: input.name }),
    createdAt: now.toISOString(),
  };
  if (!(await insertApiKey(record, hashApiKey(key)))) throw new Error('API key id collision');
  return { ...record, key };
}

export async function revokeKey(id: string, now = new Date()): Promise<void> {
  if (!(await revokeApiKey(id, now))) throw notFound('API key');
}

export async function authenticate(key: string | undefined): Promise<Principal | undefined> {
  if (!key || key.length > 512) return undefined;
  return principalForHash(hashApiKey(key));
}

/**
 * Makes `key` a working admin key (the local server's LOYALTY_ADMIN_KEY); a no-op when it
 * already is one.
 */
export async function ensureAdminKey(key: string, now = new Date()): Promise<void> {
  const hash = hashApiKey(key);
  if (await principalForHash(hash)) return;
  await insertApiKey(
    {
      id: newId('key', now.getTime()),
      role: 'admin',
      name: 'bootstrap admin (LOYALTY_ADMIN_KEY)',
      createdAt: now.toISOString(),
    },
    hash,
  );
}
