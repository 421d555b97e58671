/**
 * The import CLI's edges, through runImport on the real HTTP server over DynamoDB Local:
 * a customers file run again comes back `existing` row by row, whatever identifiers it
 * has; a purchases batch that meets a storage error answers item by item, and the CLI
 * sends again what can be sent again before the later batches of the same customers.
 * Every instant is relative to Date.now().
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { type ImportOptions, runImport } from '../../lib/import/client.ts';
import { ADMIN_KEY, startTestApi, type TestApi } from '../support/api.ts';

let t: TestApi;
let dir: string;
let n = 0;

beforeAll(async () => {
  t = await startTestApi();
  expect((await t.call('PUT', '/v1/program', { body: defaultProgram })).status).toBe(200);
  dir = mkdtempSync(join(tmpdir(), 'import-edges-'));
});
afterAll(async () => {
  await t?.api.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function csvFile(text: string): string {
  const file = join(dir, `f${++n}.csv`);
  writeFileSync(file, text);
  return file;
}

const options = (extra: Partial<ImportOptions>): ImportOptions => ({
  url: t.api.url,
  key: ADMIN_KEY,
  rejectedFile: join(dir, `rejected-${++n}.csv`),
  ...extra,
});

/** The rejected file's rows as records (none when it was not written). */
function rejectedRows(file: string | undefined): Record<string, string>[] {
  if (file === undefined || !existsSync(file)) return [];
  return parse(readFileSync(file, 'utf8'), { columns: true });
}

describe('a customers file imported again', () => {
  it('reports every row existing, whatever mix of email, phone and externalId it has', async () => {
    const customers = csvFile(
      'externalId,email,phone,name\n' +
        'rr-1,rr1@example.com,,Email and externalId\n' +
        'rr-2,,+14155550101,Phone and externalId\n' +
        'rr-3,RR3@Example.com,+14155550103,All three\n' +
        'rr-4,,,ExternalId alone\n' +
        ',rr5@example.com,,Email alone\n' +
        ',,+14155550106,Phone alone\n' +
        'rr-3,rr3@example.com,+14155550103,All three again in the same file\n',
    );
    const first = await runImport(options({ customersFile: customers }));
    expect(rejectedRows(first.rejectedFile)).toEqual([]);
    expect(first.customers).toEqual({ rows: 7, created: 6, existing: 1, rejected: 0 });

    const again = await runImport(options({ customersFile: customers }));
    expect(rejectedRows(again.rejectedFile)).toEqual([]);
    expect(again.customers).toEqual({ rows: 7, created: 0, existing: 7, rejected: 0 });
  });

  it('still refuses a row whose identifiers belong to two different customers, naming both', async () => {
    const first = await runImport(
      options({
        customersFile: csvFile('externalId,email\ntc-1,tc1@example.com\ntc-2,tc2@example.com\n'),
      }),
    );
    expect(first.customers.created).toBe(2);
    const one = (await t.call('GET', '/v1/customers?externalId=tc-1')).body.id;
    const two = (await t.call('GET', '/v1/customers?externalId=tc-2')).body.id;

    // tc-1's externalId with tc-2's email.
    const crossed = await runImport(
      options({ customersFile: csvFile('externalId,email\ntc-1,tc2@example.com\n') }),
    );
    expect(crossed.customers).toEqual({ rows: 1, created: 0, existing: 0, rejected: 1 });
    const [row] = rejectedRows(crossed.rejectedFile);
    expect(row?.code).toBe('conflict');
    expect(row?.detail).toContain(one);
    expect(row?.detail).toContain(two);
  });
});
