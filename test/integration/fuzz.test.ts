/**
 * Fuzz of every route of the route table (lib/routes.ts), plus unknown paths, over the real
 * local HTTP server. Whatever the input, the error rules (the OpenAPI intro's) hold:
 *
 * - never a 5xx;
 * - every 4xx is `application/problem+json` with `type`, `title`, `status` (= the HTTP
 *   status) and a `code` of lib/errors.ts;
 * - no response carries a stack trace or an internal message.
 *
 * The requests are drawn by fast-check from a fixed seed, so a run can be replayed:
 * FUZZ_SEED=<n> (default below) and FUZZ_RUNS=<requests per route>. A failure lists every
 * offending request, grouped by what went wrong. FUZZ_REPORT=<file> also appends each
 * violation to that file as a JSON line.
 */
import { appendFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemCodes } from '../../lib/openapi/problems.ts';
import { bodyLimitOf, type Route, routeKey, routes } from '../../lib/routes.ts';
import { ADMIN_KEY, startTestApi, type TestApi } from '../support/api.ts';
import { receiver } from '../support/receiver.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_601);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const CODES = new Set<string>(problemCodes);

let t: TestApi;
let port: number;
let hooks: Awaited<ReturnType<typeof receiver>> | undefined;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let sent = 0;

// ---------------------------------------------------------------------------------------
// Raw HTTP: exact paths, headers and bodies (fetch would normalise or refuse some)
// ---------------------------------------------------------------------------------------

interface RawRequest {
  method: string;
  /** Already percent-encoded, with the query string. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** What the request is, for the report (credential names instead of secrets). */
  note: string;
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

function send(r: RawRequest): Promise<RawResponse> {
  sent++;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.path,
        agent,
        timeout: 25_000,
        headers: {
          ...r.headers,
          ...(r.body !== undefined && { 'content-length': String(r.body.length) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 25 s')));
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Percent-encodes every byte outside the unreserved set (lone surrogates become U+FFFD). */
const pct = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

/** UTF-8 bytes as a latin1 string: how a raw non-ASCII header value travels. */
const rawUtf8Header = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

// ---------------------------------------------------------------------------------------
// The contract every response must keep
// ---------------------------------------------------------------------------------------

const LEAKS: [string, RegExp][] = [
  ['a stack frame', /\bat .*\.(ts|js|mjs|cjs):\d+/],
  ["'Error:'", /Error:/],
  ["'node_modules'", /node_modules/],
  ["'Exception'", /Exception/],
  ['a source path', /\/work\/|file:\/\//],
];

/**
 * What is wrong with an answer. `api`: the path is under the API's base path /v1, where 2xx
 * answers are JSON too (outside it, e.g. the docs page and its script, only errors are checked).
 */
function contractViolations(res: RawResponse, api: boolean): string[] {
  const out: string[] = [];
  const ct = String(res.headers['content-type'] ?? '');
  if (res.status >= 500) out.push(`${res.status}`);
  else if (res.status < 200 || (res.status >= 300 && res.status < 400))
    out.push(`unexpected status ${res.status}`);
  if (res.status >= 400) {
    if (!/^application\/problem\+json\s*(;|$)/i.test(ct))
      out.push(`content-type '${ct || '(none)'}', not application/problem+json`);
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      out.push('body is not JSON');
    }
    if (body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        out.push('problem body is not an object');
      } else {
        const p = body as Record<string, unknown>;
        for (const field of ['type', 'title', 'code'] as const) {
          if (typeof p[field] !== 'string') out.push(`problem has no string '${field}'`);
        }
        if (p.status !== res.status) out.push(`problem status ${p.status} != HTTP ${res.status}`);
        if (typeof p.code === 'string' && !CODES.has(p.code))
          out.push(`code '${p.code}' is not in lib/errors.ts`);
      }
    }
  } else if (!api) {
    return out;
  } else if (res.status >= 200 && res.status < 300 && res.text !== '') {
    if (!/^application\/json\s*(;|$)/i.test(ct)) out.push(`2xx content-type '${ct}'`);
    try {
      JSON.parse(res.text);
    } catch {
      out.push('2xx body is not JSON');
    }
  }
  for (const [what, re] of LEAKS) if (re.test(res.text)) out.push(`body leaks ${what}`);
  return out;
}

interface Violation {
  where: string;
  request: string;
  status: number | string;
  code: string;
  problems: string[];
  excerpt: string;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

function describeRequest(r: RawRequest): string {
  const body = r.body === undefined ? 'no body' : `body ${cut(r.body.toString('utf8'), 160)}`;
  const ct = r.headers['content-type'];
  const note =
    r.note.includes('content-type=') || ct === undefined ? r.note : `${r.note}, content-type=${ct}`;
  return `${r.method} ${cut(r.path, 200)} ${body} {${note}}`;
}

function codeOf(text: string): string {
  try {
    return String((JSON.parse(text) as { code?: unknown }).code ?? '-');
  } catch {
    return '-';
  }
}

/** Answers by route, status and code (printed with FUZZ_STATS=1), to see what the fuzz reaches. */
const stats = new Map<string, Map<string, number>>();
function tally(where: string, res: RawResponse) {
  const byAnswer = stats.get(where) ?? new Map<string, number>();
  const answer = `${res.status} ${res.status >= 400 ? codeOf(res.text) : ''}`.trim();
  byAnswer.set(answer, (byAnswer.get(answer) ?? 0) + 1);
  stats.set(where, byAnswer);
}

/** Sends the request and returns what is wrong with the answer (nothing when it keeps the contract). */
async function probe(
  where: string,
  r: RawRequest,
  extra?: (res: RawResponse) => string[],
): Promise<Violation | undefined> {
  let res: RawResponse;
  try {
    res = await send(r);
  } catch (error) {
    const v: Violation = {
      where,
      request: describeRequest(r),
      status: 'no answer',
      code: '-',
      problems: [`no answer: ${(error as Error).message}`],
      excerpt: '',
    };
    if (process.env.FUZZ_REPORT) appendFileSync(process.env.FUZZ_REPORT, `${JSON.stringify(v)}\n`);
    return v;
  }
  tally(where, res);
  const problems = [...contractViolations(res, r.path.startsWith('/v1/')), ...(extra?.(res) ?? [])];
  if (problems.length === 0) return undefined;
  const v: Violation = {
    where,
    request: describeRequest(r),
    status: res.status,
    code: codeOf(res.text),
    problems,
    excerpt: cut(res.text, 300),
  };
  if (process.env.FUZZ_REPORT) appendFileSync(process.env.FUZZ_REPORT, `${JSON.stringify(v)}\n`);
  return v;
}

/** Groups violations by route, status, code and problem, one example each. */
function report(violations: Violation[], title: string): string {
  const groups = new Map<string, { n: number; first: Violation }>();
  for (const v of violations) {
    const key = `${v.where} -> ${v.status} ${v.code}: ${v.problems.join('; ')}`;
    const g = groups.get(key);
    if (g) g.n++;
    else groups.set(key, { n: 1, first: v });
  }
  const lines = [...groups].map(
    ([key, { n, first }]) =>
      `- ${key} (x${n})\n    e.g. ${first.request}\n    answer: ${first.excerpt}`,
  );
  return `${title}: ${violations.length} violation(s), seed ${SEED} (replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})\n${lines.join('\n')}`;
}

function expectNone(violations: Violation[], title: string) {
  expect(violations.length, report(violations, title)).toBe(0);
}

// ---------------------------------------------------------------------------------------
// Fixtures: real ids, keys, a token, a redemption, lapsed customers, real cursors
// ---------------------------------------------------------------------------------------

const usd = (amount: number) => ({ amount, currency: 'USD' });
let idem = 0;
const nextKey = () => `fuzz-${SEED}-${++idem}`;

const fx = {
  storeId: '',
  partnerId: '',
  keys: { pos: '', partner: '', app: '' },
  token: '',
  customerId: '',
  lapsedIds: [] as string[],
  purchaseId: '',
  redemptionId: '',
  campaignId: '',
  throwawayKeyId: '',
  /** One webhook endpoint the fuzz reads, rotates and pings; another it may delete. */
  webhookEndpointId: '',
  throwawayWebhookEndpointId: '',
  /** An export the admin key requested (GET /v1/exports/{id} answers only that key). */
  exportId: '',
  program: {} as Record<string, unknown>,
  realCursors: [] as string[],
  idempotentRoutes: new Set<string>(),
};

async function ok(
  method: string,
  path: string,
  options: Parameters<TestApi['call']>[2],
  status: number,
) {
  const res = await t.call(method, path, options);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
}

beforeAll(async () => {
  t = await startTestApi();
  port = Number(new URL(t.api.url).port);
  fx.storeId = (await ok('POST', '/v1/stores', { body: { name: 'Fuzz store' } }, 201)).id;
  await ok('POST', '/v1/stores', { body: { name: 'Fuzz store 2' } }, 201);
  fx.partnerId = (await ok('POST', '/v1/partners', { body: { name: 'Fuzz partner' } }, 201)).id;
  await ok('POST', '/v1/partners', { body: { name: 'Fuzz partner 2' } }, 201);
  fx.keys.pos = (
    await ok('POST', '/v1/api-keys', { body: { role: 'pos', storeId: fx.storeId } }, 201)
  ).key;
  fx.keys.partner = (
    await ok('POST', '/v1/api-keys', { body: { role: 'partner', partnerId: fx.partnerId } }, 201)
  ).key;
  fx.keys.app = (await ok('POST', '/v1/api-keys', { body: { role: 'app' } }, 201)).key;
  fx.throwawayKeyId = (
    await ok('POST', '/v1/api-keys', { body: { role: 'app', name: 'throwaway' } }, 201)
  ).id;

  fx.customerId = (
    await ok(
      'POST',
      '/v1/customers',
      {
        key: fx.keys.app,
        body: { email: 'fuzz@example.com', externalId: 'fuzz-1', phone: '+14155550123' },
      },
      201,
    )
  ).id;
  fx.purchaseId = (
    await ok(
      'POST',
      '/v1/purchases',
      {
        key: fx.keys.pos,
        body: { customerId: fx.customerId, total: usd(500_000), receiptId: 'fuzz-r1' },
        headers: { 'idempotency-key': nextKey() },
      },
      201,
    )
  ).id;
  await ok(
    'POST',
    '/v1/purchases',
    {
      key: fx.keys.pos,
      body: { customerId: fx.customerId, total: usd(1_000) },
      headers: { 'idempotency-key': nextKey() },
    },
    201,
  );
  fx.token = (
    await ok('POST', `/v1/customers/${fx.customerId}/session-tokens`, { key: fx.keys.app }, 201)
  ).token;
  const bearer = { key: null, headers: { authorization: `Bearer ${fx.token}` } };
  const { code } = await ok('POST', '/v1/me/redemption-codes', bearer, 201);
  fx.redemptionId = (
    await ok(
      'POST',
      '/v1/redemptions',
      {
        key: fx.keys.pos,
        body: { code, amount: usd(100) },
        headers: { 'idempotency-key': nextKey() },
      },
      201,
    )
  ).id;
  fx.campaignId = (
    await ok(
      'POST',
      '/v1/campaigns',
      {
        body: { name: 'Fuzz campaign', type: 'bonus', points: 1, match: { skus: ['fz'] } },
        headers: { 'idempotency-key': nextKey() },
      },
      201,
    )
  ).id;

  // Two lapsed customers: three purchases 100, 90 and 80 days ago, then a lapse scan.
  for (const n of [1, 2]) {
    const id = (await ok('POST', '/v1/customers', { body: { externalId: `lapsed-${n}` } }, 201)).id;
    for (const daysAgo of [100, 90, 80]) {
      await ok(
        'POST',
        '/v1/purchases',
        {
          body: {
            customerId: id,
            storeId: fx.storeId,
            total: usd(10_000 * n),
            occurredAt: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
          },
          headers: { 'idempotency-key': nextKey() },
        },
        201,
      );
    }
    fx.lapsedIds.push(id);
  }
  await ok('POST', '/v1/jobs/lapse-scan', { body: {} }, 200);

  hooks = await receiver(() => 204);
  const endpoint = (name: string) =>
    ok(
      'POST',
      '/v1/webhook-endpoints',
      { body: { url: hooks?.url, events: ['*'], description: name } },
      201,
    );
  fx.webhookEndpointId = (await endpoint('fuzz')).id;
  fx.throwawayWebhookEndpointId = (await endpoint('throwaway')).id;
  fx.exportId = (
    await ok(
      'POST',
      `/v1/customers/${fx.customerId}/exports`,
      { headers: { 'idempotency-key': nextKey() } },
      202,
    )
  ).id;

  fx.program = await ok('GET', '/v1/program', {}, 200);
  for (const [path, options] of [
    [`/v1/customers/${fx.customerId}/activity?limit=1`, {}],
    ['/v1/me/activity?limit=1', bearer],
    ['/v1/stores?limit=1', {}],
    ['/v1/partners?limit=1', {}],
    ['/v1/events?limit=1', {}],
    ['/v1/lapsed-customers?limit=1', {}],
    ['/v1/lapsed-customers?limit=1&sort=valueAtRisk', {}],
  ] as const) {
    const body = await ok('GET', path, options, 200);
    if (typeof body.nextCursor === 'string') fx.realCursors.push(body.nextCursor);
  }

  const doc = await ok('GET', '/v1/openapi.json', { key: null }, 200);
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(ops)) {
      if (op?.['x-idempotent']) fx.idempotentRoutes.add(`${method.toUpperCase()} ${path}`);
    }
  }
}, 120_000);

afterAll(async () => {
  agent.destroy();
  await t?.api.stop();
  await hooks?.close();
  console.log(`fuzz: ${sent} requests sent (seed ${SEED}, ${RUNS} per route)`);
  if (process.env.FUZZ_STATS) {
    for (const [where, byAnswer] of stats) {
      const answers = [...byAnswer].sort((a, b) => b[1] - a[1]);
      console.log(`${where}: ${answers.map(([a, n]) => `${a} x${n}`).join(', ')}`);
    }
  }
});

// ---------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------

type Cred =
  | 'admin'
  | 'pos'
  | 'partner'
  | 'app'
  | 'customer'
  | 'none'
  | 'garbage key'
  | 'empty key'
  | 'long key'
  | 'non-ASCII key'
  | 'garbage bearer'
  | 'empty bearer'
  | 'alg-none bearer'
  | 'long bearer'
  | 'basic auth'
  | 'pos key + customer bearer';

const OTHER_CREDS: Cred[] = [
  'none',
  'garbage key',
  'empty key',
  'long key',
  'non-ASCII key',
  'garbage bearer',
  'empty bearer',
  'alg-none bearer',
  'long bearer',
  'basic auth',
  'pos key + customer bearer',
];

function credHeaders(cred: Cred): Record<string, string> {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  switch (cred) {
    case 'admin':
      return { 'x-api-key': ADMIN_KEY };
    case 'pos':
    case 'partner':
    case 'app':
      return { 'x-api-key': fx.keys[cred] };
    case 'customer':
      return { authorization: `Bearer ${fx.token}` };
    case 'none':
      return {};
    case 'garbage key':
      return { 'x-api-key': `lk_${'A'.repeat(43)}` };
    case 'empty key':
      return { 'x-api-key': '' };
    case 'long key':
      return { 'x-api-key': 'k'.repeat(4096) };
    case 'non-ASCII key':
      return { 'x-api-key': rawUtf8Header('lk_ключ€🎉') };
    case 'garbage bearer':
      return { authorization: 'Bearer abc.def.ghi' };
    case 'empty bearer':
      return { authorization: 'Bearer ' };
    case 'alg-none bearer':
      return {
        authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({
          sub: fx.customerId,
          iss: 'loyalty-api',
          aud: 'loyalty-customer',
          exp: 4_102_444_800,
        })}.`,
      };
    case 'long bearer':
      return { authorization: `Bearer ${'a'.repeat(5000)}` };
    case 'basic auth':
      return { authorization: 'Basic YWRtaW46YWRtaW4=' };
    case 'pos key + customer bearer':
      return { 'x-api-key': fx.keys.pos, authorization: `Bearer ${fx.token}` };
  }
}

const allowedCreds = (route: Route): Cred[] =>
  route.roles === 'public' ? ['none'] : (route.roles as Cred[]);

/** Mostly a credential the route accepts, so the handler itself gets the hostile input. */
const credArb = (route: Route) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...allowedCreds(route)) },
    {
      weight: 3,
      arbitrary: fc.constantFrom<Cred>(
        'admin',
        'pos',
        'partner',
        'app',
        'customer',
        ...OTHER_CREDS,
      ),
    },
  );

// ---------------------------------------------------------------------------------------
// Path ids
// ---------------------------------------------------------------------------------------

/** Real ids by the path segment before `{id}`; any real id for a collection not listed. */
function realIdsFor(route: Route): string[] {
  const segments = route.path.split('/');
  const before = segments[segments.indexOf('{id}') - 1] ?? '';
  const byCollection: Record<string, string[]> = {
    customers: [fx.customerId, ...fx.lapsedIds],
    purchases: [fx.purchaseId],
    redemptions: [fx.redemptionId],
    partners: [fx.partnerId],
    stores: [fx.storeId],
    'api-keys': [fx.throwawayKeyId],
    campaigns: [fx.campaignId],
    exports: [fx.exportId],
    // DELETE removes its endpoint: the routes after it in the table keep theirs.
    'webhook-endpoints': [
      route.method === 'DELETE' ? fx.throwawayWebhookEndpointId : fx.webhookEndpointId,
    ],
  };
  return byCollection[before] ?? Object.values(byCollection).flat();
}

/** Hostile ids, already as they go in the path. */
const HOSTILE_IDS = [
  'a'.repeat(2048),
  'x'.repeat(10_240),
  `cus_${'A'.repeat(2044)}`,
  pct('é'.repeat(1024)),
  pct('🎉'.repeat(600)),
  'cus_01ARZ3NDEKTSV4RRFFQ69G5FAV',
  'pur_01ARZ3NDEKTSV4RRFFQ69G5FAV',
  '%2F',
  'a%2Fb',
  '..%2F..%2Fv1%2Fhealth',
  '%00',
  'cus_%00',
  '%00%00%00',
  '.',
  '..',
  '...',
  '%2e',
  '%2E%2E',
  '%',
  '%E0%A4%A',
  '%C0%AF',
  '%FF%FE',
  '%20',
  '%0A%0D',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '%7B%7D',
  '*',
  '%23',
  '%3F',
  'CUS%23x',
  'PROFILE',
  "1'%20OR%20'1'%3D'1",
  pct('ñandú-日本-𝒳'),
  pct('\u202e\ufeff'),
];

const pathIdArb = (route: Route) => {
  const real = realIdsFor(route);
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...real).map(pct) },
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_IDS) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...real).map((id) => `${pct(id)}${'0'.repeat(2048)}`),
    },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map(pct) },
    {
      weight: 2,
      arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(pct),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map(pct) },
  );
};

// ---------------------------------------------------------------------------------------
// Query strings
// ---------------------------------------------------------------------------------------

const b64json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const LONG_SK = 'z'.repeat(1100);

/** Cursors with the right shape or partition, but empty, out-of-range or wrongly typed keys. */
function forgedCursors(): string[] {
  const partitions = [
    `CUS#${fx.customerId}`,
    `CUS#${fx.lapsedIds[0]}`,
    'STORES',
    'PARTNERS',
    'EVENTS',
  ];
  const sortKeys: unknown[] = [
    '',
    'PROFILE',
    'LEDGER#',
    'LEDGER#999999999999',
    `LEDGER#${LONG_SK}`,
    'STORE#',
    'PARTNER#',
    'EVT#',
    LONG_SK,
    `EVT#${LONG_SK}`,
    `STORE#${LONG_SK}`,
    0,
    123,
    null,
    true,
    {},
    [],
    { S: 'x' },
  ];
  const now = new Date().toISOString();
  return [
    ...partitions.flatMap((PK) => sortKeys.map((SK) => b64json({ PK, SK }))),
    ...partitions.map((PK) => b64json({ PK })),
    b64json({ PK: 'STORES', SK: 'STORE#x', extra: 1 }),
    b64json({ PK: 123, SK: 'x' }),
    b64json({ PK: '', SK: '' }),
    b64json({ PK: `CUS#${'x'.repeat(2100)}`, SK: 'LEDGER#000000000001' }),
    // lapsed-customers (lapsedAt) and ?sort=valueAtRisk cursors
    b64json({ lapsedAt: '', id: '' }),
    b64json({ lapsedAt: '', id: fx.lapsedIds[0] }),
    b64json({ lapsedAt: now, id: '' }),
    b64json({ lapsedAt: LONG_SK, id: fx.lapsedIds[0] }),
    b64json({ lapsedAt: now, id: 'x'.repeat(2100) }),
    b64json({ lapsedAt: 5, id: 'a' }),
    b64json({ lapsedAt: '0000-01-01T00:00:00Z', id: fx.lapsedIds[0] }),
    b64json({ asOf: now, risk: 0, id: '' }),
    b64json({ asOf: '0000-01-01T00:00:00Z', risk: 1, id: 'x' }),
    b64json({ asOf: '+275760-09-13T00:00:00.000Z', risk: 9_007_199_254_740_991, id: 'x' }),
    b64json({ asOf: now, risk: -1e308, id: fx.lapsedIds[0] }),
    b64json({ asOf: now, risk: 1.5, id: 'x' }),
    b64json({ asOf: 'x', risk: 1, id: 'x' }),
    // not objects, not base64, too long
    b64json(null),
    b64json([]),
    b64json('str'),
    b64json(1),
    'not base64!!',
    '====',
    '%',
    'A'.repeat(2048),
    'A'.repeat(2049),
    'A'.repeat(8000),
    b64json({ PK: 'EVENTS', SK: `EVT#${'z'.repeat(1400)}` }),
  ];
}

const cursorArb = () =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...forgedCursors()) },
    {
      weight: fx.realCursors.length > 0 ? 2 : 0,
      arbitrary: fc
        .tuple(fc.constantFrom(...fx.realCursors, 'none'), fc.nat())
        .map(([c, n]) =>
          n % 3 === 0 ? c : n % 3 === 1 ? c.slice(0, -1 - (n % 5)) : `${c}${'A'.repeat(n % 7)}`,
        ),
    },
    { weight: 2, arbitrary: fc.base64String({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
  );

const DATES = [
  '1970-06-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59.999Z',
  '10000-01-01T00:00:00Z',
  '+010000-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '2024-02-30T00:00:00Z',
  '2024-13-01T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T00:00:60Z',
  '2024-01-01',
  '2024-01-01T00:00:00+14:00',
  '2024-01-01T00:00:00-12:00',
  '2024-01-01T00:00:00.123456789Z',
  'not-a-date',
  '',
  new Date().toISOString(),
  new Date(Date.now() - 86_400_000).toISOString(),
  new Date(Date.now() + 86_400_000 * 365).toISOString(),
];

const LIMITS = [
  '1',
  '25',
  '100',
  '101',
  '0',
  '-1',
  '-9007199254740993',
  '9007199254740993',
  '1.5',
  '1e2',
  '1e309',
  '99999999999999999999999',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  'abc',
  '',
  ' 5',
  '١٢',
  '1,2',
];

/** Query parameters a route needs to get past validation, as a start to mutate from. */
function baseQuery(route: Route): [string, string][] {
  const day = 86_400_000;
  switch (route.fn) {
    case 'partnerSettlement':
      return [
        ['from', new Date(Date.now() - day).toISOString()],
        ['to', new Date(Date.now() + day).toISOString()],
      ];
    case 'findCustomer':
      return [['email', 'fuzz@example.com']];
    case 'listLapsedCustomers':
      return [['sort', 'valueAtRisk']];
    default:
      return [];
  }
}

const queryPairArb = (): fc.Arbitrary<[string, string]> =>
  fc.oneof(
    fc.tuple(fc.constant('limit'), fc.constantFrom(...LIMITS)),
    fc.tuple(fc.constant('cursor'), cursorArb()),
    fc.tuple(fc.constantFrom('asOf', 'from', 'to'), fc.constantFrom(...DATES)),
    fc.tuple(
      fc.constant('sort'),
      fc.constantFrom('lapsedAt', 'valueAtRisk', '', 'x', 'valueAtRisk,lapsedAt'),
    ),
    fc.tuple(
      fc.constantFrom('email', 'phone', 'externalId'),
      fc.constantFrom(
        'fuzz@example.com',
        'FUZZ@EXAMPLE.COM',
        '+14155550123',
        'fuzz-1',
        '',
        `${'x'.repeat(300)}@b.co`,
        '\u0000@x.io',
        '+0',
        `+${'9'.repeat(20)}`,
        'x'.repeat(129),
        '%',
      ),
    ),
    fc.tuple(fc.string({ maxLength: 10 }), fc.string({ unit: 'grapheme', maxLength: 30 })),
  );

const RAW_QUERIES = ['%', 'limit=%E0%A4%A', '&&&', 'limit', '=1', 'limit=1&limit=2', '%00=%00'];

const queryArb = (route: Route) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant('') },
    {
      weight: 8,
      arbitrary: fc
        .tuple(fc.boolean(), fc.array(queryPairArb(), { maxLength: 4 }))
        .map(([withBase, pairs]) =>
          [...(withBase ? baseQuery(route) : []), ...pairs]
            .map(([k, v]) => `${pct(k)}=${pct(v)}`)
            .join('&'),
        ),
    },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERIES) },
  );

// ---------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------

const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

/** JSON texts put in place of a field: numbers JSON.stringify can't write, and worse. */
const HOSTILE_TOKENS = [
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '1e308',
  '-1e308',
  '1e400',
  '-1e400',
  '-0',
  '-0.0',
  '0.0',
  '1e21',
  '1e-7',
  '1.0',
  '-1',
  '0',
  '0.5',
  '1000000000000',
  '1000000000001',
  '99999999999999999999999999',
  '-9007199254740991',
  'null',
  'true',
  'false',
  '[]',
  '{}',
  '""',
  '" "',
  '"\\u0000"',
  '"a\\u0000b"',
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\u202e"',
  '"\\ufeff"',
  JSON.stringify('x'.repeat(20_000)),
  JSON.stringify('€'.repeat(20_000)),
  deepArray(100),
  deepArray(5000),
  deepObject(5000),
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '"__proto__"',
  '"0000-01-01T00:00:00Z"',
  '"0001-01-01T00:00:00Z"',
  '"1970-06-01T00:00:00Z"',
  '"9999-12-31T23:59:59Z"',
  '"10000-01-01T00:00:00Z"',
  '"+275760-09-13T00:00:00.000Z"',
  '"2024-02-30T00:00:00Z"',
  '"NaN"',
  '"Infinity"',
  '"USD"',
  '"usd"',
  '"EURO"',
  '[1,2,3]',
  '{"amount":1e21,"currency":"USD"}',
  '{"amount":9007199254740991,"currency":"USD"}',
  '{"amount":-0,"currency":"USD"}',
  '{"amount":1000000000001,"currency":"USD"}',
  '{"amount":1000000000000,"currency":"USD"}',
  '[{"sku":"A","quantity":1000000,"unitPrice":{"amount":1000000000000,"currency":"USD"}}]',
];

const hostileTokenArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_TOKENS) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'grapheme', maxLength: 50 }).map((s) => JSON.stringify(s)),
  },
  { weight: 1, arbitrary: fc.integer().map(String) },
);

/** A body the route would accept, as the start of mutations. */
function template(route: Route): unknown {
  const now = new Date().toISOString();
  if (route.path.startsWith('/v1/jobs/')) return { asOf: now, dryRun: true };
  switch (route.fn) {
    case 'putProgram':
      return fx.program;
    case 'createCustomer':
      return { email: 'new@example.com', externalId: 'new-1', phone: '+14155550199', name: 'N' };
    case 'recordPurchase':
    case 'quotePurchase':
      return {
        customerId: fx.customerId,
        storeId: fx.storeId,
        total: usd(1000),
        occurredAt: now,
        receiptId: 'fz-1',
        lines: [{ sku: 'A', category: 'food', quantity: 1, unitPrice: usd(500) }],
      };
    case 'refundPurchase':
      return { amount: usd(1) };
    case 'authorizeRedemption':
      return { code: 'ABCDEFGH', amount: usd(1), capture: false, storeId: fx.storeId };
    case 'adjustPoints':
      return { points: 1, reason: 'goodwill' };
    case 'putLapseReason':
      return { reason: 'price', note: 'too dear' };
    case 'createStore':
    case 'createPartner':
      return { name: 'N' };
    case 'createApiKey':
      return { role: 'app', name: 'k' };
    case 'createCampaign':
      return {
        name: 'N',
        type: 'multiplier',
        multiplier: 1.5,
        startsAt: now,
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        match: { categories: ['fz-cat'], skus: ['fz'] },
        audience: { tiers: ['member'] },
        daysOfWeek: [0, 1, 2, 3, 4, 5, 6],
      };
    case 'patchCampaign':
      return { name: 'N', endsAt: new Date(Date.now() + 3_600_000).toISOString() };
    case 'importCustomers':
      return {
        items: [
          {
            externalId: 'fz-imp-1',
            email: 'fz-imp@example.com',
            phone: '+14155550177',
            name: 'N',
            birthDate: '1990-02-28',
            openingPoints: 10,
          },
        ],
      };
    case 'importPurchases':
      return {
        items: [
          {
            customerId: fx.customerId,
            storeId: fx.storeId,
            receiptId: 'fz-imp-r1',
            occurredAt: new Date(Date.now() - 86_400_000).toISOString(),
            total: usd(1000),
            lines: [{ sku: 'A', category: 'food', quantity: 1, unitPrice: usd(500) }],
          },
        ],
      };
    default:
      return {};
  }
}

type Path = (string | number)[];
function pathsOf(v: unknown, prefix: Path = []): Path[] {
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, child]) => {
    const p = [...prefix, Array.isArray(v) ? Number(k) : k];
    return [p, ...pathsOf(child, p)];
  });
}

const RAW = '@@FUZZ_RAW@@';
const DELETE = '@@FUZZ_DELETE@@';

function mutate(value: unknown, path: Path, replacement: string): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (replacement === DELETE) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = replacement;
  return copy;
}

/** The template with `n` fields replaced by hostile JSON (or removed). */
function mutatedBodyArb(route: Route, n: number): fc.Arbitrary<[string, string]> {
  const base = template(route);
  return fc
    .array(
      fc.tuple(
        fc.nat(),
        fc.oneof(
          { weight: 1, arbitrary: fc.constant(DELETE) },
          { weight: 6, arbitrary: hostileTokenArb },
        ),
      ),
      {
        minLength: n,
        maxLength: n,
      },
    )
    .map((changes) => {
      let body = base;
      const raws: string[] = [];
      for (const [pick, token] of changes) {
        const paths = pathsOf(body);
        if (paths.length === 0) {
          body = { [`f${pick % 3}`]: RAW + raws.length };
          raws.push(token === DELETE ? 'null' : token);
          continue;
        }
        const path = paths[pick % paths.length] as Path;
        if (token === DELETE) body = mutate(body, path, DELETE);
        else {
          body = mutate(body, path, RAW + raws.length);
          raws.push(token);
        }
      }
      let text = JSON.stringify(body);
      raws.forEach((raw, i) => {
        text = text.replace(`"${RAW}${i}"`, () => raw);
      });
      return [text, `template with ${n} field(s) replaced`];
    });
}

const NON_JSON = [
  'hello',
  '{',
  '{"a":1',
  "{'a':1}",
  '\u0000',
  '<xml/>',
  'a=1&b=2',
  '{"a":1}{"b":2}',
  'NaN',
  'undefined',
  '\ufeff{}',
  '{"a":1,}',
  '[1,]',
  '0x10',
  '1e',
  '"\\x00"',
  '"\\u12"',
  '{"a":"\ud800"}',
  '   ',
];

/** `bytes` bytes of otherwise valid JSON (a route's limit + 1, or exactly its limit). */
const padded = (bytes: number) => `{"pad":"${'x'.repeat(bytes - 10)}"}`;

/** The routes that take a batch of items (each item checked on its own). */
const isImport = (route: Route) => route.path.startsWith('/v1/imports/');

/** Batches of hostile items: each item any JSON, or the template's item with a field replaced. */
const importItemsArb = (route: Route): fc.Arbitrary<Body> =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: hostileTokenArb },
        {
          weight: 3,
          arbitrary: mutatedBodyArb(route, 1).map(([text]) => {
            // The item inside the mutated template, when the mutation left the batch's shape.
            const m = /^\{"items":\[(.*)\]\}$/s.exec(text);
            return m?.[1] ?? text;
          }),
        },
      ),
      { minLength: 1, maxLength: 20 },
    )
    .map((items) => ({ text: `{"items":[${items.join(',')}]}`, note: 'batch of hostile items' }));

type Body = { text?: string; bytes?: Buffer; note: string } | undefined;

const bodyArb = (route: Route): fc.Arbitrary<Body> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.constant({ text: JSON.stringify(template(route)), note: 'valid template' }),
    },
    {
      weight: 8,
      arbitrary: mutatedBodyArb(route, 1).map(([text, note]) => ({ text, note })),
    },
    {
      weight: 3,
      arbitrary: mutatedBodyArb(route, 3).map(([text, note]) => ({ text, note })),
    },
    {
      weight: 2,
      arbitrary: fc.jsonValue().map((v) => ({ text: JSON.stringify(v), note: 'random JSON' })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...HOSTILE_TOKENS).map((text) => ({ text, note: 'hostile JSON' })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        { text: deepArray(5000), note: '5000-deep arrays' },
        { text: deepObject(5000), note: '5000-deep objects' },
        { text: deepArray(30_000), note: '30000-deep arrays' },
        { text: `{"total":${deepArray(5000)}}`, note: '5000-deep field' },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...NON_JSON).map((text) => ({ text, note: 'not JSON' })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { text: padded(bodyLimitOf(route) + 1), note: "the route's limit + 1" },
        { text: padded(bodyLimitOf(route)), note: "exactly the route's limit" },
        { text: JSON.stringify({ name: 'x'.repeat(60_000) }), note: 'huge string' },
      ),
    },
    { weight: isImport(route) ? 6 : 0, arbitrary: importItemsArb(route) },
    {
      weight: isImport(route) ? 1 : 0,
      arbitrary: fc.constant({
        text: JSON.stringify({ items: Array.from({ length: 501 }, () => template(route)) }),
        note: '501 items',
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 200 })
        .map((a) => ({ bytes: Buffer.from(a), note: 'random bytes' })),
    },
  );

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/merge-patch+json',
];
const NON_JSON_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/jsonx',
  'text/json-ish',
];
const contentTypeArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant<string | undefined>('application/json') },
  { weight: 2, arbitrary: fc.constant<string | undefined>(undefined) },
  { weight: 2, arbitrary: fc.constantFrom<string | undefined>(...JSON_TYPES) },
  { weight: 3, arbitrary: fc.constantFrom<string | undefined>(...NON_JSON_TYPES) },
);
const isJsonType = (ct: string | undefined) =>
  ct === undefined || /^application\/(json|[^;\s]*\+json)\s*(;|$)/i.test(ct.trim());

const idempotencyArb = fc.oneof(
  { weight: 6, arbitrary: fc.nat().map((n) => `fz-${SEED}-${n}`) },
  { weight: 2, arbitrary: fc.constant<string | undefined>(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<string | undefined>(
      '',
      'k'.repeat(255),
      'k'.repeat(256),
      'x'.repeat(8000),
      rawUtf8Header('ключ-€'),
      rawUtf8Header('é'),
      ' ',
      'a b',
    ),
  },
);

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/** The routes whose requests carry a JSON body. */
const takesBody = (route: Route) =>
  route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';

interface Drawn {
  id: string;
  query: string;
  body: Body;
  contentType: string | undefined;
  cred: Cred;
  idempotencyKey: string | undefined;
}

const requestArb = (route: Route): fc.Arbitrary<Drawn> =>
  fc.record({
    id: route.path.includes('{') ? pathIdArb(route) : fc.constant(''),
    query: queryArb(route),
    body: takesBody(route) ? bodyArb(route) : fc.constant(undefined),
    contentType: contentTypeArb,
    cred: credArb(route),
    idempotencyKey: idempotencyArb,
  });

/**
 * Request line and headers stay within 12 KB: past 16 KiB the HTTP server itself answers 431
 * without a body (API Gateway has a like limit), which is not what this test is about.
 */
const HEAD_BUDGET = 12_000;
const headSize = (path: string, headers: Record<string, string>) =>
  Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, path.length);

function build(route: Route, d: Drawn): RawRequest {
  const bytes =
    d.body?.bytes ?? (d.body?.text !== undefined ? Buffer.from(d.body.text) : undefined);
  let idempotencyKey = d.idempotencyKey;
  const headersWith = (key: string | undefined): Record<string, string> => ({
    ...credHeaders(d.cred),
    ...(key !== undefined && { 'idempotency-key': key }),
    ...(bytes !== undefined && d.contentType !== undefined && { 'content-type': d.contentType }),
  });
  let headers = headersWith(idempotencyKey);
  let path = route.path.replace(/\{\w+\}/g, d.id);
  if (d.query && headSize(`${path}?${d.query}`, headers) <= HEAD_BUDGET) path += `?${d.query}`;
  if (headSize(path, headers) > HEAD_BUDGET && idempotencyKey !== undefined) {
    idempotencyKey = 'k'.repeat(256);
    headers = headersWith(idempotencyKey);
  }
  const note = [
    `cred=${d.cred}`,
    `idempotency-key=${idempotencyKey === undefined ? '(none)' : cut(JSON.stringify(idempotencyKey), 40)}`,
    ...(bytes !== undefined
      ? [`content-type=${d.contentType ?? '(none)'}`, d.body?.note ?? '']
      : []),
  ].join(', ');
  return { method: route.method, path, headers, ...(bytes && { body: bytes }), note };
}

/** A route-specific seed, so one route's requests replay alone. */
const seedFor = (key: string) =>
  [...key].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, SEED);

/**
 * Answers that show the request got past authorization and the checks before validation
 * (credentials, route, id shape, content type, size): a 2xx, or a 4xx from validation or the
 * use case. A 404 counts when the use case gave it (an id of the right shape that is not
 * there), not the route table's ("No route for ...") nor the id-shape check's ("Not found").
 * An API that answered 401 (or 403, or 404) to everything would reach none.
 */
const BEFORE_VALIDATION = new Set([
  'unauthorized',
  'forbidden',
  'unsupported-media-type',
  'payload-too-large',
]);
function reachedValidation(res: RawResponse): boolean {
  if (res.status >= 200 && res.status < 300) return true;
  if (res.status < 400 || res.status >= 500) return false;
  let problem: { code?: unknown; detail?: unknown };
  try {
    problem = JSON.parse(res.text);
  } catch {
    return false;
  }
  if (typeof problem.code !== 'string' || BEFORE_VALIDATION.has(problem.code)) return false;
  if (problem.code !== 'not-found') return true;
  const detail = String(problem.detail ?? '');
  return detail !== 'Not found' && !detail.startsWith('No route for');
}

/** The least share of a route's fuzz requests that must reach validation or the use case. */
const MIN_REACHED = 0.2;

interface Fuzzed {
  violations: Violation[];
  /** Requests that got an answer, and of those, the ones that reached validation. */
  answered: number;
  reached: number;
}

async function fuzzRoute(route: Route): Promise<Fuzzed> {
  const key = routeKey(route);
  const drawn = fc.sample(requestArb(route), { seed: seedFor(key), numRuns: RUNS });
  const out: Fuzzed = { violations: [], answered: 0, reached: 0 };
  for (const d of drawn) {
    const r = build(route, d);
    const nonJsonBody = r.body !== undefined && r.body.length > 0 && !isJsonType(d.contentType);
    const v = await probe(key, r, (res) => {
      out.answered++;
      if (reachedValidation(res)) out.reached++;
      return nonJsonBody && res.status < 300
        ? [`a ${d.contentType} body got ${res.status}, not 415 unsupported-media-type`]
        : [];
    });
    if (v) out.violations.push(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Example-based regressions
// ---------------------------------------------------------------------------------------

/** A credential the route accepts, for requests whose only fault is the one under test. */
const goodCred = (route: Route): Cred =>
  route.roles === 'public' ? 'none' : route.roles.includes('admin') ? 'admin' : 'customer';

function goodRequest(
  route: Route,
  changes: { id?: string; query?: string; bodyText?: string; headers?: Record<string, string> },
): RawRequest {
  const id = changes.id ?? pct(realIdsFor(route)[0] ?? 'x');
  const base = baseQuery(route)
    .map(([k, v]) => `${pct(k)}=${pct(v)}`)
    .join('&');
  const query = changes.query ?? base;
  const text = changes.bodyText ?? (takesBody(route) ? JSON.stringify(template(route)) : undefined);
  return {
    method: route.method,
    path: `${route.path.replace(/\{\w+\}/g, id)}${query ? `?${query}` : ''}`,
    headers: {
      ...credHeaders(goodCred(route)),
      'idempotency-key': nextKey(),
      ...(text !== undefined && { 'content-type': 'application/json' }),
      ...changes.headers,
    },
    ...(text !== undefined && { body: Buffer.from(text) }),
    note: `cred=${goodCred(route)}`,
  };
}

const expectStatus =
  (statuses: number[], code?: string) =>
  (res: RawResponse): string[] => {
    const problems: string[] = [];
    if (!statuses.includes(res.status)) problems.push(`expected ${statuses.join(' or ')}`);
    if (code && res.status >= 400 && codeOf(res.text) !== code) problems.push(`expected ${code}`);
    return problems;
  };

const routesWithId = routes.filter((r) => r.path.includes('{id}'));
const bodyRoutes = routes.filter(takesBody);

describe('regressions', () => {
  it('(a) answers 404 not-found for a 2,048-byte (or 10 KB) path id on every {id} route', async () => {
    const violations: Violation[] = [];
    for (const route of routesWithId) {
      for (const id of ['a'.repeat(2048), pct('é'.repeat(1024)), 'x'.repeat(10_240)]) {
        const v = await probe(
          routeKey(route),
          goodRequest(route, { id }),
          expectStatus([404], 'not-found'),
        );
        if (v) violations.push(v);
      }
    }
    expectNone(violations, '(a) long path ids');
  });

  it('(b) answers 400 validation-failed for forged cursors (right partition, bad sort key)', async () => {
    const now = new Date().toISOString();
    const lapsedId = fx.lapsedIds[0] as string;
    const keyCursors = (pk: string, outside: string) =>
      [
        { PK: pk, SK: '' },
        { PK: pk, SK: outside },
        { PK: pk, SK: `${outside}${LONG_SK}` },
      ].map(b64json);
    const cases: [string, Cred, string[]][] = [
      [
        `/v1/customers/${fx.customerId}/activity`,
        'admin',
        keyCursors(`CUS#${fx.customerId}`, 'PROFILE'),
      ],
      ['/v1/me/activity', 'customer', keyCursors(`CUS#${fx.customerId}`, 'PROFILE')],
      ['/v1/stores', 'admin', keyCursors('STORES', 'PARTNER#x')],
      ['/v1/partners', 'admin', keyCursors('PARTNERS', 'STORE#x')],
      ['/v1/events', 'admin', keyCursors('EVENTS', 'EVT#')],
      [
        '/v1/lapsed-customers',
        'admin',
        [
          { lapsedAt: '', id: '' },
          { lapsedAt: '', id: lapsedId },
          { lapsedAt: now, id: '' },
          { lapsedAt: LONG_SK, id: lapsedId },
          { lapsedAt: now, id: 'x'.repeat(2100) },
        ].map(b64json),
      ],
    ];
    const violations: Violation[] = [];
    for (const [path, cred, cursors] of cases) {
      for (const cursor of cursors) {
        const v = await probe(
          `GET ${path}`,
          {
            method: 'GET',
            path: `${path}?cursor=${cursor}`,
            headers: credHeaders(cred),
            note: `cred=${cred}, cursor=${Buffer.from(cursor, 'base64url').toString().slice(0, 80)}`,
          },
          expectStatus([400], 'validation-failed'),
        );
        if (v) violations.push(v);
      }
    }
    expectNone(violations, '(b) forged cursors');
  });

  it('(c) answers 400 for a 5,000-deep JSON body on every idempotent POST', async () => {
    const idempotent = routes.filter((r) => fx.idempotentRoutes.has(routeKey(r)));
    expect(idempotent.length).toBeGreaterThan(0);
    const violations: Violation[] = [];
    for (const route of idempotent) {
      for (const bodyText of [deepArray(5000), deepObject(5000)]) {
        const v = await probe(
          routeKey(route),
          goodRequest(route, { bodyText }),
          expectStatus([400]),
        );
        if (v) violations.push(v);
      }
    }
    expectNone(violations, '(c) deep bodies');
  });

  it('(d) answers 400 or 200 for a retention report as of 1970 or years 0000/0001', async () => {
    const violations: Violation[] = [];
    for (const asOf of [
      '1970-06-01T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
      '+010000-01-01T00:00:00Z',
    ]) {
      const v = await probe(
        'GET /v1/reports/retention',
        {
          method: 'GET',
          path: `/v1/reports/retention?asOf=${pct(asOf)}`,
          headers: credHeaders('admin'),
          note: 'cred=admin',
        },
        expectStatus([200, 400]),
      );
      if (v) violations.push(v);
    }
    expectNone(violations, '(d) retention asOf');
  });

  it('(e) bounds purchase amounts at 10^12, and sums of 10^12 purchases stay exact', async () => {
    const customerId = (
      await ok('POST', '/v1/customers', { body: { externalId: 'big-spender' } }, 201)
    ).id;
    const purchase = (amount: string, expected: number[], code?: string) =>
      probe(
        'POST /v1/purchases',
        {
          method: 'POST',
          path: '/v1/purchases',
          headers: {
            ...credHeaders('pos'),
            'idempotency-key': nextKey(),
            'content-type': 'application/json',
          },
          body: Buffer.from(
            `{"customerId":${JSON.stringify(customerId)},"total":{"amount":${amount},"currency":"USD"}}`,
          ),
          note: 'cred=pos',
        },
        expectStatus(expected, code),
      );
    const violations: (Violation | undefined)[] = [
      await purchase('9007199254740991', [400], 'validation-failed'),
      await purchase('1000000000001', [400], 'validation-failed'),
      await purchase('1e21', [400], 'validation-failed'),
    ];
    for (let i = 0; i < 6; i++) violations.push(await purchase('1000000000000', [201]));
    const after = await t.call('GET', `/v1/customers/${customerId}`);
    expect(after.status).toBe(200);
    expect(Number.isSafeInteger(after.body.points.available)).toBe(true);
    expectNone(
      violations.filter((v): v is Violation => v !== undefined),
      '(e) purchase amounts',
    );
  });

  it('(f) answers 415 unsupported-media-type for a non-JSON content type on every POST/PUT', async () => {
    const violations: Violation[] = [];
    for (const route of bodyRoutes) {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
        const v = await probe(
          routeKey(route),
          goodRequest(route, { headers: { 'content-type': contentType } }),
          expectStatus([415], 'unsupported-media-type'),
        );
        if (v) violations.push(v);
      }
    }
    expectNone(violations, '(f) non-JSON content types');
  });

  it("(g) answers 413 payload-too-large for a body one byte past the route's limit on every POST/PUT", async () => {
    const violations: Violation[] = [];
    for (const route of bodyRoutes) {
      const v = await probe(
        routeKey(route),
        goodRequest(route, { bodyText: padded(bodyLimitOf(route) + 1) }),
        expectStatus([413], 'payload-too-large'),
      );
      if (v) violations.push(v);
    }
    expectNone(violations, "(g) the route's limit + 1");
  });

  it('(h) takes 64 KiB + 1 on the import routes (their limit is 1 MiB), refusing the body by its content', async () => {
    const imports = bodyRoutes.filter(isImport);
    expect(imports.map(routeKey).sort()).toEqual([
      'POST /v1/imports/customers',
      'POST /v1/imports/purchases',
    ]);
    const violations: Violation[] = [];
    for (const route of imports) {
      const v = await probe(
        routeKey(route),
        goodRequest(route, { bodyText: padded(65_537) }),
        expectStatus([400], 'validation-failed'),
      );
      if (v) violations.push(v);
    }
    expectNone(violations, '(h) 64 KiB + 1 on the import routes');
  });
});

// ---------------------------------------------------------------------------------------
// The fuzz
// ---------------------------------------------------------------------------------------

describe('fuzz: every route of the route table', () => {
  it.each(routes.map((route) => [routeKey(route), route] as const))(
    '%s keeps the error contract whatever the input',
    async (_key, route) => {
      const { violations, answered, reached } = await fuzzRoute(route);
      expectNone(violations, routeKey(route));
      if (process.env.FUZZ_STATS) console.log(`reached ${reached}/${answered} ${routeKey(route)}`);
      // Not a fuzz of the 401 path alone: a real share gets to validation and the use case.
      expect(
        reached / answered,
        `${routeKey(route)}: ${reached} of ${answered} requests reached validation or the use case`,
      ).toBeGreaterThanOrEqual(MIN_REACHED);
    },
    60_000,
  );

  it('answers unknown paths and methods with a problem+json 404', async () => {
    const UNKNOWN = [
      '/',
      '/v1',
      '/v1/',
      '/v2/health',
      '/v1/health/',
      '/V1/HEALTH',
      '//v1/health',
      '/v1/customers/',
      '/v1/customers//activity',
      `/v1/customers/${fx.customerId}/activity/extra`,
      '/v1/nope',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/v1/%00',
      `/v1/${'x'.repeat(10_000)}`,
      '/v1/customers/%E0%A4%A',
      '/v1/jobs/unknown-job',
      '/v1/health?%',
      '/*',
    ];
    const pathArb = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...UNKNOWN) },
      { weight: 2, arbitrary: fc.webPath().map((p) => `/v1${p.startsWith('/') ? p : `/${p}`}`) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom(...routes), fc.string({ minLength: 1, maxLength: 10 }))
          .map(([r, s]) => `${r.path.replace(/\{\w+\}/g, pct(fx.customerId))}/${pct(s)}`),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(...routes)
          .map((r) => r.path.replace(/\{\w+\}/g, pct(fx.customerId))),
      },
    );
    const arb = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      path: pathArb,
      cred: fc.constantFrom<Cred>('admin', 'none', 'garbage key', 'customer'),
      body: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
    });
    // What the server serves once it has normalised the path ('..', '%2e', '//').
    const isRoute = (method: string, path: string) => {
      const normalised = new URL(path, 'http://localhost').pathname;
      return routes.some(
        (r) =>
          r.method === method &&
          new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(normalised),
      );
    };
    const violations: Violation[] = [];
    for (const d of fc.sample(arb, { seed: seedFor('unknown'), numRuns: RUNS * 3 })) {
      // A real route with its own method is not what this test is about.
      if (isRoute(d.method, d.path)) continue;
      const body = d.body === undefined ? undefined : Buffer.from(JSON.stringify(d.body));
      const v = await probe(
        'unknown path',
        {
          method: d.method,
          path: d.path,
          headers: {
            ...credHeaders(d.cred),
            ...(body && { 'content-type': 'application/json' }),
          },
          ...(body && { body }),
          note: `cred=${d.cred}`,
        },
        (res) => (res.status < 400 ? [`${res.status} for a path no route has`] : []),
      );
      if (v) violations.push(v);
    }
    expectNone(violations, 'unknown paths');
  }, 60_000);
});
