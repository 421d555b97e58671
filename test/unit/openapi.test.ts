import { readdirSync, readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { type CustomerView, customerView, newCustomer } from '../../lib/domain/customer.ts';
import { defaultProgram } from '../../lib/domain/program.ts';
import { DomainError } from '../../lib/errors.ts';
import type { HttpEvent, HttpResult } from '../../lib/http/handler.ts';
import { problemResponse, statusOf } from '../../lib/http/problem.ts';
import { openApiDocument } from '../../lib/openapi/document.ts';
import {
  type apiKeySchema,
  type campaignSchema,
  customerSchema,
  type ledgerEntrySchema,
  type newApiKeySchema,
  problemSchema,
  type purchaseQuoteSchema,
  purchaseSchema,
  type recordedPurchaseSchema,
  type storeSchema,
} from '../../lib/openapi/responses.ts';
import { routes } from '../../lib/routes.ts';
import * as apiKeysSchemas from '../../lib/schemas/apiKeys.ts';
import * as campaignsSchemas from '../../lib/schemas/campaigns.ts';
import * as commonSchemas from '../../lib/schemas/common.ts';
import * as customersSchemas from '../../lib/schemas/customers.ts';
import * as importsSchemas from '../../lib/schemas/imports.ts';
import * as programSchemas from '../../lib/schemas/program.ts';
import * as purchasesSchemas from '../../lib/schemas/purchases.ts';
import * as redemptionsSchemas from '../../lib/schemas/redemptions.ts';
import * as reportsSchemas from '../../lib/schemas/reports.ts';
import * as webhooksSchemas from '../../lib/schemas/webhooks.ts';
import type { ApiKeyRecord } from '../../lib/store/apiKeys.ts';
import type { Place } from '../../lib/store/catalog.ts';
import type { LedgerEntry } from '../../lib/store/customers.ts';
import type { Purchase } from '../../lib/store/purchases.ts';
import type { CampaignView } from '../../lib/usecases/campaigns.ts';
import type { PurchaseQuote } from '../../lib/usecases/purchases.ts';

/** Every request schema and shared piece of lib/schemas/, by its exported name. */
const schemas: Record<string, unknown> = {
  ...apiKeysSchemas,
  ...campaignsSchemas,
  ...commonSchemas,
  ...customersSchemas,
  ...importsSchemas,
  ...programSchemas,
  ...purchasesSchemas,
  ...redemptionsSchemas,
  ...reportsSchemas,
  ...webhooksSchemas,
};

/** The document as a client sees it: plain JSON. */
const doc = JSON.parse(JSON.stringify(openApiDocument()));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const root = new URL('../../', import.meta.url);
const source = (path: string) => readFileSync(new URL(path, root), 'utf8');

const operationOf = (route: { method: string; path: string }) =>
  doc.paths[route.path]?.[route.method.toLowerCase()];

function resolve(ref: string): any {
  expect(ref.startsWith('#/'), ref).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node: any, key) => node?.[key], doc);
}

function* walk(node: unknown, path = '#'): Generator<[string, Record<string, any>]> {
  if (node === null || typeof node !== 'object') return;
  yield [path, node as Record<string, any>];
  for (const [key, value] of Object.entries(node)) yield* walk(value, `${path}/${key}`);
}

/** The ErrorCode union, read from lib/errors.ts itself. */
function problemCodesInSource(): string[] {
  const union = /export type ErrorCode =([^;]+);/.exec(source('lib/errors.ts'))?.[1] ?? '';
  return [...union.matchAll(/'([a-z0-9-]+)'/g)].map(([, code]) => code as string);
}

/** Which zod schema each function parses its body and query with, read from functions/. */
function schemasUsed(): { fn: string; kind: 'body' | 'query'; name: string }[] {
  const used: { fn: string; kind: 'body' | 'query'; name: string }[] = [];
  for (const file of readdirSync(new URL('functions/', root))) {
    const text = source(`functions/${file}`);
    for (const [, kind, name] of text.matchAll(/req\.(body|query)\((\w+)\)/g)) {
      used.push({ fn: file.replace(/\.ts$/, ''), kind: kind as 'body' | 'query', name: name! });
    }
  }
  return used;
}

describe('the OpenAPI document', () => {
  it('is what lib/openapi.json holds (the served copy): run `npm run openapi` after a change', () => {
    const served = JSON.parse(
      readFileSync(new URL('../../lib/openapi.json', import.meta.url), 'utf8'),
    );
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('is a well-formed OpenAPI 3.1 document', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    expect(typeof doc.paths).toBe('object');
    expect(Object.keys(doc.components.schemas).length).toBeGreaterThan(0);
    const tags = new Set(doc.tags.map((t: { name: string }) => t.name));
    const ids = new Set<string>();
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      expect(path.startsWith('/')).toBe(true);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map(([, n]) => n).sort();
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS).toContain(method);
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        for (const tag of op.tags) expect(tags.has(tag)).toBe(true);
        const params = (op.parameters ?? []).map((p: any) => (p.$ref ? resolve(p.$ref) : p));
        for (const p of params) {
          expect(['query', 'header', 'path', 'cookie']).toContain(p.in);
          expect(p.schema).toBeTypeOf('object');
          if (p.in === 'path') expect(p.required).toBe(true);
        }
        const inPath = params.filter((p: any) => p.in === 'path').map((p: any) => p.name);
        expect(inPath.sort()).toEqual(templated);
        const statuses = Object.keys(op.responses);
        expect(
          statuses.some((s) => /^2\d\d$/.test(s)),
          `${method} ${path}`,
        ).toBe(true);
        for (const s of statuses) {
          expect(s).toMatch(/^[1-5]\d\d$/);
          const response = op.responses[s].$ref ? resolve(op.responses[s].$ref) : op.responses[s];
          expect(typeof response.description).toBe('string');
        }
        for (const requirement of op.security) {
          for (const scheme of Object.keys(requirement)) {
            expect(doc.components.securitySchemes[scheme]).toBeDefined();
          }
        }
      }
    }
  });

  it('resolves every $ref inside the document', () => {
    const refs = [...walk(doc)].filter(([, node]) => typeof node.$ref === 'string');
    expect(refs.length).toBeGreaterThan(10);
    for (const [at, node] of refs)
      expect(resolve(node.$ref), `${at} -> ${node.$ref}`).toBeDefined();
    const components = doc.components.schemas;
    expect(components.__shared).toBeUndefined();
    for (const schema of Object.values<any>(components)) {
      expect(schema.$id).toBeUndefined();
      expect(schema.$schema).toBeUndefined();
    }
  });

  it('has an operation for every route, with its method, path, fn and roles', () => {
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      const op = operationOf(route);
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op.operationId).toBe(route.fn);
      expect(op['x-roles']).toEqual(route.roles === 'public' ? ['public'] : route.roles);
      if (route.roles === 'public') {
        expect(op.security).toEqual([]);
      } else {
        expect(op.security).toContainEqual(
          route.roles.includes('customer') ? { customerToken: [] } : { apiKey: [] },
        );
        expect(op.responses['401']).toBeDefined();
        expect(op.responses['403']).toBeDefined();
      }
    }
    const operations = Object.values<Record<string, unknown>>(doc.paths).flatMap(Object.keys);
    expect(operations).toHaveLength(routes.length);
  });

  it('documents each route beyond the generic fallback', () => {
    const undocumented = routes.filter((r) => operationOf(r).summary === `${r.method} ${r.path}`);
    expect(undocumented.map((r) => r.fn)).toEqual([]);
  });

  it('marks a request body optional exactly where the API accepts none (the job runs)', () => {
    for (const route of routes) {
      const body = operationOf(route).requestBody;
      if (route.path.startsWith('/v1/jobs/')) {
        expect(body?.required, route.path).toBe(false);
        expect(body.content['application/json'].schema.$ref).toBe('#/components/schemas/JobRun');
      } else if (body) {
        expect(body.required, route.path).toBe(true);
      }
    }
  });

  it('names its server, its license and what each tag is, and answers 4xx on every route', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(doc.info.license).toEqual({ name: 'MIT', identifier: 'MIT' });
    for (const tag of doc.tags) expect(tag.description, tag.name).toBeTypeOf('string');
    for (const route of routes) {
      const statuses = Object.keys(operationOf(route).responses);
      expect(statuses.some((s) => s.startsWith('4'), `${route.method} ${route.path}`)).toBe(true);
    }
    expect(doc.components.responses.Throttled.content['application/json'].schema).toMatchObject({
      properties: { message: { const: 'Too Many Requests' } },
    });
    // The redemption route's own 429 (rate-limited) also carries API Gateway's.
    const limited = operationOf({ method: 'POST', path: '/v1/redemptions' }).responses['429'];
    expect(Object.keys(limited.content).sort()).toEqual([
      'application/json',
      'application/problem+json',
    ]);
  });

  it('says a revoked key stops working within 60 s behind an authorizer cache', () => {
    const revoke = operationOf({ method: 'DELETE', path: '/v1/api-keys/{id}' });
    for (const text of [revoke.description, doc.components.securitySchemes.apiKey.description]) {
      expect(text).toMatch(/stops working within 60 s where an authorizer cache sits in front/);
    }
  });

  it('documents the reference page and its script, which are not JSON', () => {
    const page = operationOf({ method: 'GET', path: '/docs' });
    expect(Object.keys(page.responses['200'].content)).toEqual(['text/html']);
    const script = operationOf({ method: 'GET', path: '/docs/redoc.standalone.js' });
    expect(Object.keys(script.responses['200'].content)).toEqual(['text/javascript']);
  });

  it('has the apiKey scheme in x-api-key', () => {
    expect(doc.components.securitySchemes.apiKey).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'x-api-key',
    });
  });

  it('carries every request schema the functions parse, from the zod of lib/schemas/', () => {
    const used = schemasUsed();
    expect(used.length).toBeGreaterThan(0);
    for (const { fn, kind, name } of used) {
      const schema = schemas[name] as z.ZodObject;
      expect(schema, name).toBeDefined();
      const route = routes.find((r) => r.fn === fn);
      expect(route, fn).toBeDefined();
      const op = operationOf(route!);
      const fields = Object.keys(schema.shape).sort();
      if (kind === 'body') {
        const ref = op.requestBody?.content?.['application/json']?.schema?.$ref;
        expect(ref, `${fn} request body`).toBeTypeOf('string');
        expect(op.requestBody.required, fn).toBe(true);
        const component = resolve(ref);
        expect(Object.keys(component.properties).sort(), `${fn} ${name}`).toEqual(fields);
      } else {
        const names = op.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name);
        expect(names.sort(), `${fn} ${name}`).toEqual(fields);
      }
    }
  });

  it('keeps the validation rules of the zod schemas', () => {
    const money = doc.components.schemas.Money;
    expect(money.properties.amount).toMatchObject({ type: 'integer', minimum: 0 });
    expect(money.properties.currency.pattern).toBe('^[A-Z]{3}$');
    const purchase = doc.components.schemas.RecordPurchase;
    expect(purchase.required.toSorted()).toEqual(['customerId', 'total']);
    expect(purchase.properties.total.$ref).toBe('#/components/schemas/Money');
    expect(doc.components.schemas.Program.additionalProperties).toBe(false);
    const limit = operationOf({ method: 'GET', path: '/v1/stores' }).parameters.find(
      (p: any) => p.name === 'limit',
    );
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 25 });
  });

  it('lists every problem code of lib/errors.ts in the Problem schema', () => {
    const codes = problemCodesInSource();
    expect(codes.length).toBeGreaterThanOrEqual(13);
    expect(doc.components.schemas.Problem.properties.code.enum.toSorted()).toEqual(codes.sort());
  });

  it('answers each problem with its status and a Problem example of that status', () => {
    for (const [at, node] of walk(doc.paths)) {
      const problem = node['application/problem+json'];
      if (!problem) continue;
      const status = Number(at.split('/').at(-2));
      expect(problem.schema.$ref).toBe('#/components/schemas/Problem');
      for (const [code, { value }] of Object.entries<any>(problem.examples)) {
        expect(value.code).toBe(code);
        expect(value.status).toBe(status);
        expect(statusOf(code as never)).toBe(status);
        expect(problemSchema.safeParse(value).success).toBe(true);
      }
    }
  });

  it('documents idempotency on POST /v1/purchases', () => {
    const op = operationOf({ method: 'POST', path: '/v1/purchases' });
    const params = op.parameters.map((p: any) => (p.$ref ? resolve(p.$ref) : p));
    expect(params).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }),
    );
    expect(resolve(op.responses['201'].headers['Idempotent-Replayed'].$ref).schema.enum).toEqual([
      'true',
    ]);
    expect(Object.keys(op.responses['400'].content['application/problem+json'].examples)).toContain(
      'idempotency-key-required',
    );
    expect(op.responses['422'].content['application/problem+json'].examples).toHaveProperty(
      'idempotency-key-reused',
    );
    expect(op.responses['413']).toBeDefined();
  });

  it('documents pagination and the body limit', () => {
    for (const fn of ['listCustomerActivity', 'listStores', 'listPartners']) {
      const op = operationOf(routes.find((r) => r.fn === fn)!);
      const names = op.parameters.map((p: any) => p.name);
      expect(names).toEqual(expect.arrayContaining(['limit', 'cursor']));
      const page = resolve(op.responses['200'].content['application/json'].schema.$ref);
      expect(page.required.toSorted()).toEqual(['items', 'nextCursor']);
    }
    for (const route of routes) {
      const op = operationOf(route);
      if (op.requestBody) expect(op.responses['413'], route.fn).toBeDefined();
    }
  });
});

describe('the response schemas match what the code returns', () => {
  it('Customer: customerView', () => {
    const state = newCustomer(
      'cus_1',
      { email: 'a@example.com', externalId: 'x1', phone: '+14155550123', name: 'A' },
      defaultProgram,
      new Date('2025-01-01T00:00:00Z'),
    );
    const view = customerView(state, defaultProgram, new Date('2025-01-02T00:00:00Z'));
    expect(customerSchema.safeParse(view).error).toBeUndefined();
    expect(Object.keys(customerSchema.shape)).toEqual(expect.arrayContaining(Object.keys(view)));
    expectTypeOf<CustomerView>().toMatchTypeOf<z.infer<typeof customerSchema>>();
    expectTypeOf<z.infer<typeof customerSchema>>().toMatchTypeOf<CustomerView>();
  });

  it('Problem: problemResponse for every code', () => {
    for (const code of problemCodesInSource()) {
      const response = problemResponse(
        new DomainError(code as never, 'detail', { errors: [{ path: 'a', message: 'b' }] }),
        '/v1/x',
      );
      expect(response.headers?.['content-type']).toBe('application/problem+json');
      const body = JSON.parse(response.body as string);
      expect(problemSchema.safeParse(body).error).toBeUndefined();
      expect(body.type).toBe(`urn:loyalty:problem:${code}`);
    }
  });

  it('Purchase, LedgerEntry, Store, ApiKey: the store types', () => {
    // GET /v1/purchases/{id} shows earnableSpend always, as Money (stored only when less).
    type Shown = Omit<Purchase, 'recordedAt' | 'earnableSpend'> & {
      earnableSpend: Purchase['total'];
    };
    expectTypeOf<Shown>().toMatchTypeOf<z.infer<typeof purchaseSchema>>();
    expectTypeOf<Omit<Shown, 'refunded' | 'earnableSpend'>>().toMatchTypeOf<
      Omit<z.infer<typeof recordedPurchaseSchema>, 'customer'>
    >();
    expectTypeOf<LedgerEntry>().toMatchTypeOf<z.infer<typeof ledgerEntrySchema>>();
    expectTypeOf<z.infer<typeof ledgerEntrySchema>>().toMatchTypeOf<LedgerEntry>();
    expectTypeOf<Place>().toMatchTypeOf<z.infer<typeof storeSchema>>();
    expectTypeOf<CampaignView>().toMatchTypeOf<z.infer<typeof campaignSchema>>();
    expectTypeOf<PurchaseQuote>().toMatchTypeOf<z.infer<typeof purchaseQuoteSchema>>();
    expectTypeOf<ApiKeyRecord>().toMatchTypeOf<z.infer<typeof apiKeySchema>>();
    expectTypeOf<ApiKeyRecord & { key: string }>().toMatchTypeOf<z.infer<typeof newApiKeySchema>>();
    const ok = purchaseSchema.safeParse({
      id: 'pur_1',
      customerId: 'cus_1',
      storeId: 'sto_1',
      total: { amount: 100, currency: 'USD' },
      occurredAt: '2025-01-01T00:00:00.000Z',
      pointsEarned: 1,
      breakdown: [{ source: 'base', points: 1 }],
      pointsStatus: 'available',
      refunded: { amount: 0, currency: 'USD' },
      earnableSpend: { amount: 100, currency: 'USD' },
    });
    expect(ok.error).toBeUndefined();
  });
});

describe('GET /v1/openapi.json', () => {
  type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;
  let handler: Handler;
  beforeAll(async () => {
    handler = (await import('../../functions/openapi.ts')).handler as unknown as Handler;
  });

  it('serves the document without a credential', async () => {
    const event = {
      version: '2.0',
      routeKey: 'GET /v1/openapi.json',
      rawPath: '/v1/openapi.json',
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      requestContext: { http: { method: 'GET', path: '/v1/openapi.json' } },
    } as unknown as HttpEvent;
    const context = {
      awsRequestId: 'r',
      functionName: 'openapi',
      getRemainingTimeInMillis: () => 10_000,
    } as Context;
    const result = await handler(event, context);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toBe('application/json');
    expect(JSON.parse(result.body as string)).toEqual(doc);
  });
});
