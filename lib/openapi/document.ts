/**
 * The OpenAPI 3.1 document, generated from the route table (lib/routes.ts) and the very
 * zod schemas that validate requests (lib/schemas/), so it cannot drift from what is
 * served. Response shapes are zod schemas here too, which lets tests check real responses
 * against them. Served at GET /v1/openapi.json; written to lib/openapi.json by `npm run openapi`.
 */
import * as z from 'zod';
import type { ErrorCode } from '../errors.ts';
import { MAX_JSON_DEPTH } from '../http/handler.ts';
import { statusOf, titleOf } from '../http/problem.ts';
import { bodyLimitOf, type Route, routes } from '../routes.ts';

import { description, ttlHours } from './intro.ts';
import { type Operation, operations, tagNotes } from './operations.ts';
import { problemCodeNotes } from './problems.ts';
import { named } from './responses.ts';

type Json = Record<string, unknown>;

/** `z.int()` implies the safe-integer range; spelling it out on every integer is noise. */
function dropSafeIntegerBounds({ jsonSchema }: { jsonSchema: Json }): void {
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
}

const JSON_SCHEMA = {
  target: 'draft-2020-12',
  io: 'input',
  override: dropSafeIntegerBounds,
} as const;
const schemaRef = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Named components from the registry; nested ids (`.meta({id})`) become refs. */
function componentSchemas(extra: Map<z.core.$ZodType, string>): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  for (const [schema, id] of extra) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    ...JSON_SCHEMA,
    uri: (id) => `#/components/schemas/${id}`,
  });
  const out: Record<string, Json> = {};
  // Ids known only to the global registry land in `__shared.$defs`: hoist them.
  const { __shared, ...rest } = schemas as Record<string, Json>;
  const shared = (__shared?.$defs ?? {}) as Record<string, Json>;
  for (const [id, { $schema: _, $id: __, ...schema }] of Object.entries({ ...shared, ...rest })) {
    out[id] = schema;
  }
  return JSON.parse(
    JSON.stringify(out).replaceAll(
      '#/components/schemas/__shared#/$defs/',
      '#/components/schemas/',
    ),
  );
}

const idOf = (schema: z.core.$ZodType, fallback: string): string =>
  Object.entries(named).find(([, s]) => s === schema)?.[0] ??
  (z.globalRegistry.get(schema)?.id as string | undefined) ??
  fallback;

const paramNotes: Record<string, string> = {
  limit: 'Page size, 1..100 (default 25)',
  cursor: "The previous page's nextCursor",
  email: 'Case-insensitive',
  phone: 'E.164, e.g. +14155550123',
  externalId: "The merchant's own id",
};

function queryParameters(schema: z.core.$ZodType): Json[] {
  const json = z.toJSONSchema(schema, JSON_SCHEMA) as Json;
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(paramNotes[name] && { description: paramNotes[name] }),
    schema: property,
  }));
}

const pathParameters = (path: string): Json[] =>
  [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string', minLength: 1 },
  }));

function example(code: ErrorCode, path: string): Json {
  return {
    type: `urn:loyalty:problem:${code}`,
    title: titleOf(code),
    status: statusOf(code),
    code,
    detail: problemCodeNotes[code].replace(/`/g, ''),
    instance: path,
    ...(code === 'validation-failed' && {
      errors: [{ path: 'total.amount', message: 'Invalid input: expected int, received number' }],
    }),
  };
}

const PROBLEM_JSON = 'application/problem+json';

const THROTTLED_DESCRIPTION =
  "In AWS, the stage's throttle (`throttleRate`/`throttleBurst`) refused the request: API " +
  'Gateway\'s own `{"message":"Too Many Requests"}`, not problem+json. Retry with backoff.';
const THROTTLED_SCHEMA = {
  type: 'object',
  description: "API Gateway's own answer (AWS) when the stage throttle refuses a request",
  properties: { message: { type: 'string', const: 'Too Many Requests' } },
};

function problemResponses(route: Route, op: Operation): Record<string, Json> {
  const found: [ErrorCode, string][] = [];
  const add = (code: ErrorCode, when: string) => {
    if (!found.some(([c, w]) => c === code && w === when)) found.push([code, when]);
  };
  if (op.body) add('validation-failed', 'The body is missing, not JSON, or fails the schema');
  if (op.query && !op.errors?.some(([c]) => c === 'validation-failed')) {
    add('validation-failed', 'A query parameter fails the schema');
  }
  if (op.idempotent) {
    add('idempotency-key-required', 'No Idempotency-Key header');
    add('validation-failed', 'The Idempotency-Key is not 1..255 printable ASCII characters');
  }
  if (route.roles !== 'public') {
    add(
      'unauthorized',
      'Unknown or revoked key, or (locally) none. In AWS a request with no x-api-key ' +
        'header at all gets API Gateway\'s own 401 `{"message":"Unauthorized"}`',
    );
    add('forbidden', "The key's role is not in `x-roles`");
  }
  // Any body sent to a POST, PUT or DELETE is checked, whether or not the route reads it.
  const takesBody = route.method !== 'GET';
  if (takesBody) {
    add('validation-failed', `The body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (route.path.includes('{')) {
    add('not-found', 'A path id of a shape no id has (over 64 characters, or not [A-Za-z0-9_-])');
  }
  if (route.path.startsWith('/v1/jobs/')) {
    add(
      'invalid-as-of',
      'asOf is more than 5 minutes ahead and dryRun is not true (and the deployment does ' +
        'not run with LOYALTY_ALLOW_FUTURE_ASOF=1, for simulations)',
    );
  }
  for (const [code, when] of op.errors ?? []) add(code, when);
  // A body's size and media type are checked on every route, a GET's too (which is not read).
  const unread = takesBody ? '' : ' (this route reads none)';
  add('payload-too-large', `The body${unread} is over ${bodyLimitOf(route)} bytes`);
  add(
    'unsupported-media-type',
    `A body${unread} was sent with a content type other than application/json or */*+json`,
  );
  if (op.idempotent) add('idempotency-key-reused', 'The key was used for a different request');
  add('internal-error', 'An unexpected error');
  if (route.table.length > 0) {
    add('service-unavailable', 'The database is busy; retry after Retry-After seconds');
  }

  const byStatus = new Map<number, [ErrorCode, string][]>();
  for (const entry of found) {
    const status = statusOf(entry[0]);
    byStatus.set(status, [...(byStatus.get(status) ?? []), entry]);
  }
  const responses: Record<string, Json> = {};
  for (const [status, entries] of [...byStatus].sort(([a], [b]) => a - b)) {
    const codes = [...new Set(entries.map(([c]) => c))];
    responses[String(status)] = {
      description: entries.map(([code, when]) => `- \`${code}\`: ${when}`).join('\n'),
      ...(codes.includes('service-unavailable') && {
        headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } },
      }),
      content: {
        [PROBLEM_JSON]: {
          schema: schemaRef('Problem'),
          examples: Object.fromEntries(
            codes.map((code) => [code, { value: example(code, route.path) }]),
          ),
        },
        ...(status === 401 && {
          'application/json': {
            schema: {
              type: 'object',
              description: "API Gateway's own answer (AWS) to a request without x-api-key",
              properties: { message: { type: 'string', const: 'Unauthorized' } },
            },
          },
        }),
      },
    };
  }
  // Every route: in AWS the stage throttle may answer first, with API Gateway's own 429.
  const limited = responses['429'];
  if (limited) {
    limited.description = `${limited.description}\n- ${THROTTLED_DESCRIPTION}`;
    (limited.content as Json)['application/json'] = { schema: THROTTLED_SCHEMA };
  } else {
    responses['429'] = { $ref: '#/components/responses/Throttled' };
  }
  return responses;
}

function fallbackOperation(route: Route): Operation {
  const status = route.method === 'POST' ? 201 : route.method === 'DELETE' ? 204 : 200;
  return {
    tag: route.path.split('/')[2] ?? 'other',
    summary: `${route.method} ${route.path}`,
    status,
    responseDescription: 'Not documented yet',
    ...(status !== 204 && { response: { type: 'object' } }),
  };
}

function operationObject(route: Route, op: Operation, bodyIds: Map<z.core.$ZodType, string>): Json {
  const roles = route.roles === 'public' ? ['public'] : route.roles;
  const security =
    route.roles === 'public'
      ? []
      : [
          ...(route.roles.some((r) => r !== 'customer') ? [{ apiKey: [] }] : []),
          ...(route.roles.includes('customer') ? [{ customerToken: [] }] : []),
        ];
  const rolesText =
    route.roles === 'public' ? 'No credential needed.' : `Roles: ${route.roles.join(', ')}.`;
  const parameters = [
    ...pathParameters(route.path),
    ...(op.query ? queryParameters(op.query) : []),
    ...(op.idempotent ? [{ $ref: '#/components/parameters/IdempotencyKey' }] : []),
  ];
  const bodyId = op.body && bodyIds.get(op.body);
  const success: Json = {
    description: op.responseDescription,
    ...(op.idempotent && {
      headers: { 'Idempotent-Replayed': { $ref: '#/components/headers/IdempotentReplayed' } },
    }),
    ...(op.response !== undefined && {
      content: {
        [op.responseType ?? 'application/json']: {
          schema: typeof op.response === 'string' ? schemaRef(op.response) : op.response,
        },
      },
    }),
  };
  return {
    operationId: route.fn,
    summary: op.summary,
    description: [op.description, rolesText].filter(Boolean).join('\n\n'),
    tags: [op.tag],
    'x-roles': roles,
    ...(op.idempotent && { 'x-idempotent': true }),
    security,
    ...(parameters.length > 0 && { parameters }),
    ...(bodyId && {
      requestBody: {
        required: !op.bodyOptional,
        description: `JSON, at most ${bodyLimitOf(route)} bytes`,
        content: { 'application/json': { schema: schemaRef(bodyId) } },
      },
    }),
    responses: { [String(op.status)]: success, ...problemResponses(route, op) },
  };
}

/** The OpenAPI 3.1 document for every route of the route table. */
export function openApiDocument(): Json {
  const ops = routes.map((route) => ({
    route,
    op: operations[route.fn] ?? fallbackOperation(route),
  }));
  // Request bodies not among the named components get an id of their own.
  const bodyIds = new Map<z.core.$ZodType, string>();
  const extra = new Map<z.core.$ZodType, string>();
  for (const { route, op } of ops) {
    if (!op.body || bodyIds.has(op.body)) continue;
    const fallback = `${route.fn.charAt(0).toUpperCase()}${route.fn.slice(1)}Request`;
    const id = idOf(op.body, fallback);
    bodyIds.set(op.body, id);
    if (!(id in named)) extra.set(op.body, id);
  }

  const paths: Record<string, Record<string, Json>> = {};
  for (const { route, op } of ops) {
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, Json>)[route.method.toLowerCase()] = operationObject(
      route,
      op,
      bodyIds,
    );
  }

  const usesCustomerTokens = routes.some(
    (r) => r.roles !== 'public' && r.roles.includes('customer'),
  );
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Loyalty API',
      version: '1.0.0',
      summary: 'Tiered loyalty points, redemption as virtual cash, lapse detection',
      description,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: '/',
        description:
          'The deployment serving this document: the API Gateway URL in AWS, ' +
          'http://127.0.0.1:3000 under `npm start`',
      },
    ],
    tags: [...new Set(ops.map(({ op }) => op.tag))].map((name) => ({
      name,
      ...(tagNotes[name] && { description: tagNotes[name] }),
    })),
    paths,
    components: {
      schemas: componentSchemas(extra),
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description:
            'An API key (admin, pos, partner or app), created with POST /v1/api-keys and ' +
            'revoked with DELETE /v1/api-keys/{id}. A revoked key stops working within 60 s ' +
            "where an authorizer cache sits in front, as API Gateway's does in AWS (results " +
            'cached per key for `authorizerCacheSeconds`, 60 by default), and locally too.',
        },
        ...(usesCustomerTokens && {
          customerToken: {
            type: 'http',
            scheme: 'bearer',
            description: "A customer session token: the customer's own /v1/me routes",
          },
        }),
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: true,
          description:
            'Makes the request safe to retry: the same key and request return the stored ' +
            `result for ${ttlHours} h. Scoped to the calling API key. Missing: 400 ` +
            '`idempotency-key-required`.',
          schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
        },
      },
      headers: {
        IdempotentReplayed: {
          description: 'Present (`true`) when this is the stored result of an earlier request',
          schema: { type: 'string', enum: ['true'] },
        },
        RetryAfter: {
          description: 'Seconds to wait before retrying',
          schema: { type: 'integer', minimum: 0 },
        },
      },
      responses: {
        Throttled: {
          description: THROTTLED_DESCRIPTION,
          content: { 'application/json': { schema: THROTTLED_SCHEMA } },
        },
      },
    },
  };
}
