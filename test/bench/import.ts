/**
 * `npm run bench:import -- --data CDNOW_master.txt [--concurrency 4]
 *   [--slice 5000] [--limit N]`
 *
 * Imports a CDNOW purchase history into a fresh local API (in-memory DynamoDB Local) the
 * way a merchant would: the file converted to customers.csv and purchases.csv, then
 * `runImport` (what `npm run import` runs) sends them in batches of 500. In the same run,
 * a slice of the history is recorded one purchase at a time through POST /v1/purchases
 * with as many requests in flight as the import has batches in flight, for new customers
 * of their own. Prints purchases/s of both and their ratio, DynamoDB calls and write units
 * per imported purchase, batch latency, then runs lapse-scan and says how many customers
 * it flagged. Its last line is one JSON object with the headline figures.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { cdnowToCsv, noonUtc, type PurchaseRow } from '../../lib/import/cdnow.ts';
import { runImport } from '../../lib/import/runImport.ts';
import { type LocalApi, startLocalApi } from '../../lib/local/runtime.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { account, pad, percentile, pool, round, Usage } from './usage.ts';
import { loadCdnow } from './workload.ts';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    slice: { type: 'string', default: '5000' },
    limit: { type: 'string' },
  },
  strict: true,
});

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`bench:import: --${name} must be a positive integer, got ${text}`);
    process.exit(2);
  }
  return n;
}

if (!args.data) {
  console.error('bench:import: --data CDNOW_master.txt is required');
  process.exit(2);
}
const concurrency = positiveInt('concurrency', args.concurrency) as number;
const sliceSize = positiveInt('slice', args.slice) as number;
const limit = positiveInt('limit', args.limit);

type Phase = 'setup' | 'customers' | 'purchases' | 'oneByOne' | 'lapse';
const usage: Record<Phase, Usage> = {
  setup: new Usage(),
  customers: new Usage(),
  purchases: new Usage(),
  oneByOne: new Usage(),
  lapse: new Usage(),
};
let phase: Phase = 'setup';

const ADMIN_KEY = 'bench-import-admin-key-0123456789abcdef';

async function main(): Promise<number> {
  const started = performance.now();
  const workload = loadCdnow(args.data as string);
  const rows = limit ? workload.rows.slice(0, limit) : workload.rows;
  const customers = new Set(rows.map((r) => r.customer));
  console.log('Import benchmark');
  console.log(
    `  data: ${args.data} (${workload.format}): ${rows.length} purchases of ${customers.size} customers`,
  );
  console.log(
    `  ${concurrency} requests in flight (batches of 500 for the import, single purchases one by one);` +
      ' DynamoDB Local in memory; API in this process',
  );

  const dir = mkdtempSync(join(tmpdir(), 'bench-import-'));
  const unsubscribe = onDynamoCall((command, input, output) =>
    account(usage[phase], command, input, output),
  );
  let api: LocalApi | undefined;
  try {
    api = await startLocalApi({ port: 0, adminKey: ADMIN_KEY });
    const call = async (method: string, path: string, body?: unknown, key?: string) => {
      const t0 = performance.now();
      const response = await fetch(`${api?.url}${path}`, {
        method,
        headers: {
          'x-api-key': ADMIN_KEY,
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(key && { 'idempotency-key': key }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const json: any = await response.json();
      return { status: response.status, body: json, ms: performance.now() - t0 };
    };
    const store = await call('POST', '/v1/stores', { name: 'CDNOW' }, 'bench-store');
    if (store.status !== 201) throw new Error(`POST /v1/stores: ${store.status}`);
    const storeId: string = store.body.id;

    // ------------------------------------------------ DynamoDB Local's own write rate
    // Transactions of 100 small Puts (no index attributes) on the same table: how many items
    // a second DynamoDB Local writes here. First, so that its JVM is as warm for the import
    // as for the one-by-one replay after it.
    // Twice: the first round warms the JVM up, the second is measured.
    const calibration = 6_000;
    let next = 0;
    const writeRate = async (): Promise<number> => {
      const from = next;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < from + calibration) {
            const first = next;
            next += 100;
            await db().send(
              new TransactWriteCommand({
                TransactItems: Array.from({ length: 100 }, (_, i) => ({
                  Put: {
                    TableName: tableName(),
                    Item: { PK: `CALIBRATION#${first + i}`, SK: 'X', padding: 'x'.repeat(300) },
                    ConditionExpression: 'attribute_not_exists(PK)',
                  },
                })),
              }),
            );
          }
        }),
      );
      return calibration / ((performance.now() - started) / 1000);
    };
    await writeRate();
    const ceiling = await writeRate();
    console.log(
      `DynamoDB Local writes ${ceiling.toFixed(0)} items/s here (transactions of 100 small Puts, 4 at a time)`,
    );

    // ------------------------------------------------ the import, as `npm run import` runs it
    const csv = cdnowToCsv({ ...workload, rows });
    writeFileSync(join(dir, 'customers.csv'), csv.customersCsv);
    writeFileSync(join(dir, 'purchases.csv'), csv.purchasesCsv);
    let purchasesStarted = 0;
    let customersSeconds = 0;
    const importStarted = performance.now();
    phase = 'customers';
    // Each batch's latency, and how many were in flight at once, seen from the importer.
    const batchMs: Record<'customers' | 'purchases', number[]> = { customers: [], purchases: [] };
    let inFlight = 0;
    let mostInFlight = 0;
    const timedFetch: typeof fetch = async (input, init) => {
      const kind = String(input).includes('/imports/customers') ? 'customers' : 'purchases';
      const t0 = performance.now();
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight--;
        if (String(input).includes('/imports/')) batchMs[kind].push(performance.now() - t0);
      }
    };
    const summary = await runImport({
      fetch: timedFetch,
      url: api.url,
      key: ADMIN_KEY,
      customersFile: join(dir, 'customers.csv'),
      purchasesFile: join(dir, 'purchases.csv'),
      storeId,
      concurrency,
      rejectedFile: join(dir, 'rejected.csv'),
      onProgress: (p) => {
        if (p.phase === 'purchases' && phase === 'customers') {
          phase = 'purchases';
          purchasesStarted = performance.now();
          customersSeconds = (purchasesStarted - importStarted) / 1000;
        }
      },
    });
    const importSeconds = (performance.now() - purchasesStarted) / 1000;
    phase = 'setup';
    const imported = summary.purchases.imported;
    console.log(
      `customers: ${summary.customers.created} created in ${customersSeconds.toFixed(1)} s` +
        ` (${(summary.customers.created / customersSeconds).toFixed(0)}/s), rejected ${summary.customers.rejected}`,
    );
    console.log(
      `purchases imported: ${imported} in ${importSeconds.toFixed(1)} s` +
        ` = ${(imported / importSeconds).toFixed(1)} purchases/s; duplicates ${summary.purchases.duplicates},` +
        ` rejected ${summary.purchases.rejected}`,
    );

    // ------------------------------------------------ a slice one by one, for new customers
    const slice: PurchaseRow[] = rows.slice(0, sliceSize);
    const sliceCustomers = [...new Set(slice.map((r) => r.customer))];
    const ids = new Map<string, string>();
    for (let i = 0; i < sliceCustomers.length; i += 500) {
      const chunk = sliceCustomers.slice(i, i + 500);
      const enrolled = await call(
        'POST',
        '/v1/imports/customers',
        { items: chunk.map((c) => ({ externalId: `one-by-one-${c}` })) },
        `bench-one-by-one-customers-${i}`,
      );
      if (enrolled.status !== 200) throw new Error(`one-by-one customers: ${enrolled.status}`);
      for (const c of enrolled.body.createdCustomers)
        ids.set(chunk[c.index] as string, c.customerId);
    }
    const byCustomer = new Map<string, PurchaseRow[]>();
    for (const r of slice) byCustomer.set(r.customer, [...(byCustomer.get(r.customer) ?? []), r]);
    const latencies: number[] = [];
    let failed = 0;
    phase = 'oneByOne';
    const oneStarted = performance.now();
    await pool([...byCustomer.entries()], concurrency, async ([customer, list]) => {
      for (const r of list) {
        const answer = await call(
          'POST',
          '/v1/purchases',
          {
            customerId: ids.get(customer),
            storeId,
            receiptId: `one-by-one-${r.index}`,
            occurredAt: noonUtc(r.date),
            total: { amount: r.cents, currency: 'USD' },
          },
          `bench-one-by-one-${r.index}`,
        );
        latencies.push(answer.ms);
        if (answer.status !== 201) failed++;
      }
    });
    const oneSeconds = (performance.now() - oneStarted) / 1000;
    phase = 'setup';
    const onePerSecond = slice.length / oneSeconds;
    console.log(
      `one by one: ${slice.length} purchases in ${oneSeconds.toFixed(1)} s = ${onePerSecond.toFixed(1)} purchases/s` +
        ` (p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms), failed ${failed}`,
    );

    // ------------------------------------------------ lapse-scan straight after
    phase = 'lapse';
    let flagged = 0;
    let runs = 0;
    const lapseStarted = performance.now();
    for (let complete = false; !complete && runs < 50; runs++) {
      const run = await call('POST', '/v1/jobs/lapse-scan', {}, `bench-lapse-${runs}`);
      if (run.status !== 200)
        throw new Error(`lapse-scan: ${run.status} ${JSON.stringify(run.body)}`);
      flagged += run.body.flagged ?? 0;
      complete = run.body.complete !== false;
    }
    const lapseSeconds = (performance.now() - lapseStarted) / 1000;
    phase = 'setup';
    const lapsed = await call('GET', '/v1/lapsed-customers?limit=5');

    // ------------------------------------------------ report
    const importPerSecond = imported / importSeconds;
    const ratio = importPerSecond / onePerSecond;
    const p = usage.purchases;
    const o = usage.oneByOne;
    console.log('');
    console.log('                                 import   one by one');
    console.log(
      `  purchases/s                ${pad(importPerSecond.toFixed(1), 10)}${pad(onePerSecond.toFixed(1), 13)}`,
    );
    console.log(
      `  DynamoDB calls / purchase  ${pad((p.totalCalls / imported).toFixed(3), 10)}${pad((o.totalCalls / slice.length).toFixed(3), 13)}`,
    );
    console.log(
      `  WCU / purchase             ${pad((p.wcu / imported).toFixed(2), 10)}${pad((o.wcu / slice.length).toFixed(2), 13)}`,
    );
    console.log(
      `  RCU / purchase             ${pad((p.rcu / imported).toFixed(2), 10)}${pad((o.rcu / slice.length).toFixed(2), 13)}`,
    );
    console.log(
      `  items written / s           ${pad((p.itemsWritten / importSeconds).toFixed(0), 10)}${pad((o.itemsWritten / oneSeconds).toFixed(0), 13)}`,
    );
    console.log(
      `  items written / purchase    ${pad((p.itemsWritten / imported).toFixed(2), 10)}${pad((o.itemsWritten / slice.length).toFixed(2), 13)}`,
    );
    console.log(`  ratio (import / one by one): ${ratio.toFixed(1)}x`);
    console.log(
      `  DynamoDB Local's own rate (measured first): ${ceiling.toFixed(0)} items/s in transactions of 100 plain Puts` +
        ` (the import writes at ${((100 * p.itemsWritten) / importSeconds / ceiling).toFixed(0)}% of it)`,
    );
    console.log('');
    console.log('latency (ms)                     p50      p95      max        n');
    for (const [name, samples] of [
      ['customers batch (500)', batchMs.customers],
      ['purchases batch (500)', batchMs.purchases],
      ['POST /v1/purchases', latencies],
    ] as const) {
      console.log(
        `  ${name.padEnd(28)}${[50, 95, 100].map((q) => pad(percentile(samples, q).toFixed(1), 9)).join('')}${pad(samples.length, 9)}`,
      );
    }
    console.log(`  (at most ${mostInFlight} import requests were in flight at once)`);
    console.log('');
    console.log('DynamoDB calls during the purchase import, per imported purchase:');
    for (const [name, count] of [...p.calls].sort((a, b) => b[1] - a[1])) {
      console.log(`  ${name.padEnd(36)}${pad((count / imported).toFixed(4), 9)}   (${count})`);
    }
    console.log(
      '  WCU: each Put in a transaction costs 2 x ceil(size / 1 KB), an Update 2 (size unseen);' +
        ' reads ceil(size / 4 KB) per item (see npm run bench for the rules)',
    );
    console.log(
      `lapse-scan straight after: ${flagged} customers flagged in ${runs} run(s), ${lapseSeconds.toFixed(1)} s` +
        ` (${usage.lapse.totalCalls} DynamoDB calls); GET /v1/lapsed-customers answers ${lapsed.status}`,
    );
    console.log(`total run time ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(
      JSON.stringify({
        imported,
        customers: summary.customers.created,
        importPurchasesPerSecond: round(importPerSecond, 1),
        oneByOnePurchasesPerSecond: round(onePerSecond, 1),
        ratio: round(ratio, 2),
        ddbCallsPerImportedPurchase: round(p.totalCalls / imported, 4),
        wcuPerImportedPurchase: round(p.wcu / imported, 3),
        wcuPerPurchaseOneByOne: round(o.wcu / slice.length, 3),
        flagged,
        itemsWrittenPerSecond: round(p.itemsWritten / importSeconds, 0),
        dynamoLocalItemsPerSecond: round(ceiling, 0),
        concurrency,
        slice: slice.length,
        data: args.data,
      }),
    );
    const ok =
      summary.purchases.rejected === 0 &&
      failed === 0 &&
      imported + summary.purchases.duplicates === rows.length;
    return ok ? 0 : 1;
  } finally {
    unsubscribe();
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(
      `bench:import: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
    );
    process.exitCode = 1;
  },
);
