import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';

/**
 * Webhook signing secrets must be usable (to sign), so they cannot be hashed like API
 * keys: they are stored encrypted, bound to their endpoint's id.
 * - In AWS (LOYALTY_WEBHOOK_KEY_ID, a KMS key): KMS Encrypt / Decrypt with the endpoint id
 *   as encryption context. The key never leaves KMS, every use is in CloudTrail, only the
 *   functions that create or rotate (Encrypt) and deliver (Decrypt) may use it, and the
 *   table alone (a backup, an export) reveals nothing. One Decrypt per secret per warm
 *   function, cached: cents at any volume.
 * - Locally: AES-256-GCM under a key derived (HKDF) from the runtime's own secret
 *   (LOYALTY_TOKEN_SECRET, kept in its data directory), the endpoint id as associated data.
 * The sealed form says which: `kms:<base64>` or `aes:<iv>.<tag>.<ciphertext>` (base64url).
 */
let kms: KMSClient | undefined;
const kmsClient = () => {
  kms ??= new KMSClient({});
  return kms;
};

function localKey(): Buffer {
  const secret = process.env.LOYALTY_TOKEN_SECRET;
  if (!secret) throw new Error('LOYALTY_WEBHOOK_KEY_ID or LOYALTY_TOKEN_SECRET must be set');
  return Buffer.from(hkdfSync('sha256', secret, 'loyalty-webhooks', 'webhook-secrets', 32));
}

export async function sealSecret(secret: string, endpointId: string): Promise<string> {
  const keyId = process.env.LOYALTY_WEBHOOK_KEY_ID;
  if (keyId) {
    const { CiphertextBlob } = await kmsClient().send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from(secret, 'utf8'),
        EncryptionContext: { endpoint: endpointId },
      }),
    );
    if (!CiphertextBlob) throw new Error('KMS returned no ciphertext');
    return `kms:${Buffer.from(CiphertextBlob).toString('base64')}`;
  }
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', localKey(), iv);
  cipher.setAAD(Buffer.from(endpointId, 'utf8'));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
  return `aes:${parts.join('.')}`;
}

/** Opened secrets, by sealed form (a warm function decrypts each once). */
const opened = new Map<string, string>();
const MAX_OPENED = 1_000;

export async function openSecret(sealed: string, endpointId: string): Promise<string> {
  const cacheKey = `${endpointId}|${sealed}`;
  const hit = opened.get(cacheKey);
  if (hit !== undefined) return hit;
  let plain: string;
  if (sealed.startsWith('kms:')) {
    const { Plaintext } = await kmsClient().send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(sealed.slice(4), 'base64'),
        EncryptionContext: { endpoint: endpointId },
      }),
    );
    if (!Plaintext) throw new Error('KMS returned no plaintext');
    plain = Buffer.from(Plaintext).toString('utf8');
  } else if (sealed.startsWith('aes:')) {
    const [iv, tag, body] = sealed
      .slice(4)
      .split('.')
      .map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
    const decipher = createDecipheriv('aes-256-gcm', localKey(), iv);
    decipher.setAAD(Buffer.from(endpointId, 'utf8'));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } else {
    throw new Error('a sealed secret of an unknown kind');
  }
  if (opened.size >= MAX_OPENED) opened.clear();
  opened.set(cacheKey, plain);
  return plain;
}
