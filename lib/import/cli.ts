/**
 * `npm run import -- --customers customers.csv --purchases purchases.csv [--url URL]
 *  [--key KEY] [--store ID] [--concurrency 4] [--batch 500] [--rejected import-rejected.csv]`
 *
 * Imports a merchant's customers, then their purchase history, through the admin import
 * routes, with a progress bar per phase and a summary at the end. The first Ctrl-C stops
 * after the batches in flight (run the same command again to finish: nothing is applied
 * twice); a second one quits at once. Exit code: 0 done (even with rejected rows), 130
 * interrupted, 1 on a fatal error, 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { ImportProgress, ImportSummary } from './options.ts';
import { runImport } from './runImport.ts';
import { MAX_BATCH_SIZE } from './settings.ts';

const USAGE = `usage: npm run import -- [--customers customers.csv] [--purchases purchases.csv]
  [--url URL (LOYALTY_API_URL, else http://127.0.0.1:3000)] [--key KEY (LOYALTY_ADMIN_KEY)]
  [--store ID] [--concurrency 4] [--batch ${MAX_BATCH_SIZE}] [--rejected import-rejected.csv]`;

/** The command line, checked. */
interface Arguments {
  customers?: string;
  purchases?: string;
  url: string;
  key: string;
  store?: string;
  concurrency: number;
  batch: number;
  rejected: string;
}

/** Reads the command line; prints what is wrong and the usage, and exits 2, when it is bad. */
function parseCommandLine(): Arguments {
  try {
    const { values } = parseArgs({
      options: {
        customers: { type: 'string' },
        purchases: { type: 'string' },
        url: { type: 'string', default: process.env.LOYALTY_API_URL || 'http://127.0.0.1:3000' },
        key: { type: 'string', default: process.env.LOYALTY_ADMIN_KEY ?? '' },
        store: { type: 'string' },
        concurrency: { type: 'string', default: '4' },
        batch: { type: 'string', default: String(MAX_BATCH_SIZE) },
        rejected: { type: 'string', default: 'import-rejected.csv' },
      },
      strict: true,
    });
    if (values.customers === undefined && values.purchases === undefined) {
      throw new Error('give --customers, --purchases or both');
    }
    if (values.key === '') throw new Error('no admin key: give --key or set LOYALTY_ADMIN_KEY');
    return {
      customers: values.customers,
      purchases: values.purchases,
      url: values.url,
      key: values.key,
      store: values.store,
      concurrency: wholeNumber('--concurrency', values.concurrency, 1, 64),
      batch: wholeNumber('--batch', values.batch, 1, MAX_BATCH_SIZE),
      rejected: values.rejected,
    };
  } catch (error) {
    console.error(`import: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new Error(`${option} ${text}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/**
 * A progress bar per phase (bar, rows done of total, rows/s, ETA); when stdout is not a
 * terminal, a plain line every 5 seconds instead.
 */
function progressDisplay() {
  const terminal = process.stdout.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  let phase: ImportProgress['phase'] | undefined;
  let started = 0;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  const show = (progress: ImportProgress) => {
    if (progress.phase !== phase) {
      stop();
      phase = progress.phase;
      started = performance.now();
      bar = new cliProgress.SingleBar({
        format: `${phase.padEnd(9)} ${terminal ? '[{bar}] ' : ''}{value}/{total} rows | {speed} rows/s | ETA {etaText}`,
        stream: process.stdout,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        hideCursor: true,
      });
      bar.start(progress.total, progress.done, { speed: 0, etaText: '-' });
    }
    const seconds = (performance.now() - started) / 1000;
    const speed = seconds > 0 ? progress.done / seconds : 0;
    const etaText = speed > 0 ? durationText((progress.total - progress.done) / speed) : '-';
    bar?.update(progress.done, { speed: Math.round(speed), etaText });
  };
  return { show, stop };
}

/** "1h02m", "3m05s", "12s": a duration for the ETA. */
function durationText(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600)
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** The summary's lines: counts, time and rate, and what to do next. */
function summaryLines(summary: ImportSummary, args: Arguments): string[] {
  const { customers, purchases } = summary;
  const rows =
    customers.created +
    customers.existing +
    customers.rejected +
    purchases.imported +
    purchases.duplicates +
    purchases.rejected;
  const rate = summary.seconds > 0 ? Math.round(rows / summary.seconds) : 0;
  const lines = [];
  if (args.customers !== undefined) {
    lines.push(
      `customers: ${customers.rows} rows: ${customers.created} created, ${customers.existing} existing, ${customers.rejected} rejected`,
    );
  }
  if (args.purchases !== undefined) {
    lines.push(
      `purchases: ${purchases.rows} rows: ${purchases.imported} imported, ${purchases.duplicates} duplicates, ${purchases.rejected} rejected`,
    );
  }
  lines.push(`${rows} rows in ${summary.seconds.toFixed(1)} s (${rate} rows/s)`);
  if (summary.rejectedFile) lines.push(`rejected rows, with the reason: ${summary.rejectedFile}`);
  if (summary.interrupted) lines.push('interrupted: run the same command again to finish');
  return lines;
}

const args = parseCommandLine();
const stopping = new AbortController();
const display = progressDisplay();
/**
 * Under `npm run import` one Ctrl-C may arrive more than once within milliseconds: from the
 * terminal, and passed on by npm (the script runs the CLI with `node --import tsx`, not the
 * tsx binary, whose relay may kill a child that is slow to take a signal). A SIGINT this
 * soon after the first is that same keypress, not the second Ctrl-C that quits at once.
 */
const SAME_CTRL_C_MS = 500;
let firstCtrlC: number | undefined;
process.on('SIGINT', () => {
  const now = performance.now();
  if (firstCtrlC === undefined) {
    firstCtrlC = now;
    console.log('\nstopping after the batches in flight… (Ctrl-C again to quit now)');
    stopping.abort();
  } else if (now - firstCtrlC >= SAME_CTRL_C_MS) {
    display.stop(); // gives the terminal its cursor back
    process.exit(130);
  }
});

try {
  const summary = await runImport({
    url: args.url,
    key: args.key,
    customersFile: args.customers,
    purchasesFile: args.purchases,
    storeId: args.store,
    batchSize: args.batch,
    concurrency: args.concurrency,
    rejectedFile: args.rejected,
    signal: stopping.signal,
    onProgress: display.show,
  });
  display.stop();
  for (const line of summaryLines(summary, args)) console.log(line);
  process.exit(summary.interrupted ? 130 : 0);
} catch (error) {
  display.stop();
  console.error(`import: ${(error as Error).message}`);
  process.exit(1);
}
