import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { Context } from 'aws-lambda';
import { bundleConsole } from '../console/bundle.ts';
import { DomainError, payloadTooLarge } from '../errors.ts';
import { LOCAL_EXPORTS_PATH, linkedDocument } from '../exports/files.ts';
import { LOCAL_CONSOLE_DIR } from '../http/assets.ts';
import type { AuthorizerContext, HttpEvent, HttpResult } from '../http/handler.ts';
import { problemResponse, toProblem } from '../http/problem.ts';
import {
  authorizerFunction,
  bodyLimitOf,
  fallbackFunction,
  identityHeaderOf,
  type Route,
  routeKey,
  routes,
} from '../routes.ts';

/**
 * Serves the route table over HTTP the way API Gateway's HTTP API (payload 2.0) does:
 * each request becomes the same event AWS would send, the authorizer function runs
 * first, and the very same Lambda handler answers.
 */
type Handler = (event: unknown, context: Context) => Promise<unknown>;

const compiled = routes.map((route) => ({
  route,
  pattern: new RegExp(
    `^${route.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}${route.trailingSlash ? '/?' : ''}$`,
  ),
}));

/**
 * The console's files, built once per process before a console route first answers (in AWS
 * the stack built them at synth, next to the function).
 */
let consoleBuilt: Promise<void> | undefined;
export function buildConsole(): Promise<void> {
  consoleBuilt ??= bundleConsole(LOCAL_CONSOLE_DIR).catch((error: unknown) => {
    consoleBuilt = undefined;
    throw error;
  });
  return consoleBuilt;
}

const loaded = new Map<string, Promise<Handler>>();
function handlerOf(fn: string): Promise<Handler> {
  let handler = loaded.get(fn);
  if (!handler) {
    handler = import(`../../functions/${fn}.ts`).then((m: { handler: Handler }) => m.handler);
    loaded.set(fn, handler);
  }
  return handler;
}

function lambdaContext(fn: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${fn}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

function match(
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const { route, pattern } of compiled) {
    if (route.method !== method) continue;
    const found = pattern.exec(path);
    if (!found) continue;
    try {
      const params = Object.fromEntries(
        Object.entries(found.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]),
      );
      return { route, params };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The body, refused (413) as soon as it is past `limit`, before it is read in full: what
 * the client still sends is read and dropped, not kept, and the connection is left open
 * for the answer (breaking off the read would tear it down under the client).
 */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        chunks.length = 0;
        reject(payloadTooLarge(limit));
      }
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** How long a connection answered before its request was read in full waits for the client to close it. */
const LINGER_MS = 5_000;

/**
 * A connection whose request is answered before its body was read in full (413) closes
 * cleanly: the answer carries `connection: close`, so a keep-alive client opens a new
 * connection for its next request, and it is not torn down as soon as the answer is out.
 * Node would destroy the socket then (destroySoon); with the body still arriving, the
 * kernel answers those bytes with a reset, which can reach the client before it has read
 * the answer. Instead our side is ended and what still comes is read and dropped until the
 * client closes its side, for at most LINGER_MS.
 */
function closeWhenAnswered(socket: Socket): void {
  (socket as Socket & { destroySoon(): void }).destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', () => socket.destroy());
  };
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** API Gateway joins repeated query parameters with commas. */
function queryOf(raw: string): Record<string, string> | undefined {
  if (!raw) return undefined;
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) query[k] = k in query ? `${query[k]},${v}` : v;
  return query;
}

async function toEvent(
  req: IncomingMessage,
  limit: number,
  key: string,
  params: Record<string, string>,
  rawPath: string,
  rawQueryString: string,
): Promise<HttpEvent> {
  const now = new Date();
  const body = await readBody(req, limit);
  return {
    version: '2.0',
    routeKey: key,
    rawPath,
    rawQueryString,
    headers: headersOf(req),
    ...(queryOf(rawQueryString) && { queryStringParameters: queryOf(rawQueryString) }),
    ...(Object.keys(params).length > 0 && { pathParameters: params }),
    ...(body !== '' && { body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: req.headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: { lambda: {} as AuthorizerContext },
    },
  } as HttpEvent;
}

/**
 * The authorizer as API Gateway runs it: its answer cached per credential (the x-api-key
 * header, or Authorization on the customer routes, as the stack's two authorizers read
 * them) for `ttlMs`, so a request costs the same DynamoDB calls here as in AWS, and a
 * revoked key stops working within the same time.
 */
function cachedAuthorizer(ttlMs: number) {
  const cache = new Map<string, { context: AuthorizerContext; until: number }>();
  return async (event: HttpEvent, route: Route): Promise<AuthorizerContext> => {
    const named = identityHeaderOf(route);
    // As the stack's uncached authorizer of such routes: whichever credential is sent.
    if (named === 'either') return authorize(event, undefined);
    const header = named;
    const identity = event.headers[header] ?? '';
    const key = `${header}:${createHash('sha256').update(identity).digest('base64url')}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.context;
    if (hit) cache.delete(key);
    const context = await authorize(event, identity);
    if (identity !== '' && ttlMs > 0) {
      cache.set(key, { context, until: now + ttlMs });
      // Bounded like any cache: the oldest entry goes first.
      if (cache.size > 10_000) cache.delete(cache.keys().next().value as string);
    }
    return context;
  };
}

async function authorize(
  event: HttpEvent,
  identity: string | undefined,
): Promise<AuthorizerContext> {
  const authorizer = await handlerOf(authorizerFunction.fn);
  const result = (await authorizer(
    {
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${event.routeKey.replace(' ', '')}`,
      identitySource: identity === undefined ? [] : [identity],
      routeKey: event.routeKey,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      headers: event.headers,
      queryStringParameters: event.queryStringParameters,
      requestContext: event.requestContext,
      pathParameters: event.pathParameters,
    },
    lambdaContext(authorizerFunction.fn),
  )) as { isAuthorized: boolean; context?: AuthorizerContext };
  if (!result.isAuthorized) throw new DomainError('forbidden');
  return result.context ?? {};
}

function send(res: ServerResponse, result: HttpResult): void {
  const headers = { ...(result.headers as Record<string, string> | undefined) };
  if (!res.req.complete) {
    headers.connection = 'close';
    closeWhenAnswered(res.req.socket);
  }
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.body ?? '');
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  authorizeRequest: ReturnType<typeof cachedAuthorizer>,
): Promise<void> {
  // The request target as sent, split at '?' as API Gateway does: no URL parsing, so
  // '//x/v1/health' is not read as a host and '//[' is no error.
  const target = req.url ?? '/';
  const question = target.indexOf('?');
  const rawPath = question < 0 ? target : target.slice(0, question);
  const rawQuery = question < 0 ? '' : target.slice(question + 1);
  if (rawPath.startsWith(LOCAL_EXPORTS_PATH) && req.method === 'GET') {
    await serveExportDocument(res, rawPath, rawQuery);
    return;
  }
  try {
    const found = match(req.method ?? 'GET', rawPath);
    const fn = found?.route.fn ?? fallbackFunction.fn;
    const key = found ? routeKey(found.route) : '$default';
    // Read up to the largest limit of any route, past which nothing is read; the route's
    // own limit is the handler's to apply after the authorizer, as in AWS (401 before 413).
    const limit = Math.max(...routes.map(bodyLimitOf));
    const event = await toEvent(req, limit, key, found?.params ?? {}, rawPath, rawQuery);
    if (found && found.route.roles !== 'public') {
      event.requestContext.authorizer.lambda = await authorizeRequest(event, found.route);
    }
    if (found?.route.console) await buildConsole();
    const handler = await handlerOf(fn);
    send(res, (await handler(event, lambdaContext(fn))) as HttpResult);
  } catch (error) {
    if (toProblem(error).status >= 500) console.error(error);
    send(res, problemResponse(error, rawPath));
  }
}

/**
 * A customer's export document behind its signed link (exports/files.ts), which only this
 * local server serves: in AWS the link is a presigned S3 one. A forged, altered or expired
 * link is a 403 problem+json, a document no longer kept 404.
 */
async function serveExportDocument(res: ServerResponse, rawPath: string, rawQuery: string) {
  try {
    const name = rawPath.slice(LOCAL_EXPORTS_PATH.length);
    const { stream, bytes } = await linkedDocument(name, new URLSearchParams(rawQuery), new Date());
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(bytes),
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    });
    await pipeline(stream, res);
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (toProblem(error).status >= 500) console.error(error);
    send(res, problemResponse(error, rawPath));
  }
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(
  port: number,
  host = '127.0.0.1',
  /** How long the authorizer's answer is cached per credential (API Gateway: 60 s). */
  authorizerCacheSeconds = 60,
): Promise<RunningServer> {
  const authorizeRequest = cachedAuthorizer(authorizerCacheSeconds * 1000);
  const server: Server = createServer((req, res) => {
    serve(req, res, authorizeRequest).catch((error) => {
      console.error(error);
      if (!res.headersSent) send(res, problemResponse(error));
    });
  });
  server.keepAliveTimeout = 65_000;
  // What Node refuses before a request exists (headers over its limit, a malformed request
  // line) still gets a problem+json answer rather than a bare status line.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (error.code === 'ECONNRESET' && !socket.readable)) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      type: 'urn:loyalty:problem:validation-failed',
      title: tooLarge ? 'The request headers are too large' : 'The request is not valid HTTP',
      status,
      code: 'validation-failed',
      detail: tooLarge
        ? 'The request line and headers must fit in 16 KiB'
        : 'The request could not be parsed',
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        'content-type: application/problem+json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => done());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
