import { DomainError } from '../lib/errors.ts';
import type { HttpEvent, HttpResult } from '../lib/http/handler.ts';
import { problemResponse } from '../lib/http/problem.ts';

/**
 * The API's `$default` route: a path or method the route table does not have gets a
 * problem+json 404, as every other client mistake does, instead of API Gateway's bare one.
 */
export const handler = async (event: HttpEvent): Promise<HttpResult> =>
  problemResponse(
    new DomainError(
      'not-found',
      `No route for ${event.requestContext.http.method} ${event.rawPath}`,
    ),
    event.rawPath,
  );
