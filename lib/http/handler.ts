import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type {
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type * as z from 'zod/mini';
import { DomainError, type FieldError, payloadTooLarge, validationFailed } from '../errors.ts';
import { ID_PATTERN } from '../ids.ts';
import type { IdempotencyContext, Principal } from '../principal.ts';
import { bodyLimitOf, findRoute, identityHeaderOf, type Route } from '../routes.ts';
import type { Answer } from '../usecases/change.ts';
import { problemResponse, toProblem } from './problem.ts';

export const logger = new Logger({ serviceName: 'loyalty-api' });

/**
 * Business metrics as CloudWatch embedded metric format (EMF) log lines, flushed after each
 * invocation (namespace `Loyalty`). Off locally (POWERTOOLS_METRICS_DISABLED).
 */
export const metrics = new Metrics({ namespace: 'Loyalty', serviceName: 'loyalty-api' });

/**
 * Writes the request's metrics, if it added any. (Powertools' logMetrics middleware warns
 * on every request that adds none, which most reads are.)
 */
const flushMetrics = {
  after: () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  },
  onError: () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  },
};

/** Adds a count metric unless the answer was a replay (nothing happened again). */
export function countIf(reply: { replayed?: boolean }, name: string, value = 1): void {
  if (!reply.replayed && value > 0) metrics.addMetric(name, MetricUnit.Count, value);
}

/** An idempotent use case's answer as the reply `status`, marked when it is a replay. */
export const replyWith = (status: number, answer: Answer<unknown>): Reply => ({
  status,
  body: answer.value,
  replayed: answer.replayed,
});

/** What the authorizer passes on: the key's principal, or nothing for an unknown key. */
export type AuthorizerContext = Partial<Record<keyof Principal, string>>;
export type HttpEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface Reply {
  status: number;
  body?: unknown;
  /** Send `body`, a string, as it is with this content type (a page, a script), not as JSON. */
  contentType?: string;
  /** More response headers; they override the defaults (`cache-control: no-store`). */
  headers?: Record<string, string>;
  /** A stored response returned again for a repeated Idempotency-Key. */
  replayed?: boolean;
}

/** No request of this API nests deeper; deeper bodies are refused before parsing. */
export const MAX_JSON_DEPTH = 32;

/** Whether JSON text opens more than `max` arrays or objects inside one another (a scan, no recursion). */
function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** application/json or any type/subtype+json, with or without parameters (charset). */
const JSON_MEDIA_TYPE = /^(application\/json|[\w.+-]+\/[\w.+-]+\+json)\s*(;|$)/i;

const toFieldErrors = (error: z.core.$ZodError): FieldError[] =>
  error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));

/** JSON with object keys sorted, so the same request always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export class HttpRequest {
  private parsedBody: unknown;
  private bodyRead = false;

  constructor(
    readonly event: HttpEvent,
    private readonly authenticated: Principal | undefined,
    private readonly maxBodyBytes: number,
  ) {}

  /** The caller; present on every route that is not public (the middleware checked). */
  get principal(): Principal {
    if (!this.authenticated) throw new DomainError('unauthorized');
    return this.authenticated;
  }

  /** The body's bytes, once its size (413) and media type (415) are acceptable. */
  private bodyBytes(): Buffer {
    const raw = this.event.body ?? '';
    const bytes = this.event.isBase64Encoded
      ? Buffer.from(raw, 'base64')
      : Buffer.from(raw, 'utf8');
    if (bytes.length > this.maxBodyBytes) throw payloadTooLarge(this.maxBodyBytes);
    const contentType = this.event.headers?.['content-type'];
    if (contentType !== undefined && contentType !== '' && !JSON_MEDIA_TYPE.test(contentType)) {
      throw new DomainError(
        'unsupported-media-type',
        `Send the body as JSON (content-type: application/json), not ${contentType.slice(0, 100)}`,
      );
    }
    return bytes;
  }

  private json(): unknown {
    if (this.bodyRead) return this.parsedBody;
    const text = this.bodyBytes().toString('utf8');
    if (text.trim() === '')
      throw validationFailed([{ path: '', message: 'a JSON body is required' }]);
    if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
      throw validationFailed([
        { path: '', message: `the body nests deeper than ${MAX_JSON_DEPTH} levels` },
      ]);
    }
    try {
      this.parsedBody = JSON.parse(text);
    } catch {
      throw validationFailed([{ path: '', message: 'the body is not valid JSON' }]);
    }
    this.bodyRead = true;
    return this.parsedBody;
  }

  /** Parses the body now, so its size, media type and JSON are checked (413, 415, 400). */
  checkBody(): void {
    // Blank (whitespace) bodies count as none where a body is optional, but are still
    // refused in a media type that is not JSON.
    if (this.hasBody()) this.json();
    else this.bodyBytes();
  }

  /** The body's size and media type only (413, 415): for a route that reads none (a GET). */
  checkBodyType(): void {
    this.bodyBytes();
  }

  /** Whether a body was sent (capture and void are POSTs without one). */
  hasBody(): boolean {
    return (this.event.body ?? '').trim() !== '';
  }

  body<S extends z.ZodMiniType>(schema: S): z.output<S> {
    const result = schema.safeParse(this.json());
    if (!result.success) throw validationFailed(toFieldErrors(result.error));
    return result.data;
  }

  query<S extends z.ZodMiniType>(schema: S): z.output<S> {
    const result = schema.safeParse(this.event.queryStringParameters ?? {});
    if (!result.success) throw validationFailed(toFieldErrors(result.error));
    return result.data;
  }

  /** A path id; one that cannot exist (too long, wrong shape) is simply 404 (OpenAPI intro). */
  param(name: string): string {
    const value = this.event.pathParameters?.[name];
    if (!value || !ID_PATTERN.test(value)) throw new DomainError('not-found', 'Not found');
    return value;
  }

  /** The Idempotency-Key, scoped to the caller and bound to this exact request. */
  idempotency(): IdempotencyContext {
    const key = this.event.headers?.['idempotency-key'];
    if (key === undefined || key === '') throw new DomainError('idempotency-key-required');
    if (!/^[\x20-\x7E]{1,255}$/.test(key)) {
      throw validationFailed([
        { path: 'Idempotency-Key', message: 'must be 1..255 printable ASCII characters' },
      ]);
    }
    const { method, path } = this.event.requestContext.http;
    const requestHash = createHash('sha256')
      .update(`${method} ${path}\n${this.hasBody() ? canonicalJson(this.json()) : ''}`)
      .digest('hex');
    return { scope: this.principal.keyId, key, requestHash };
  }
}

function principalOf(event: HttpEvent): Principal | undefined {
  const ctx = event.requestContext.authorizer?.lambda;
  if (!ctx?.keyId || !ctx.role) return undefined;
  return {
    keyId: ctx.keyId,
    role: ctx.role as Principal['role'],
    ...(ctx.storeId && { storeId: ctx.storeId }),
    ...(ctx.partnerId && { partnerId: ctx.partnerId }),
    ...(ctx.customerId && { customerId: ctx.customerId }),
  };
}

/** 401 without a known credential, 403 for a role the route does not allow. */
export function checkAccess(route: Route, principal: Principal | undefined): void {
  if (route.roles === 'public') return;
  if (!principal) {
    const token = 'a valid customer token as Authorization: Bearer <token>';
    const key = 'a valid API key in x-api-key';
    const header = identityHeaderOf(route);
    throw new DomainError(
      'unauthorized',
      `Send ${header === 'either' ? `${key} or ${token}` : header === 'authorization' ? token : key}`,
    );
  }
  if (!route.roles.includes(principal.role)) {
    throw new DomainError('forbidden', `A ${principal.role} key may not call this route`);
  }
}

function reply(r: Reply): HttpResult {
  const body =
    r.body === undefined
      ? undefined
      : r.contentType !== undefined
        ? String(r.body)
        : JSON.stringify(r.body);
  return {
    statusCode: r.status,
    headers: {
      'cache-control': 'no-store',
      ...(body !== undefined && { 'content-type': r.contentType ?? 'application/json' }),
      ...(r.replayed && { 'idempotent-replayed': 'true' }),
      ...r.headers,
    },
    ...(body !== undefined && { body }),
  };
}

/**
 * A Lambda handler for one route of the route table: access checks, request parsing
 * and error mapping happen here once, so each function is only its use case.
 */
export function httpHandler(key: string, serve: (req: HttpRequest) => Promise<Reply>) {
  const route = findRoute(key);
  if (!route) throw new Error(`${key} is not in the route table`);
  return middy<HttpEvent, HttpResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics)
    .use({
      // Every log line of the request carries API Gateway's request id (also returned to
      // the client in the apigw-requestid header), so a support ticket finds its logs.
      before: (request) => logger.setCorrelationId(request.event.requestContext.requestId),
    })
    .use({
      onError: (request) => {
        if (toProblem(request.error).status >= 500) {
          logger.error('request failed', { error: request.error as Error, route: key });
        }
        request.response = problemResponse(request.error, request.event.rawPath);
      },
    })
    .handler(async (event) => {
      const principal = principalOf(event);
      checkAccess(route, principal);
      const request = new HttpRequest(event, principal, bodyLimitOf(route));
      // A body sent to any route is of bounded size and in JSON (413, 415), whether or not
      // the route reads it; one sent to a POST, PUT or DELETE must parse too (400), while a
      // GET's is otherwise ignored.
      if ((event.body ?? '') !== '') {
        if (route.method === 'GET') request.checkBodyType();
        else request.checkBody();
      }
      return reply(await serve(request));
    });
}
