import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../lib/local/dynamo.ts';
import { type LocalApi, startLocalApi } from '../../lib/local/runtime.ts';
import { readmeReceiverDir } from '../support/readmeReceiver.ts';

/**
 * The README's curl session (first session, app backend, partner redemption) run as
 * written by bash against the real local server on a table of its own: only the
 * `npm start &` line is left out (the server is already up, on PORT).
 */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const shBlocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, body]) => body as string);
const block = (marker: string) => {
  const found = shBlocks.filter((b) => b.includes(marker));
  expect(found, marker).toHaveLength(1);
  return found[0] as string;
};

/** Each call the session makes, as `status METHOD path` (ids as {id}, no query). */
const CALLS = [
  // A first session with curl
  '200 GET /v1/health',
  '201 POST /v1/stores',
  '201 POST /v1/api-keys',
  '201 POST /v1/customers',
  '201 POST /v1/purchases',
  '200 GET /v1/customers',
  '200 GET /v1/customers/{id}/activity',
  // the app backend: its key, a customer token, the customer's own routes
  '201 POST /v1/api-keys',
  '201 POST /v1/customers/{id}/session-tokens',
  '200 GET /v1/me',
  '200 GET /v1/me/activity',
  '201 POST /v1/me/redemption-codes',
  // a partner retailer: authorize 5.00 of Ada's 6.00, capture, settlement
  '201 POST /v1/partners',
  '201 POST /v1/api-keys',
  '201 POST /v1/redemptions',
  '200 POST /v1/redemptions/{id}/capture',
  '200 GET /v1/partners/{id}/settlement',
  // campaigns: exclude gift cards, three campaigns (the win-back's uplift), a quote, the
  // purchase, list, end one
  '200 GET /v1/program',
  '200 PUT /v1/program',
  '201 POST /v1/campaigns',
  '201 POST /v1/campaigns',
  '201 POST /v1/campaigns',
  '200 GET /v1/campaigns/{id}/uplift',
  '200 POST /v1/purchases/quote',
  '201 POST /v1/purchases',
  '200 GET /v1/campaigns',
  '200 PATCH /v1/campaigns/{id}',
  // a duplicate merged into Ada, then Ada erased by naming it
  '201 POST /v1/customers',
  '201 POST /v1/purchases',
  '200 POST /v1/customers/{id}/merge',
  '200 GET /v1/customers',
  '200 POST /v1/customers/{id}/erase',
  '200 GET /v1/customers/{id}',
];

let api: LocalApi;
beforeAll(async () => {
  // The admin key the README exports, so its `export` line runs as written too.
  const adminKey = /^export LOYALTY_ADMIN_KEY=(\S+)$/m.exec(readme)?.[1];
  expect(adminKey).toBeDefined();
  api = await startLocalApi({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `test-${randomUUID()}`,
    adminKey: adminKey as string,
  });
});
afterAll(() => api?.stop());

function bash(script: string, env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    // Asynchronous: the server answering these calls runs in this very process.
    execFile(
      'bash',
      ['-c', script],
      { env: { ...process.env, ...env }, timeout: 80_000, maxBuffer: 10 * 1024 * 1024 },
      (error, stdout, stderr) =>
        done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the README curl session', () => {
  it('runs as written, every call answering the status the README says', async () => {
    const session = [
      block('npm start &'),
      block('session-tokens'),
      block('/settlement'),
      block('/campaigns'),
      block('/merge'),
    ].join('\n');
    const script = [
      'set -euo pipefail',
      // Report each call's status on stderr; the body still goes where the README sends it.
      'curl() { command curl -w "%{stderr}%{http_code} %{method} %{url_effective}\\n" "$@"; }',
      session
        .split('\n')
        .filter((line) => line.trim() !== 'npm start &')
        .join('\n'),
    ].join('\n');
    expect(script).not.toMatch(/^\s*npm start/m);

    const isWeekend = () => [0, 6].includes(new Date().getUTCDay());
    const weekend = new Set([isWeekend()]);
    const run = await bash(script, { PORT: String(api.port) });
    weekend.add(isWeekend());
    expect(run.stderr.match(/^[^\d].*$/gm) ?? [], 'unexpected stderr').toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    const calls = (run.stderr.match(/^\d{3} [A-Z]+ \S+$/gm) ?? []).map((line) => {
      const [status, method, url] = line.split(' ') as [string, string, string];
      const path = new URL(url).pathname.replace(
        /\b(sto|cus|ptn|red|key|cmp)_[0-9A-Za-z]+/g,
        '{id}',
      );
      return `${status} ${method} ${path}`;
    });
    expect(calls).toEqual(CALLS);

    // What the README says the answers hold.
    expect(run.stdout).toContain('"pointsEarned":600');
    expect(run.stdout).toMatch(/"tier":\{"id":"silver"/);
    expect(run.stdout).toContain('"status":"captured"');
    // The quote and the purchase: 50 base (E = 40.00 at 1.25 x) and 30 for coffee, and on
    // a UTC weekend 40 more; the purchase earns what the quote said.
    const earned = [...run.stdout.matchAll(/"pointsEarned":(\d+),"breakdown"/g)]
      .map((m) => m[1])
      .slice(-2);
    const expected =
      weekend.size === 1 ? [...weekend].map((w) => (w ? '120' : '80')) : ['80', '120'];
    expect(earned).toHaveLength(2);
    for (const e of earned) expect(expected).toContain(e);
    expect(earned[1]).toBe(earned[0]);
    expect(run.stdout).not.toContain('undefined');
  }, 90_000);
});

describe('the README import section', () => {
  it('runs as written on the first 1,000 CDNOW purchases: customers, tiers, cadence, lapsed', async () => {
    // The session's settings (its first lines), then the section, with the fixture in place
    // of the whole CDNOW file and a temporary directory in place of `history/`.
    const settings = block('npm start &')
      .split('\n')
      .filter((line) => /^(export LOYALTY_ADMIN_KEY=|U=|field\(\))/.test(line));
    expect(settings).toHaveLength(3);
    const dir = mkdtempSync(join(tmpdir(), 'readme-history-'));
    const section = block('npm run import')
      .replaceAll('CDNOW_master.txt', 'test/fixtures/CDNOW_master_head.txt')
      .replaceAll('--out history', `--out ${dir}`)
      .replaceAll('history/', `${dir}/`);
    const script = [
      'set -euo pipefail',
      'curl() { command curl -w "%{stderr}%{http_code} %{method} %{url_effective}\\n" "$@"; }',
      ...settings,
      section,
    ].join('\n');
    try {
      const run = await bash(script, { PORT: String(api.port) });
      expect(run.code, run.stderr).toBe(0);
      const calls = (run.stderr.match(/^\d{3} [A-Z]+ \S+$/gm) ?? []).map((line) => {
        const [status, method, url] = line.split(' ') as [string, string, string];
        return `${status} ${method} ${new URL(url).pathname}`;
      });
      expect(calls).toEqual([
        '201 POST /v1/stores',
        '200 POST /v1/jobs/lapse-scan',
        '200 GET /v1/reports/lapse-quality',
        '200 GET /v1/customers',
        '200 GET /v1/lapsed-customers',
        '200 GET /v1/reports/retention',
        '200 GET /v1/reports/daily',
      ]);
      expect(run.stdout).toContain('customers: 286 rows: 286 created, 0 existing, 0 rejected');
      expect(run.stdout).toContain('purchases: 1000 rows: 1000 imported, 0 duplicates, 0 rejected');
      // Customer 00002 bought 1997-01-12 and 1997-01-12 (one day): cadence from the history.
      expect(run.stdout).toMatch(/"externalId":"00002".*"cadence":\{"purchases":2/);
      const flagged = Number(/"flagged":(\d+)/.exec(run.stdout)?.[1]);
      expect(flagged).toBeGreaterThan(0);
      // The loop stops at the run that fitted on the history as imported, not a stale model.
      expect(run.stdout).toMatch(/"fitted":true.*"stale":false/);
      expect(run.stdout).toMatch(/"items":\[\{"customerId":"cus_/);
      // 286 customers: the quality report answers, and says why it has no figures yet.
      expect(run.stdout).toMatch(
        /"insufficientData":"only \d+ customers with 2 or more purchase days \(500 needed\)/,
      );
      // The year day by day: 366 rows, the history's purchases on their own days (the
      // fixture's 18 months end yesterday, so the year holds most of them but not all).
      const daily = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('{"items":[{"date"')));
      expect(daily.items).toHaveLength(366);
      const purchases = daily.items.reduce(
        (s: number, r: { purchases: number }) => s + r.purchases,
        0,
      );
      expect(purchases).toBeGreaterThan(100);
      expect(purchases).toBeLessThan(1000);
      expect(
        new Set(daily.items.filter((r: any) => r.purchases > 0).map((r: any) => r.date)).size,
      ).toBeGreaterThan(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the README webhooks section', () => {
  it('subscribes the README receiver, which takes the ping as written', async () => {
    const settings = block('npm start &')
      .split('\n')
      .filter((line) => /^(export LOYALTY_ADMIN_KEY=|U=|field\(\))/.test(line));
    const { dir, remove } = readmeReceiverDir();
    const port = await freePort();
    const script = [
      'set -euo pipefail',
      `cd ${dir}`,
      ...settings,
      block('webhook-endpoints'),
      // The receiver the section started in the background.
      'kill $!',
    ].join('\n');
    try {
      const run = await bash(script, { PORT: String(api.port), HOOK_PORT: String(port) });
      expect(run.code, run.stderr).toBe(0);
      // The receiver's line for the ping, and the log's newest delivery: that ping, delivered.
      expect(run.stdout).toMatch(/^ping null \{"endpointId":"whe_/m);
      const log = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('{"items":')));
      expect(log.items).toHaveLength(1);
      expect(log.items[0]).toMatchObject({ eventType: 'ping', status: 'delivered', attempts: 1 });
    } finally {
      remove();
    }
  }, 60_000);
});
