import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import type { AuthorizerContext } from '../lib/http/handler.ts';
import { authenticate } from '../lib/usecases/apiKeys.ts';

/**
 * The HTTP API's Lambda authorizer (simple responses). It never denies: an unknown key
 * passes on an empty context and the route answers 401 as problem+json, which API
 * Gateway's own deny (a bare 403) could not. The result is cached per key value.
 */
export const handler = async (
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> => {
  const principal = await authenticate(event.headers?.['x-api-key']);
  return { isAuthorized: true, context: principal ?? {} };
};
