import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdnowToCsv, parseCdnow } from '../../lib/import/cdnow.ts';
import { ADMIN_KEY, startTestApi, type TestApi } from '../support/api.ts';

/**
 * The whole CDNOW history (69,659 purchases of 23,570 customers, 1997-98) brought in with
 * `npm run import` on the real server and DynamoDB Local, as the README's "Moving your
 * history in" does (its real dates: no --ending, so the figures do not move with the
 * clock), and no scan run: the retention report as of the day after CDNOW's last purchase
 * says how many lapsed and came back in the twelve months before, from the history alone.
 *
 * The expected figures come from test/eval/cdnowReturns.mjs, a separate script that reads
 * the raw file and applies the lapse rule with the default thresholds (factor 2, minDays
 * 14, minPurchases 3) without any of the API's code:
 *   node test/eval/cdnowReturns.mjs test/fixtures/CDNOW_master.txt --end 1998-07-01 --days 365
 *   -> "returnsInWindow":5613,"lapsesInWindow":4673
 */
const RETURNS_IN_12_MONTHS = 5_613;
const LAPSES_IN_12_MONTHS = 4_673;
const AS_OF = '1998-07-01T12:00:00.000Z';
const FILE = 'test/fixtures/CDNOW_master.txt';

let api: TestApi;
let dir: string;

beforeAll(async () => {
  api = await startTestApi();
  dir = await mkdtemp(join(tmpdir(), 'cdnow-retention-'));
  const csv = cdnowToCsv(parseCdnow(readFileSync(FILE, 'utf8'), FILE), {});
  await writeFile(join(dir, 'customers.csv'), csv.customersCsv);
  await writeFile(join(dir, 'purchases.csv'), csv.purchasesCsv);
});
afterAll(async () => {
  await api?.api.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `npm run import` as the README runs it (node --import tsx lib/import/cli.ts). */
function runImport(store: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'lib/import/cli.ts',
      ...['--customers', join(dir, 'customers.csv'), '--purchases', join(dir, 'purchases.csv')],
      ...['--url', api.api.url, '--key', ADMIN_KEY, '--store', store],
      ...['--rejected', join(dir, 'rejected.csv')],
    ],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('CDNOW imported: the year lost and won back, on the first day', () => {
  it('counts the lapses and returns the raw file shows under the lapse rule, with no event', async () => {
    const store = await api.call('POST', '/v1/stores', { body: { name: 'CDNOW' } });
    expect(store.status).toBe(201);
    const run = await runImport(store.body.id);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('customers: 23570 rows: 23570 created, 0 existing, 0 rejected');
    expect(run.output).toContain('purchases: 69659 rows: 69659 imported, 0 duplicates, 0 rejected');

    const retention = await api.call('GET', `/v1/reports/retention?asOf=${AS_OF}`);
    expect(retention.status).toBe(200);
    expect(retention.body).toMatchObject({
      customers: 23_570,
      reactivatedLast12Months: RETURNS_IN_12_MONTHS,
      lapsedLast12Months: LAPSES_IN_12_MONTHS,
    });
    // The returns by day add up to the same: the daily report counts each on its day.
    const daily = await api.call('GET', '/v1/reports/daily?from=1997-07-02&to=1998-07-01');
    expect(daily.status).toBe(200);
    const sum = (name: string) =>
      (daily.body.items as Record<string, number>[]).reduce((n, row) => n + (row[name] ?? 0), 0);
    expect(sum('reactivatedToday')).toBe(RETURNS_IN_12_MONTHS);
    expect(sum('lapsedToday')).toBe(LAPSES_IN_12_MONTHS);
    // No scan flagged any of it: not one lapse event for years of history.
    const types = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await api.call(
        'GET',
        `/v1/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      for (const e of page.body.items) types.add(e.type);
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    expect(types.has('customer.lapsed') || types.has('customer.reactivated')).toBe(false);
  }, 900_000);
});
