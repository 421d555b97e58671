import { request } from 'node:http';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { ADMIN_KEY, redemptionCodeFor, startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger } from '../support/ledger.ts';

let t: TestApi;
let storeId: string;
let appKey: string;
let posKey: string;
let n = 0;
const DAY = 86_400_000;
const usd = (amount: number) => ({ amount, currency: 'USD' });

async function enrol(): Promise<string> {
  return (await t.call('POST', '/v1/customers', { body: { externalId: `h-${++n}` } })).body.id;
}
const buy = (customerId: string, amount: number) =>
  t.call('POST', '/v1/purchases', {
    key: posKey,
    body: { customerId, total: usd(amount) },
    headers: { 'idempotency-key': `h-buy-${++n}` },
  });
const expectProblem = (res: { status: number; headers: Headers; body: any }, status: number) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body.status).toBe(status);
};

beforeAll(async () => {
  t = await startTestApi();
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Hardened' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
  appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
});
afterAll(() => t.api.stop());

describe('money stays exact', () => {
  afterEach(() => t.call('PUT', '/v1/program', { body: defaultProgram }));

  it('refuses amounts above 10^12 (and 2^53 - 1) with 400, and takes 10^12 again and again', async () => {
    const id = await enrol();
    for (const amount of [Number.MAX_SAFE_INTEGER, 1_000_000_000_001]) {
      const res = await buy(id, amount);
      expectProblem(res, 400);
      expect(res.body.code).toBe('validation-failed');
      expect(res.body.errors[0].path).toBe('total.amount');
    }
    for (let i = 0; i < 3; i++) expect((await buy(id, 1_000_000_000_000)).status).toBe(201);
    const customer = (await t.call('GET', `/v1/customers/${id}`)).body;
    expect(customer.qualifyingSpend.amount).toBe(3_000_000_000_000);
    await expectBalanceEqualsLedger(t, id);
  });

  it("refuses a change that would take a customer's points past 10^13, and writes nothing of it", async () => {
    // 10 points a cent: one purchase of 10^12 earns exactly 10^13 points.
    const program = { ...defaultProgram, earnRate: { points: 10, per: 1 } };
    expect((await t.call('PUT', '/v1/program', { body: program })).status).toBe(200);
    const id = await enrol();
    const first = await buy(id, 1_000_000_000_000);
    expect(first.status).toBe(201);
    expect(first.body.customer.points.available).toBe(10_000_000_000_000);
    const over = await buy(id, 1);
    expectProblem(over, 400);
    expect(over.body.code).toBe('validation-failed');
    const customer = (await t.call('GET', `/v1/customers/${id}`)).body;
    expect(customer.points.available).toBe(10_000_000_000_000);
    await expectBalanceEqualsLedger(t, id);
    // The customer still takes what fits: a refund, then a small purchase.
    const refund = await t.call('POST', `/v1/purchases/${first.body.id}/refunds`, {
      key: posKey,
      body: { amount: usd(1_000) },
      headers: { 'idempotency-key': `h-ref-${++n}` },
    });
    expect(refund.status).toBe(201);
    expect((await buy(id, 1)).status).toBe(201);
    await expectBalanceEqualsLedger(t, id);
  });

  it('refuses program rates above 10^12, and points worth more than 900 minor units', async () => {
    for (const changes of [
      { earnRate: { points: 1e13, per: 1 } },
      { cashValue: { points: 1, amount: 901 } },
    ]) {
      const res = await t.call('PUT', '/v1/program', { body: { ...defaultProgram, ...changes } });
      expectProblem(res, 400);
    }
  });
});

describe('jobs never act on the future by accident', () => {
  const jobs = ['release-holds', 'activate-pending', 'expire-points', 'review-tiers', 'lapse-scan'];
  const ahead = (ms: number) => new Date(Date.now() + ms).toISOString();

  it('answers 422 invalid-as-of to every job asked to run more than 5 minutes ahead', async () => {
    for (const job of jobs) {
      const res = await t.call('POST', `/v1/jobs/${job}`, { body: { asOf: ahead(DAY) } });
      expectProblem(res, 422);
      expect(res.body.code).toBe('invalid-as-of');
      const skew = await t.call('POST', `/v1/jobs/${job}`, { body: { asOf: ahead(60_000) } });
      expect(skew.status, job).toBe(200);
    }
  });

  it('counts with dryRun and changes nothing: a live hold stays held', async () => {
    const id = await enrol();
    expect((await buy(id, 10_000)).status).toBe(201);
    const code = await redemptionCodeFor(t, id, appKey);
    const auth = await t.call('POST', '/v1/redemptions', {
      key: posKey,
      body: { code, amount: usd(40) },
      headers: { 'idempotency-key': `h-red-${++n}` },
    });
    expect(auth.status).toBe(201);

    const dry = await t.call('POST', '/v1/jobs/release-holds', {
      body: { asOf: ahead(DAY), dryRun: true },
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true });
    expect(dry.body.released).toBeGreaterThanOrEqual(1);
    const still = await t.call('GET', `/v1/redemptions/${auth.body.id}`, { key: posKey });
    expect(still.body.status).toBe('authorized');
    const points = (await t.call('GET', `/v1/customers/${id}`)).body.points;
    expect(points).toMatchObject({ available: 60, held: 40 });
    for (const job of jobs) {
      const res = await t.call('POST', `/v1/jobs/${job}`, {
        body: { asOf: ahead(400 * DAY), dryRun: true },
      });
      expect(res.status, job).toBe(200);
    }
    expect((await t.call('GET', `/v1/customers/${id}`)).body.points).toEqual(points);
    await expectBalanceEqualsLedger(t, id);
  });

  it('runs as of the future in a deployment started for simulation', async () => {
    process.env.LOYALTY_ALLOW_FUTURE_ASOF = '1';
    try {
      const res = await t.call('POST', '/v1/jobs/review-tiers', { body: { asOf: ahead(DAY) } });
      expect(res.status).toBe(200);
      expect(res.body.dryRun).toBeUndefined();
    } finally {
      delete process.env.LOYALTY_ALLOW_FUTURE_ASOF;
    }
  });
});

describe('client mistakes get a problem+json 4xx', () => {
  it('415 for a body in another media type; JSON types with parameters are fine', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await t.call('POST', '/v1/stores', {
        rawBody: '{"name":"Typed"}',
        headers: { 'content-type': type },
      });
      expectProblem(res, 415);
      expect(res.body.code).toBe('unsupported-media-type');
    }
    // A blank body is still a body: in a media type that is not JSON, 415 too.
    const blank = await t.call('POST', '/v1/jobs/review-tiers', {
      rawBody: '   ',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(blank, 415);
    for (const type of ['application/json; charset=utf-8', 'application/merge-patch+json']) {
      const res = await t.call('POST', '/v1/stores', {
        rawBody: '{"name":"Typed"}',
        headers: { 'content-type': type },
      });
      expect(res.status, type).toBe(201);
    }
    // No content type at all: read as JSON.
    const bare = await fetch(`${t.api.url}/v1/stores`, {
      method: 'POST',
      headers: { 'x-api-key': 'test-admin-key-0123456789abcdef' },
      body: new Blob(['{"name":"Untyped"}']),
    });
    expect(bare.status).toBe(201);
  });

  it('415 for a non-JSON body on a GET, which takes none', async () => {
    const customerId = await enrol();
    for (const path of ['/v1/health', `/v1/customers/${customerId}`, '/v1/program']) {
      const answer = await rawRequest('GET', path, 'hello', { 'content-type': 'text/plain' });
      expect(answer.status, path).toBe(415);
      expect(answer.type).toBe('application/problem+json');
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'unsupported-media-type' });
    }
    // A JSON body on a GET is still ignored, as is a GET without one.
    const json = await rawRequest('GET', '/v1/health', '{}', {
      'content-type': 'application/json',
    });
    expect(json.status).toBe(200);
  });

  it('413 with connection: close to a body past every limit, and a keep-alive client goes on', async () => {
    // Past the 1 MiB the server reads at most (by up to 3.5 MiB more): it answers while the
    // body is still coming. fetch keeps connections alive; the next request must not meet a
    // reset one, and the 413 itself must arrive.
    for (let round = 0; round < 16; round++) {
      const huge = 'x'.repeat(1024 * 1024 + 1 + (round % 8) * 512 * 1024);
      const over = await fetch(`${t.api.url}/v1/imports/purchases`, {
        method: 'POST',
        headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
        body: huge,
      });
      expect(over.status, `round ${round}`).toBe(413);
      expect(over.headers.get('connection')).toBe('close');
      expect(await over.json()).toMatchObject({ status: 413, code: 'payload-too-large' });
      const next = await fetch(`${t.api.url}/v1/health`);
      expect(next.status, `round ${round}`).toBe(200);
    }
  });

  it('400 for a body nested 5,000 deep, on an idempotent POST too', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const nested = `{"customerId":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    for (const rawBody of [deep, nested]) {
      const res = await t.call('POST', '/v1/purchases', {
        rawBody,
        headers: { 'idempotency-key': `h-deep-${++n}` },
      });
      expectProblem(res, 400);
      expect(res.body.code).toBe('validation-failed');
    }
    // A string full of brackets is not nesting.
    const store = await t.call('POST', '/v1/stores', { body: { name: '['.repeat(150) } });
    expect(store.status).toBe(201);
  });

  it('404 for a path id of 2,048 bytes or of a shape no id has', async () => {
    const long = 'c'.repeat(2048);
    for (const path of [
      `/v1/customers/${long}`,
      `/v1/customers/${long}/activity`,
      `/v1/purchases/${long}`,
      `/v1/redemptions/${long}`,
      `/v1/partners/${long}/settlement?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z`,
      '/v1/customers/cus%20with%20spaces',
    ]) {
      const res = await t.call('GET', path);
      expectProblem(res, 404);
      expect(res.body.code).toBe('not-found');
    }
  });

  it('400 for a forged cursor with the right partition but a sort key out of range', async () => {
    const id = await enrol();
    const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const cases: [string, unknown][] = [
      [`/v1/customers/${id}/activity`, { PK: `CUS#${id}`, SK: '' }],
      [`/v1/customers/${id}/activity`, { PK: `CUS#${id}`, SK: 'PROFILE' }],
      ['/v1/stores', { PK: 'STORES', SK: '' }],
      ['/v1/stores', { PK: 'STORES', SK: 'ZZZ' }],
      ['/v1/partners', { PK: 'PARTNERS', SK: 'STORE#x' }],
      ['/v1/events', { PK: 'EVENTS', SK: '' }],
      ['/v1/events', { PK: 'EVENTS', SK: `EVT#${'x'.repeat(2000)}` }],
      ['/v1/lapsed-customers', { lapsedAt: '', id: '' }],
      ['/v1/lapsed-customers', { lapsedAt: '2026-01-01T00:00:00.000Z', id: 'x'.repeat(3000) }],
      ['/v1/lapsed-customers?sort=valueAtRisk', { asOf: '0000-01-01', risk: 1e300, id: 'a' }],
    ];
    for (const [path, value] of cases) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await t.call('GET', `${path}${sep}cursor=${forge(value)}`);
      expectProblem(res, 400);
      expect(res.body.code, path).toBe('validation-failed');
    }
  });

  it('answers the retention report for any asOf from 1970, and 400 before it', async () => {
    const early = await t.call('GET', '/v1/reports/retention?asOf=1970-06-01T00:00:00Z');
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ lapsedLast12Months: 0, reactivatedLast12Months: 0 });
    for (const asOf of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '1969-12-31T23:59:59Z']) {
      const res = await t.call('GET', `/v1/reports/retention?asOf=${asOf}`);
      expectProblem(res, 400);
    }
  });

  it('refuses control characters in names, reasons and receipt ids', async () => {
    const id = await enrol();
    const cases: [string, string, unknown, Record<string, string>?][] = [
      ['POST', '/v1/stores', { name: 'Nul\u0000Store' }],
      ['POST', '/v1/partners', { name: 'C1\u0085Partner' }],
      ['POST', '/v1/customers', { externalId: 'x', name: 'Ada\u0000' }],
      [
        'POST',
        `/v1/customers/${id}/adjustments`,
        { points: 5, reason: 'bad\u0000reason' },
        { 'idempotency-key': `h-adj-${++n}` },
      ],
      [
        'POST',
        '/v1/purchases',
        { customerId: id, storeId, total: usd(100), receiptId: 'r\u0000' },
        { 'idempotency-key': `h-nul-${++n}` },
      ],
    ];
    for (const [method, path, body, headers] of cases) {
      const res = await t.call(method, path, { body, ...(headers && { headers }) });
      expectProblem(res, 400);
      expect(res.body.errors.some((e: any) => /control characters/.test(e.message))).toBe(true);
    }
    // Line breaks are fine in a free-text reason.
    const multiline = await t.call('POST', `/v1/customers/${id}/adjustments`, {
      body: { points: 5, reason: 'Complaint:\nlate delivery' },
      headers: { 'idempotency-key': `h-adj-${++n}` },
    });
    expect(multiline.status).toBe(201);
  });

  it('401 for a customer token without exp, even when correctly signed', async () => {
    const id = await enrol();
    // Signed with the deployment's own secret, exactly as the API signs, but for the expiry.
    const signed = (expires?: string) => {
      const jwt = new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(id)
        .setIssuer('loyalty-api')
        .setAudience('loyalty-customer')
        .setIssuedAt();
      if (expires) jwt.setExpirationTime(expires);
      return jwt.sign(new TextEncoder().encode(process.env.LOYALTY_TOKEN_SECRET));
    };
    const forever = await signed();
    const res = await t.call('GET', '/v1/me', {
      key: null,
      headers: { authorization: `Bearer ${forever}` },
    });
    expectProblem(res, 401);
    // The same token with an expiry is accepted: only the missing exp was refused.
    const bounded = await signed('10m');
    const ok = await t.call('GET', '/v1/me', {
      key: null,
      headers: { authorization: `Bearer ${bounded}` },
    });
    expect(ok.status).toBe(200);
  });

  it('404 for request targets a URL parser would choke on or read as a host', async () => {
    for (const path of ['//', '//[', '//x/v1/health', '/v1/../v1/health%']) {
      const answer = await rawGet(path);
      expect(answer.status, path).toBe(404);
      expect(answer.type).toBe('application/problem+json');
    }
  });

  it('431 problem+json for headers over the server limit', async () => {
    const answer = await rawGet(`/v1/health?${'q'.repeat(20_000)}`);
    expect(answer.status).toBe(431);
    expect(answer.type).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, code: 'validation-failed' });
  });
});

/** A request with a body fetch would not send (a GET's), answered as text. */
function rawRequest(
  method: string,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(t.api.url);
  return new Promise((done, fail) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method,
        headers: {
          'x-api-key': ADMIN_KEY,
          'content-length': String(Buffer.byteLength(body)),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () =>
          done({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body: text,
          }),
        );
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** A GET with the request target exactly as given (fetch would normalise it). */
function rawGet(path: string): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(t.api.url);
  return new Promise<{ status: number; type: string; body: string }>((done, fail) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'GET',
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          done({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body,
          }),
        );
      },
    );
    req.on('error', fail);
    req.end();
  });
}
