import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import type { AuthorizerContext } from '../lib/http/handler.ts';
import type { Principal } from '../lib/principal.ts';
import { verifyCustomerToken } from '../lib/tokens.ts';
import { authenticate } from '../lib/usecases/apiKeys.ts';

/**
 * The principal of the credential this authorizer was invoked for. Its answer is cached
 * under that credential (the identity source: x-api-key for the key routes, Authorization
 * for the customer routes), so it reads only that header: another header sent beside it
 * must not decide what is cached under it.
 */
async function principalFor(
  headers: Record<string, string | undefined>,
  identity: string | undefined,
): Promise<Principal | undefined> {
  const apiKey = headers['x-api-key'];
  const authorization = headers.authorization;
  // API Gateway always names the identity; without one (never in AWS), either header.
  const useKey = identity ? identity === apiKey : Boolean(apiKey);
  if (useKey && apiKey) return authenticate(apiKey);
  if (identity && identity !== authorization) return undefined;
  const bearer = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
  if (bearer === undefined) return undefined;
  const customerId = await verifyCustomerToken(bearer);
  return customerId ? { keyId: `token:${customerId}`, role: 'customer', customerId } : undefined;
}

/**
 * The HTTP API's Lambda authorizer (simple responses), for API keys (x-api-key) and
 * customer tokens (Authorization: Bearer). It never denies: an unknown credential passes
 * on an empty context and the route answers 401 as problem+json, which API Gateway's own
 * deny (a bare 403) could not. The result is cached per credential value.
 */
export const handler = async (
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> => {
  const principal = await principalFor(event.headers ?? {}, event.identitySource?.[0]);
  return { isAuthorized: true, context: principal ?? {} };
};
