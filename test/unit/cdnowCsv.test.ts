import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cdnowToCsv, parseCdnow } from '../../lib/import/cdnow.ts';

// CDNOW_master layout, with its header line; customer 00002 bought twice on its first day.
const MASTER = ` customer_id  date number_of_cds  dollar_value
 00001 19970101  1   11.77
 00002 19970112  1   12.00
 00002 19970112  5   77.00
 00003 19970102  2   20.76
 00001 19980228  1   19.99
 00003 19980630  1    0.07
`;

const dir = mkdtempSync(join(tmpdir(), 'cdnow-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cdnowToCsv', () => {
  it('writes one customer per CDNOW id in first-seen order and every purchase at its real date', () => {
    const csv = cdnowToCsv(parseCdnow(MASTER));
    expect(csv.customersCsv).toBe('externalId\n00001\n00002\n00003\n');
    expect(csv.purchasesCsv).toBe(
      [
        'customerExternalId,receiptId,occurredAt,amount,currency',
        '00001,cdnow-1,1997-01-01T12:00:00.000Z,1177,USD',
        '00002,cdnow-2,1997-01-12T12:00:00.000Z,1200,USD',
        '00002,cdnow-3,1997-01-12T12:00:00.000Z,7700,USD',
        '00003,cdnow-4,1997-01-02T12:00:00.000Z,2076,USD',
        '00001,cdnow-5,1998-02-28T12:00:00.000Z,1999,USD',
        '00003,cdnow-6,1998-06-30T12:00:00.000Z,7,USD',
        '',
      ].join('\n'),
    );
    expect(csv).toMatchObject({
      customers: 3,
      purchases: 6,
      firstDay: '1997-01-01',
      lastDay: '1998-06-30',
      shiftDays: 0,
    });
  });

  it('with an ending day, moves every date by the same whole days so the last is that day', () => {
    const csv = cdnowToCsv(parseCdnow(MASTER), { ending: '2025-06-30' });
    const dates = csv.purchasesCsv
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',')[2]);
    // 1998-06-30 to 2025-06-30: 27 years, 7 of them with a 29 February.
    expect(csv.shiftDays).toBe(27 * 365 + 7);
    expect(dates).toEqual([
      // 1997 had no 29 February, 2024 has: the same shift lands a day later in the calendar.
      '2024-01-02T12:00:00.000Z',
      '2024-01-13T12:00:00.000Z',
      '2024-01-13T12:00:00.000Z',
      '2024-01-03T12:00:00.000Z',
      '2025-02-28T12:00:00.000Z',
      '2025-06-30T12:00:00.000Z',
    ]);
    expect(csv).toMatchObject({ firstDay: '2024-01-02', lastDay: '2025-06-30' });
    expect(csv.customersCsv).toBe('externalId\n00001\n00002\n00003\n');
  });

  it('refuses an ending that is not a calendar day', () => {
    expect(() => cdnowToCsv(parseCdnow(MASTER), { ending: '2025-02-29' })).toThrow(/YYYY-MM-DD/);
  });

  it('reads the sample layout too (its sample_id column is dropped)', () => {
    const csv = cdnowToCsv(parseCdnow('00004 1 19970105 2 0.125\n'));
    expect(csv.purchasesCsv).toContain('00004,cdnow-1,1997-01-05T12:00:00.000Z,13,USD');
  });
});

describe('npm run cdnow:csv', () => {
  const tsx = join('node_modules', '.bin', 'tsx');
  const data = join(dir, 'CDNOW_master.txt');
  writeFileSync(data, MASTER);

  it('writes customers.csv and purchases.csv to --out and says what it wrote', () => {
    const out = join(dir, 'out');
    const printed = execFileSync(tsx, ['lib/import/cdnowCsv.ts', '--data', data, '--out', out], {
      encoding: 'utf8',
    });
    expect(readFileSync(join(out, 'customers.csv'), 'utf8')).toBe(
      cdnowToCsv(parseCdnow(MASTER)).customersCsv,
    );
    expect(readFileSync(join(out, 'purchases.csv'), 'utf8')).toBe(
      cdnowToCsv(parseCdnow(MASTER)).purchasesCsv,
    );
    expect(printed).toContain('wrote 3 customers');
    expect(printed).toContain('wrote 6 purchases');
    expect(printed).toContain('from 1997-01-01 to 1998-06-30');
  });

  it('exits 2 on bad arguments', () => {
    const run = spawnSync(tsx, ['lib/import/cdnowCsv.ts', '--data', data, '--ending', '2025-6-1'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage:');
  });
});
