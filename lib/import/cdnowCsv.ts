/**
 * `npm run cdnow:csv -- --data CDNOW_master.txt --out DIR [--ending YYYY-MM-DD | yesterday]`
 *
 * Converts a CDNOW purchase file into the two CSVs `npm run import` reads: DIR/customers.csv
 * (externalId) and DIR/purchases.csv (customerExternalId, receiptId, occurredAt, amount,
 * currency). With --ending, every date moves by the same whole number of days so the last
 * purchase falls on that day (`yesterday`: the UTC day before today); without it the real
 * dates (1997-1998) are kept.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cdnowToCsv, parseCdnow } from './cdnow.ts';

const USAGE =
  'usage: npm run cdnow:csv -- --data CDNOW_master.txt --out DIR [--ending YYYY-MM-DD | yesterday]';

/** The UTC day before today, as YYYY-MM-DD. */
const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

/** The command line's options, or exit 2 with the usage line. */
function parseCommandLine(): { data: string; out: string; ending?: string } {
  try {
    const { values } = parseArgs({
      options: {
        data: { type: 'string' },
        out: { type: 'string' },
        ending: { type: 'string' },
      },
      strict: true,
    });
    if (values.data === undefined || values.out === undefined) {
      throw new Error('--data and --out are required');
    }
    const ending = values.ending === 'yesterday' ? yesterday() : values.ending;
    if (ending !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(ending)) {
      throw new Error(`--ending ${values.ending}: expected YYYY-MM-DD or yesterday`);
    }
    return { data: values.data, out: values.out, ending };
  } catch (error) {
    console.error(`cdnow:csv: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const args = parseCommandLine();
try {
  const csv = cdnowToCsv(parseCdnow(readFileSync(args.data, 'utf8'), args.data), {
    ending: args.ending,
  });
  mkdirSync(args.out, { recursive: true });
  const customersFile = join(args.out, 'customers.csv');
  const purchasesFile = join(args.out, 'purchases.csv');
  writeFileSync(customersFile, csv.customersCsv);
  writeFileSync(purchasesFile, csv.purchasesCsv);
  const shift = csv.shiftDays === 0 ? '' : ` (every date moved by ${csv.shiftDays} days)`;
  console.log(`wrote ${csv.customers} customers to ${customersFile}`);
  console.log(`wrote ${csv.purchases} purchases to ${purchasesFile}`);
  console.log(`purchases from ${csv.firstDay} to ${csv.lastDay}${shift}`);
} catch (error) {
  console.error(`cdnow:csv: ${(error as Error).message}`);
  process.exit(1);
}
