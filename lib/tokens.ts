import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { jwtVerify, SignJWT } from 'jose';

/**
 * Customer tokens: short-lived HS256 JWTs naming one customer. The signing secret is per
 * deployment and never in code: LOYALTY_TOKEN_SECRET (the local runtime fills it from a
 * file in its data directory) or, in AWS, the Secrets Manager secret LOYALTY_TOKEN_SECRET_ARN.
 */
export const TOKEN_TTL_SECONDS = 3600;
const ISSUER = 'loyalty-api';
const AUDIENCE = 'loyalty-customer';

let secret: Promise<Uint8Array> | undefined;

function loadSecret(): Promise<Uint8Array> {
  const plain = process.env.LOYALTY_TOKEN_SECRET;
  if (plain) return Promise.resolve(new TextEncoder().encode(plain));
  const arn = process.env.LOYALTY_TOKEN_SECRET_ARN;
  if (!arn) throw new Error('LOYALTY_TOKEN_SECRET or LOYALTY_TOKEN_SECRET_ARN must be set');
  return new SecretsManagerClient({})
    .send(new GetSecretValueCommand({ SecretId: arn }))
    .then(({ SecretString }) => {
      if (!SecretString) throw new Error('the token secret is empty');
      return new TextEncoder().encode(SecretString);
    });
}

function signingKey(): Promise<Uint8Array> {
  secret ??= loadSecret().catch((error) => {
    secret = undefined;
    throw error;
  });
  return secret;
}

export async function mintCustomerToken(
  customerId: string,
  now = new Date(),
): Promise<{ token: string; expiresAt: string }> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expires = issuedAt + TOKEN_TTL_SECONDS;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(customerId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expires)
    .sign(await signingKey());
  return { token, expiresAt: new Date(expires * 1000).toISOString() };
}

/** The customer a valid, unexpired token names; undefined for anything else. */
export async function verifyCustomerToken(
  token: string,
  now = new Date(),
): Promise<string | undefined> {
  if (token.length > 2048) return undefined;
  try {
    const { payload } = await jwtVerify(token, await signingKey(), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      currentDate: now,
      // A token must say when it ends: one without `exp` would never expire.
      requiredClaims: ['exp', 'sub'],
    });
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

export function forgetTokenSecret(): void {
  secret = undefined;
}
