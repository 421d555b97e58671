/**
 * `npm run bench:export [-- --entries N] [--concurrency N]`
 *
 * Shows that a customer's export is complete and bounded in memory whatever the ledger's
 * length. Over an in-memory DynamoDB Local it loads one customer with N ledger entries
 * (default 100,000) straight into the table with BatchWriteItem: 60% purchases (each an
 * `earn` entry and its purchase item with two lines), 30% adjustments, 10% refunds of those
 * purchases; the customer's balances are the ledger's sums. Then, in a fresh Node process
 * (so its peak RSS is the export's own), it requests the export and runs the exports job
 * once (usecases/exports.ts, writing to local files as npm start does), and prints the time
 * and the process's peak resident memory (maxRSS) against its RSS before the run. The
 * parent then reads the document back and checks it holds every entry and purchase.
 * Ends with one JSON line; exits non-zero if a check fails.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { newCustomer } from '../../lib/domain/customer.ts';
import type { LedgerEntry } from '../../lib/domain/ledger.ts';
import { defaultProgram } from '../../lib/domain/program.ts';
import { documentName } from '../../lib/exports/sinks.ts';
import { newId } from '../../lib/ids.ts';
import { type DynamoLocal, ensureTable, startDynamoLocal } from '../../lib/local/dynamo.ts';
import { db } from '../../lib/store/client.ts';
import { customerItem, ledgerItem } from '../../lib/store/customers.ts';
import { keys } from '../../lib/store/keys.ts';
import { putProgram } from '../../lib/store/program.ts';
import type { Purchase } from '../../lib/store/purchases.ts';

const TABLE = 'bench-export';
const MB = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '8' },
    // Internal: the measured run, in its own process.
    run: { type: 'string' },
  },
  strict: true,
});

/** The measured half, in a fresh process: request the export, run the job once, report. */
async function measure(customerId: string): Promise<void> {
  const { requestExport, runExports } = await import('../../lib/usecases/exports.ts');
  const before = process.memoryUsage().rss;
  const started = performance.now();
  const { value } = await requestExport(
    { keyId: 'key_bench', role: 'admin' },
    customerId,
    undefined,
  );
  const run = await runExports(new Date(), { deadline: Date.now() + 30 * 60_000 });
  const seconds = (performance.now() - started) / 1000;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({ id: value.id, run, seconds, rssBeforeMB: before / MB, maxRssMB: maxRss / MB }),
  );
}

function* seedItems(customerId: string, entries: number): Generator<Record<string, unknown>> {
  const program = defaultProgram;
  const customer = newCustomer(
    customerId,
    { email: 'bench@example.com', name: 'Bench' },
    program,
    new Date(),
  );
  const storeId = 'sto_BENCH';
  const start = Date.now() - 300 * 86_400_000;
  let available = 0;
  let lifetime = 0;
  const purchases: { id: string; points: number }[] = [];
  for (let version = 1; version <= entries; version++) {
    const at = new Date(start + version * 60_000).toISOString();
    const kind = version % 10;
    let entry: LedgerEntry;
    if (kind < 6 || purchases.length === 0) {
      const id = newId('pur');
      const points = 10 + (version % 90);
      const purchase: Purchase = {
        id,
        customerId,
        storeId,
        total: { amount: points * 100, currency: program.currency },
        occurredAt: at,
        recordedAt: at,
        receiptId: `r-${version}`,
        lines: [
          {
            sku: `sku-${version % 500}`,
            category: 'coffee',
            quantity: 1,
            unitPrice: { amount: points * 50, currency: program.currency },
          },
          {
            sku: `sku-${(version + 7) % 500}`,
            quantity: 1,
            unitPrice: { amount: points * 50, currency: program.currency },
          },
        ],
        pointsEarned: points,
        breakdown: [{ source: 'base', points }],
        pointsStatus: 'available',
        refunded: { amount: 0, currency: program.currency },
      };
      purchases.push({ id, points });
      yield { ...keys.purchase(id), ...purchase };
      available += points;
      lifetime += points;
      entry = {
        id: newId('led'),
        type: 'earn',
        points,
        balanceAfter: available,
        at,
        purchaseId: id,
        occurredAt: at,
        storeId,
        receiptId: `r-${version}`,
        breakdown: [{ source: 'base', points }],
      };
    } else if (kind < 9) {
      const points = version % 2 === 0 ? 5 : -1;
      available += points;
      entry = {
        id: newId('led'),
        type: 'adjust',
        points,
        balanceAfter: available,
        at,
        reason: `goodwill ${version}`,
      };
    } else {
      const refunded = purchases[version % purchases.length] as { id: string; points: number };
      available -= 1;
      lifetime -= 1;
      entry = {
        id: newId('led'),
        type: 'refund',
        points: -1,
        balanceAfter: available,
        at,
        purchaseId: refunded.id,
        refundId: newId('ref'),
      };
    }
    yield ledgerItem(customerId, version, entry);
  }
  yield customerItem({
    ...customer,
    available,
    lifetimeEarned: lifetime,
    purchases: purchases.length,
    version: entries,
  });
}

async function seed(customerId: string, entries: number, concurrency: number): Promise<number> {
  const source = seedItems(customerId, entries);
  let written = 0;
  const send = async (items: Record<string, unknown>[]) => {
    let pending = items.map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const { UnprocessedItems } = await db().send(
        new BatchWriteCommand({ RequestItems: { [TABLE]: pending } }),
      );
      pending = (UnprocessedItems?.[TABLE] as typeof pending | undefined) ?? [];
    }
    written += items.length;
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const batch: Record<string, unknown>[] = [];
        while (batch.length < 25) {
          const next = source.next();
          if (next.done) break;
          batch.push(next.value);
        }
        if (batch.length === 0) return;
        await send(batch);
      }
    }),
  );
  return written;
}

function runChild(customerId: string, env: NodeJS.ProcessEnv): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join('node_modules', '.bin', 'tsx'),
      ['test/bench/export.ts', '--run', customerId],
      {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line));
      else reject(new Error(`the measured run exited ${code}: ${out}`));
    });
  });
}

async function main(): Promise<void> {
  if (args.run) return measure(args.run);
  const entries = Number(args.entries);
  const concurrency = Number(args.concurrency);
  let local: DynamoLocal | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bench-export-'));
  try {
    local = await startDynamoLocal();
    process.env.DYNAMODB_ENDPOINT = local.endpoint;
    process.env.LOYALTY_TABLE = TABLE;
    process.env.LOYALTY_TOKEN_SECRET ||= 'bench-secret';
    await ensureTable(local.endpoint, TABLE);
    await putProgram(defaultProgram);
    const customerId = newId('cus');
    console.log(
      `Export benchmark: one customer with ${entries.toLocaleString('en-US')} ledger entries`,
    );
    const seedStart = performance.now();
    const items = await seed(customerId, entries, concurrency);
    console.log(
      `  loaded ${items.toLocaleString('en-US')} items in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    );
    const result = await runChild(customerId, {
      ...process.env,
      LOYALTY_EXPORT_DIR: dir,
      LOYALTY_EXPORT_LINK_BASE: 'http://127.0.0.1:0',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const file = join(dir, documentName(result.id));
    const bytes = statSync(file).size;
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const purchases = Math.round(entries * 0.6);
    const checks = {
      exported: result.run.exported === 1,
      ledger: doc.ledger.length === entries,
      purchases: Math.abs(doc.purchases.length - purchases) <= 1,
      newestFirst: doc.ledger[0].balanceAfter === doc.customer.points.available,
      refunds:
        doc.purchases.reduce((n: number, p: any) => n + p.refunds.length, 0) ===
        doc.ledger.filter((e: any) => e.type === 'refund').length,
    };
    console.log(`  export: ${result.seconds.toFixed(1)} s, document ${(bytes / MB).toFixed(1)} MB`);
    console.log(
      `  peak RSS of the exporting process: ${result.maxRssMB.toFixed(0)} MB (${result.rssBeforeMB.toFixed(0)} MB before the run)`,
    );
    console.log(`  checks: ${JSON.stringify(checks)}`);
    const ok = Object.values(checks).every(Boolean);
    console.log(
      JSON.stringify({
        entries,
        purchases: doc.purchases.length,
        documentBytes: bytes,
        seconds: Number(result.seconds.toFixed(2)),
        maxRssMB: Number(result.maxRssMB.toFixed(1)),
        rssBeforeMB: Number(result.rssBeforeMB.toFixed(1)),
        ok,
      }),
    );
    if (!ok) process.exitCode = 1;
  } finally {
    await local?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
