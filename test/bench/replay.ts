/**
 * `npm run bench [-- --data FILE] [--concurrency N] [--limit N] [--seed N] [--customers N] [--single N]`
 *
 * Replays CDNOW purchases (or a seeded synthetic workload of the same shape) through the
 * local HTTP API over an in-memory DynamoDB Local: creates a store, enrols every customer,
 * records every purchase (a customer's purchases in file order, customers concurrently),
 * then reads customers back and checks their balances against their ledgers. Prints
 * throughput, latency per route, DynamoDB calls and capacity units per purchase (computed
 * from item sizes: DynamoDB Local does not charge like DynamoDB), and as its last line one
 * JSON object with the headline figures. Then --single purchases (default 300) one at a
 * time, each followed by the floor a purchase has on DynamoDB (a consistent read of the
 * customer and a three-Put transaction, made directly), and their p50s and ratio. Exits
 * non-zero on any failed purchase or mismatch.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalApi, startLocalApi } from '../../lib/local/runtime.ts';
import { db, onDynamoCall, tableName } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import { account, label, pad, percentile, pool, round, sampleOf, Usage } from './usage.ts';
import { loadCdnow, noonUtc, type PurchaseRow, synthetic, type Workload } from './workload.ts';

// ---------------------------------------------------------------- arguments

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    limit: { type: 'string' },
    seed: { type: 'string', default: '42' },
    customers: { type: 'string', default: '2000' },
    'get-sample': { type: 'string', default: '200' },
    /** Purchases timed one at a time beside the floor. */
    single: { type: 'string', default: '300' },
    'verify-all-below': { type: 'string', default: '3000' },
    /** Active campaigns during the replay (0 to 3): double points, a basket bonus, a welcome bonus. */
    campaigns: { type: 'string', default: '0' },
  },
  strict: true,
});

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`bench: --${name} must be a positive integer, got ${text}`);
    process.exit(2);
  }
  return n;
}

const concurrency = positiveInt('concurrency', args.concurrency) as number;
const limit = positiveInt('limit', args.limit);
const seed = positiveInt('seed', args.seed) as number;
const syntheticCustomers = positiveInt('customers', args.customers) as number;
const campaignCount = Number(args.campaigns);
const SINGLE = positiveInt('single', args.single) as number;
if (![0, 1, 2, 3].includes(campaignCount)) {
  console.error(`bench: --campaigns must be 0, 1, 2 or 3, got ${args.campaigns}`);
  process.exit(2);
}

/**
 * The campaigns of an `--campaigns N` run, running since before CDNOW's first purchase
 * (1997) and matching every purchase (CDNOW has no lines): each purchase reads a marker
 * per campaign and writes the counts of those that add points.
 */
const BENCH_CAMPAIGNS = [
  { name: 'Double points', type: 'multiplier', multiplier: 2 },
  { name: 'Big basket', type: 'bonus', points: 25, minSpend: { amount: 5_000, currency: 'USD' } },
  { name: 'Welcome', type: 'bonus', points: 100, firstPurchaseOnly: true },
].map((c) => ({ ...c, startsAt: '1996-01-01T00:00:00Z' }));
const getSample = positiveInt('get-sample', args['get-sample']) as number;
const verifyAllBelow = positiveInt('verify-all-below', args['verify-all-below']) as number;

// ---------------------------------------------------------------- helpers

// ---------------------------------------------------------------- the run

type Phase =
  | 'setup'
  | 'enrol'
  | 'purchase'
  | 'getCustomer'
  | 'verify'
  | 'redeemSetup'
  | 'redeem'
  | 'single'
  | 'floor';
const usage: Record<Phase, Usage> = {
  single: new Usage(),
  setup: new Usage(),
  enrol: new Usage(),
  purchase: new Usage(),
  getCustomer: new Usage(),
  verify: new Usage(),
  redeemSetup: new Usage(),
  redeem: new Usage(),
  floor: new Usage(),
};
let phase: Phase = 'setup';

interface Answer {
  status: number;
  body: any;
  ms: number;
}

async function main(): Promise<number> {
  const started = performance.now();
  const workload: Workload = args.data
    ? loadCdnow(args.data)
    : synthetic({ customers: syntheticCustomers, seed });
  const rows: PurchaseRow[] = limit ? workload.rows.slice(0, limit) : workload.rows;
  if (rows.length === 0) throw new Error('no purchases to replay');
  const dataLabel = args.data ?? `synthetic(seed=${seed},customers=${syntheticCustomers})`;

  const byCustomer = new Map<string, PurchaseRow[]>();
  for (const row of rows) {
    const list = byCustomer.get(row.customer) ?? [];
    list.push(row);
    byCustomer.set(row.customer, list);
  }
  const externalIds = [...byCustomer.keys()];
  const dates = rows.map((r) => r.date).sort();
  const totalCents = rows.reduce((s, r) => s + r.cents, 0);

  console.log('Loyalty API replay benchmark');
  console.log(
    `  data: ${dataLabel} (${workload.format} layout): ${rows.length} purchases` +
      `${limit && workload.rows.length > rows.length ? ` (of ${workload.rows.length}, --limit)` : ''}` +
      `, ${externalIds.length} customers, ${dates[0] ?? '-'}..${dates.at(-1) ?? '-'}` +
      `, $${(totalCents / 100).toFixed(2)} in total`,
  );
  console.log(`  concurrency ${concurrency}; DynamoDB Local in memory; API in this process`);
  console.log(
    `  active campaigns: ${campaignCount}` +
      (campaignCount > 0
        ? ` (${BENCH_CAMPAIGNS.slice(0, campaignCount)
            .map((c) => c.name)
            .join(', ')})`
        : ''),
  );

  const adminKey = `bench_${randomBytes(24).toString('base64url')}`;
  const unsubscribe = onDynamoCall((command, input, output) =>
    account(usage[phase], command, input, output),
  );
  let api: LocalApi | undefined;
  const stopApi = async () => {
    const running = api;
    api = undefined;
    unsubscribe();
    await running?.stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`bench: ${signal}, stopping`);
    stopApi().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    api = await startLocalApi({ port: 0, adminKey });
    const base = api.url;
    // Times every DynamoDB call the handlers make (same client; lib/ is not changed).
    db().middlewareStack.add(
      (next, context) => async (input) => {
        const u = usage[phase];
        const name = label(context.commandName ?? 'unknown', input.input);
        const start = performance.now();
        try {
          return await next(input);
        } finally {
          const list = u.ms.get(name) ?? [];
          list.push(performance.now() - start);
          u.ms.set(name, list);
        }
      },
      { step: 'initialize', name: 'benchCallTiming' },
    );
    console.log(
      `setup: API and DynamoDB Local up in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const call = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Answer> => {
      const start = performance.now();
      try {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: {
            'x-api-key': adminKey,
            ...(body !== undefined && { 'content-type': 'application/json' }),
            ...headers,
          },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        const ms = performance.now() - start;
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {}
        return { status: response.status, body: parsed, ms };
      } catch (error) {
        return { status: 0, body: { detail: String(error) }, ms: performance.now() - start };
      }
    };
    const must = (what: string, answer: Answer, status: number) => {
      if (answer.status !== status)
        throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    };

    const program = must('GET /v1/program', await call('GET', '/v1/program'), 200);
    const currency: string = program.currency;
    const store = must(
      'POST /v1/stores',
      await call(
        'POST',
        '/v1/stores',
        { name: 'CDNOW (bench)' },
        { 'idempotency-key': 'bench-store' },
      ),
      201,
    );
    const runTag = randomBytes(6).toString('hex');
    for (const [i, c] of BENCH_CAMPAIGNS.slice(0, campaignCount).entries()) {
      must(
        'POST /v1/campaigns',
        await call('POST', '/v1/campaigns', c, { 'idempotency-key': `bench-campaign-${i}` }),
        201,
      );
    }

    // ------------------------------------------------ enrol
    phase = 'enrol';
    const latency = {
      enrol: [] as number[],
      purchase: [] as number[],
      getCustomer: [] as number[],
      authorize: [] as number[],
      capture: [] as number[],
      single: [] as number[],
      floor: [] as number[],
    };
    const customerIds = new Map<string, string>();
    const enrolFailures: string[] = [];
    let t = performance.now();
    await pool(externalIds, concurrency, async (externalId) => {
      const answer = await call(
        'POST',
        '/v1/customers',
        { externalId },
        {
          'idempotency-key': `bench-${runTag}-enrol-${externalId}`,
        },
      );
      latency.enrol.push(answer.ms);
      if (answer.status === 201) customerIds.set(externalId, answer.body.id);
      else
        enrolFailures.push(`${externalId}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    });
    const enrolSeconds = (performance.now() - t) / 1000;
    console.log(
      `enrol: ${externalIds.length} customers in ${enrolSeconds.toFixed(1)} s` +
        ` (${(externalIds.length / enrolSeconds).toFixed(0)}/s), failures: ${enrolFailures.length}`,
    );
    if (enrolFailures.length > 0) {
      for (const f of enrolFailures.slice(0, 10)) console.log(`  ${f}`);
      throw new Error('enrolment failed; not replaying purchases');
    }

    // ------------------------------------------------ purchases
    // Customers with the most purchases first, so the tail does not run on one worker.
    const queues = [...byCustomer.entries()].sort((a, b) => b[1].length - a[1].length);
    const earned = new Map<string, number>();
    const recorded = new Map<string, number>();
    const failures: string[] = [];
    const statusCounts = new Map<number, number>();
    let done = 0;
    const step = Math.max(1, Math.round(rows.length / 10));
    phase = 'purchase';
    t = performance.now();
    await pool(queues, concurrency, async ([externalId, list]) => {
      const customerId = customerIds.get(externalId) as string;
      for (const row of list) {
        const answer = await call(
          'POST',
          '/v1/purchases',
          {
            customerId,
            storeId: store.id,
            total: { amount: row.cents, currency },
            occurredAt: noonUtc(row.date),
            receiptId: `${workload.format}-${row.index + 1}`,
          },
          { 'idempotency-key': `bench-${runTag}-${row.index}` },
        );
        latency.purchase.push(answer.ms);
        statusCounts.set(answer.status, (statusCounts.get(answer.status) ?? 0) + 1);
        if (answer.status === 201) {
          earned.set(externalId, (earned.get(externalId) ?? 0) + answer.body.pointsEarned);
          recorded.set(externalId, (recorded.get(externalId) ?? 0) + 1);
        } else {
          failures.push(
            `line ${row.index + 1} (customer ${externalId}): HTTP ${answer.status} ${JSON.stringify(answer.body)}`,
          );
        }
        if (++done % step === 0) console.error(`  ... ${done}/${rows.length} purchases`);
      }
    });
    const purchaseSeconds = (performance.now() - t) / 1000;
    phase = 'getCustomer';
    const perSecond = rows.length / purchaseSeconds;
    console.log(
      `purchases: ${rows.length} in ${purchaseSeconds.toFixed(1)} s = ${perSecond.toFixed(1)} purchases/s;` +
        ` status ${[...statusCounts].map(([s, n]) => `${s} x${n}`).join(', ')}`,
    );
    for (const f of failures.slice(0, 10)) console.log(`  FAILED ${f}`);

    // ------------------------------------------------ GET /v1/customers/{id}
    const getSampleIds = sampleOf(externalIds, getSample, seed + 1);
    await pool(getSampleIds, concurrency, async (externalId) => {
      const answer = await call('GET', `/v1/customers/${customerIds.get(externalId)}`);
      latency.getCustomer.push(answer.ms);
      if (answer.status !== 200) failures.push(`GET customer ${externalId}: HTTP ${answer.status}`);
    });

    // ------------------------------------------------ verification
    phase = 'verify';
    const toVerify =
      externalIds.length < verifyAllBelow
        ? externalIds
        : sampleOf(externalIds, verifyAllBelow, seed + 2);
    const mismatches: string[] = [];
    let ledgerPages = 0;
    t = performance.now();
    await pool(toVerify, concurrency, async (externalId) => {
      const id = customerIds.get(externalId) as string;
      const customer = await call('GET', `/v1/customers/${id}`);
      if (customer.status !== 200) {
        mismatches.push(`${externalId}: GET customer HTTP ${customer.status}`);
        return;
      }
      let ledgerSum = 0;
      let entries = 0;
      let cursor: string | null = null;
      do {
        const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await call('GET', `/v1/customers/${id}/activity?${query}`);
        ledgerPages++;
        if (page.status !== 200) {
          mismatches.push(
            `${externalId}: activity HTTP ${page.status} ${JSON.stringify(page.body)}`,
          );
          return;
        }
        for (const entry of page.body.items) {
          ledgerSum += entry.points;
          entries++;
        }
        cursor = page.body.nextCursor;
      } while (cursor);
      const { available, lifetimeEarned } = customer.body.points;
      const expected = earned.get(externalId) ?? 0;
      const count = recorded.get(externalId) ?? 0;
      if (
        available !== ledgerSum ||
        available !== expected ||
        lifetimeEarned !== expected ||
        entries !== count
      ) {
        mismatches.push(
          `${externalId} (${id}): available ${available}, ledger sum ${ledgerSum} over ${entries} entries,` +
            ` pointsEarned sum ${expected} over ${count} purchases, lifetimeEarned ${lifetimeEarned}`,
        );
      }
    });
    const verifySeconds = (performance.now() - t) / 1000;

    // ------------------------------------------------ redemptions (authorize + capture)
    // After the verification above, which expects balances made of purchases only. Each
    // sampled customer with points gets a token and a code (not measured), then a till
    // authorizes up to 5.00 of points as cash and captures it.
    phase = 'redeemSetup';
    const redeemers: { id: string; code: string; amount: number; available: number }[] = [];
    await pool(sampleOf(externalIds, getSample, seed + 3), concurrency, async (externalId) => {
      const id = customerIds.get(externalId) as string;
      const customer = await call('GET', `/v1/customers/${id}`);
      const available: number = customer.body?.points?.available ?? 0;
      const amount = Math.min(
        500,
        Math.floor((available * program.cashValue.amount) / program.cashValue.points),
      );
      if (amount < 1) return;
      const { token } = must(
        'session token',
        await call('POST', `/v1/customers/${id}/session-tokens`),
        201,
      );
      const { code } = must(
        'redemption code',
        await call('POST', '/v1/me/redemption-codes', undefined, {
          'x-api-key': '',
          authorization: `Bearer ${token}`,
        }),
        201,
      );
      redeemers.push({ id, code, amount, available });
    });
    phase = 'redeem';
    const redeemStarted = performance.now();
    await pool(redeemers, concurrency, async (r) => {
      const auth = await call(
        'POST',
        '/v1/redemptions',
        { code: r.code, amount: { amount: r.amount, currency }, storeId: store.id },
        { 'idempotency-key': `bench-auth-${runTag}-${r.id}` },
      );
      latency.authorize.push(auth.ms);
      if (auth.status !== 201) {
        failures.push(`authorize ${r.id}: HTTP ${auth.status} ${JSON.stringify(auth.body)}`);
        return;
      }
      const cap = await call('POST', `/v1/redemptions/${auth.body.id}/capture`, undefined, {
        'idempotency-key': `bench-cap-${runTag}-${r.id}`,
      });
      latency.capture.push(cap.ms);
      if (cap.status !== 200) failures.push(`capture ${r.id}: HTTP ${cap.status}`);
    });
    const redeemSeconds = (performance.now() - redeemStarted) / 1000;
    phase = 'verify';
    await pool(redeemers, concurrency, async (r) => {
      const after = await call('GET', `/v1/customers/${r.id}`);
      const needed = Math.ceil((r.amount * program.cashValue.points) / program.cashValue.amount);
      if (after.body.points.available !== r.available - needed || after.body.points.held !== 0) {
        mismatches.push(
          `${r.id}: after redeeming ${needed} of ${r.available}: ${JSON.stringify(after.body.points)}`,
        );
      }
    });

    // ------------------------------------------------ one at a time, beside the floor
    // SINGLE purchases at concurrency 1 through the API, each followed by what a purchase
    // needs of DynamoDB at the least, made directly against the same DynamoDB Local: a
    // consistent read of the customer and one transaction of three Puts (the customer on
    // its version, a ledger entry, a receipt guard). Alternating, so both see the same
    // machine. The floor works on copies of the customers under keys of their own.
    phase = 'single';
    const singles = sampleOf(externalIds, Math.min(SINGLE, externalIds.length), seed + 4);
    const lastDate = new Map<string, string>();
    for (const row of rows) {
      const seen = lastDate.get(row.customer);
      if (seen === undefined || row.date > seen) lastDate.set(row.customer, row.date);
    }
    const floorKey = (i: number) => ({ PK: `BENCHFLOOR#${runTag}#${i}`, SK: 'PROFILE' });
    // The floor's customers: copies of the API's (set up outside both measures).
    phase = 'setup';
    for (const [i, externalId] of singles.entries()) {
      const { Item } = await db().send(
        new GetCommand({
          TableName: tableName(),
          Key: keys.customer(customerIds.get(externalId) as string),
        }),
      );
      await db().send(
        new PutCommand({ TableName: tableName(), Item: { ...Item, ...floorKey(i) } }),
      );
    }
    phase = 'single';
    for (const [i, externalId] of singles.entries()) {
      // The day after their last purchase: an ordinary purchase, no lapse to count.
      const day = new Date(Date.parse(noonUtc(lastDate.get(externalId) as string)) + 86_400_000);
      const answer = await call(
        'POST',
        '/v1/purchases',
        {
          customerId: customerIds.get(externalId),
          storeId: store.id,
          total: { amount: 1_999, currency },
          occurredAt: day.toISOString(),
          receiptId: `single-${runTag}-${i}`,
        },
        { 'idempotency-key': `bench-single-${runTag}-${i}` },
      );
      latency.single.push(answer.ms);
      if (answer.status !== 201) failures.push(`single purchase ${i}: HTTP ${answer.status}`);
      phase = 'floor';
      const start = performance.now();
      const { Item } = await db().send(
        new GetCommand({ TableName: tableName(), Key: floorKey(i), ConsistentRead: true }),
      );
      const version = (Item?.version as number) ?? 0;
      await db().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: tableName(),
                Item: { ...Item, version: version + 1 },
                ConditionExpression: 'version = :v',
                ExpressionAttributeValues: { ':v': version },
              },
            },
            {
              Put: {
                TableName: tableName(),
                Item: {
                  PK: floorKey(i).PK,
                  SK: `LEDGER#${version + 1}`,
                  type: 'earn',
                  points: 19,
                  balanceAfter: 19,
                  at: new Date().toISOString(),
                  purchaseId: `pur_${runTag}_${i}`,
                },
              },
            },
            {
              Put: {
                TableName: tableName(),
                Item: { PK: `BENCHRCPT#${runTag}#${i}`, SK: 'RECEIPT', purchaseId: `pur_${i}` },
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
          ],
        }),
      );
      latency.floor.push(performance.now() - start);
      phase = 'single';
    }
    await stopApi();

    // ------------------------------------------------ report
    const p = usage.purchase;
    const n = rows.length;
    console.log('');
    console.log('latency (ms)        p50      p95      p99      max        n');
    for (const [route, samples] of [
      ['enrol', latency.enrol],
      ['purchase', latency.purchase],
      ['getCustomer', latency.getCustomer],
      ['authorize', latency.authorize],
      ['capture', latency.capture],
    ] as const) {
      console.log(
        `  ${route.padEnd(14)}${[50, 95, 99, 100].map((q) => pad(percentile(samples, q).toFixed(1), 9)).join('')}${pad(samples.length, 9)}`,
      );
    }
    console.log('  (enrol = POST /v1/customers, purchase = POST /v1/purchases,');
    console.log(
      `   getCustomer = GET /v1/customers/{id} on ${latency.getCustomer.length} customers after the replay)`,
    );

    console.log('');
    console.log(
      `DynamoDB calls per purchase (every call the handlers made during the purchase phase / ${n} purchases):`,
    );
    for (const [name, count] of [...p.calls].sort((a, b) => b[1] - a[1]))
      console.log(`  ${name.padEnd(32)}${pad((count / n).toFixed(3), 8)}   (${count})`);
    console.log(
      `  ${'total'.padEnd(32)}${pad((p.totalCalls / n).toFixed(3), 8)}   (${p.totalCalls})`,
    );
    const authorizerCalls = p.calls.get('GetItem (api key, authorizer)') ?? 0;
    console.log(
      `  (${((p.totalCalls - authorizerCalls) / n).toFixed(3)} without the authorizer's key lookup,` +
        ' which API Gateway caches per key in AWS)',
    );
    console.log(
      '  time per DynamoDB call in the purchase phase (ms):   p50      p95  sum/purchase',
    );
    for (const [name, samples] of p.ms) {
      const sum = samples.reduce((a, b) => a + b, 0);
      console.log(
        `  ${name.padEnd(48)}${pad(percentile(samples, 50).toFixed(1), 9)}${pad(percentile(samples, 95).toFixed(1), 9)}${pad((sum / n).toFixed(1), 14)}`,
      );
    }
    console.log(
      `  SDK-retried calls: ${p.retriedCalls}. Failed calls (a lost conditional write, a` +
        ' cancelled transaction) are counted too: optimistic retries show up as extra calls.',
    );
    for (const [ph, count] of [
      ['enrol', externalIds.length],
      ['getCustomer', latency.getCustomer.length],
    ] as const) {
      const u = usage[ph];
      console.log(
        `  per ${ph} request: ${(u.totalCalls / count).toFixed(2)} calls (${[...u.calls]
          .map(([k, v]) => `${k} ${(v / count).toFixed(2)}`)
          .join(', ')}), ${(u.wcu / count).toFixed(2)} WCU, ${(u.rcu / count).toFixed(2)} RCU`,
      );
    }

    const wcuPerPurchase = p.wcu / n;
    const rcuPerPurchase = p.rcu / n;
    console.log('');
    console.log(
      'Capacity units per purchase, computed from item sizes (DynamoDB Local does not charge):',
    );
    console.log(
      `  WCU ${wcuPerPurchase.toFixed(3)} (of which index entries ${(p.indexWcu / n).toFixed(3)}:` +
        ` ${[...p.indexWcuByIndex].map(([name, u]) => `${name} ${(u / n).toFixed(3)}`).join(', ')})` +
        `   RCU ${rcuPerPurchase.toFixed(3)}`,
    );
    console.log(
      '  rules: item size = sum of attribute name UTF-8 bytes + value sizes (string: UTF-8 bytes;',
    );
    console.log(
      '    number: ceil(significant digits / 2) + 1; boolean, null: 1; map, list: 3 + elements + 1',
    );
    console.log(
      '    per element; binary: bytes). Each Put in TransactWriteItems = 2 x ceil(size / 1 KB) WCU',
    );
    console.log(
      '    (transactional writes cost twice a standard write). The conditional Put that replaces',
    );
    console.log(
      '    the customer item is charged by the bigger of old and new size; the new size is used',
    );
    console.log('    here, a fine approximation since the item only grows slightly per purchase.');
    console.log(
      '    PutItem = ceil(size / 1 KB); writes whose size is unseen (Update/Delete/ConditionCheck)',
    );
    console.log(`    are charged the minimum (${p.unsizedWrites} in this phase).`);
    console.log(
      '    Index entries: per global secondary index, 0 when a Put leaves its entry as it was,',
    );
    console.log(
      '    ceil(entry size / 1 KB) when it adds, removes or rewrites one, twice that when its key moves.',
    );
    console.log(
      '    Reads = ceil(size / 4 KB) per item, at least 1 per key requested (missing items too);',
    );
    console.log(
      '    consistent reads (the BatchGetItem) count 1, eventually consistent reads (GetItem of',
    );
    console.log(
      '    the api key and, every 30 s, the program) 0.5; Query = ceil(sum of sizes / 4 KB).',
    );
    console.log('');
    console.log("Item sizes from the purchase phase's Puts (bytes):");
    console.log('  type              count      avg      max');
    for (const type of [
      'customer',
      'purchase',
      'ledger',
      'idempotency',
      'receipt',
      ...p.sizes.keys(),
    ]) {
      const s = p.sizes.get(type);
      if (!s) continue;
      p.sizes.delete(type);
      console.log(
        `  ${type.padEnd(14)}${pad(s.count, 9)}${pad((s.total / s.count).toFixed(0), 9)}${pad(s.max, 9)}`,
      );
    }

    console.log('');
    const rd = usage.redeem;
    const redemptions = latency.capture.length;
    console.log(
      `redemptions: ${redemptions} authorize + capture pairs in ${redeemSeconds.toFixed(1)} s;` +
        ` DynamoDB calls per redemption (both calls) ${(rd.totalCalls / Math.max(1, redemptions)).toFixed(2)}` +
        ` (${[...rd.calls].map(([k, v]) => `${k} ${(v / Math.max(1, redemptions)).toFixed(2)}`).join(', ')}),` +
        ` ${(rd.wcu / Math.max(1, redemptions)).toFixed(1)} WCU, ${(rd.rcu / Math.max(1, redemptions)).toFixed(1)} RCU`,
    );
    const ok = failures.length === 0 && mismatches.length === 0;
    console.log(
      `verification: ${toVerify.length} of ${externalIds.length} customers checked in ${verifySeconds.toFixed(1)} s` +
        ` (${ledgerPages} activity pages): available points == sum of ledger points == sum of` +
        ` pointsEarned returned by their purchases (and lifetimeEarned; one ledger entry per purchase)`,
    );
    for (const m of mismatches.slice(0, 10)) console.log(`  MISMATCH ${m}`);
    console.log(
      ok
        ? 'verification: OK'
        : `verification: FAILED (${failures.length} failed requests, ${mismatches.length} mismatched customers)`,
    );
    const singleP50 = percentile(latency.single, 50);
    const floorP50 = percentile(latency.floor, 50);
    console.log(
      `one at a time: ${latency.single.length} purchases through the API, p50 ${singleP50.toFixed(1)} ms;` +
        ` the floor (a consistent GetItem of the customer and a TransactWriteItems of the customer,` +
        ` a ledger entry and a receipt guard, made directly, alternating with them) p50 ${floorP50.toFixed(1)} ms;` +
        ` ratio ${(singleP50 / floorP50).toFixed(2)}x`,
    );
    // Where the time goes, on average: in each kind of DynamoDB call, and the rest (the API's
    // own work and HTTP for the API; nothing much for the floor).
    for (const [name, u, samples] of [
      ['  the API', usage.single, latency.single],
      ['  the floor', usage.floor, latency.floor],
    ] as const) {
      const n = samples.length;
      const mean = samples.reduce((a, b) => a + b, 0) / n;
      const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
      const calls = [...u.ms].map(([k, v]) => `${k} ${(sum(v) / n).toFixed(2)}`);
      const inCalls = [...u.ms.values()].reduce((total, v) => total + sum(v) / n, 0);
      console.log(
        `${name}: mean ${mean.toFixed(1)} ms, of which in DynamoDB calls (ms per purchase): ${calls.join(', ')}; the rest ${(mean - inCalls).toFixed(1)} ms`,
      );
    }
    console.log(`total run time ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const pct = (q: number) => ({
      enrol: round(percentile(latency.enrol, q), 1),
      purchase: round(percentile(latency.purchase, q), 1),
      getCustomer: round(percentile(latency.getCustomer, q), 1),
      authorize: round(percentile(latency.authorize, q), 1),
      capture: round(percentile(latency.capture, q), 1),
    });
    console.log(
      JSON.stringify({
        purchases: n,
        purchasesPerSecond: round(perSecond, 1),
        p50Ms: pct(50),
        p95Ms: pct(95),
        p99Ms: pct(99),
        singlePurchaseP50Ms: round(singleP50, 1),
        floorP50Ms: round(floorP50, 1),
        floorRatio: round(singleP50 / floorP50, 2),
        ddbCallsPerPurchase: round(p.totalCalls / n, 3),
        wcuPerPurchase: round(wcuPerPurchase, 3),
        indexWcuPerPurchase: round(p.indexWcu / n, 3),
        rcuPerPurchase: round(rcuPerPurchase, 3),
        redemptions,
        ddbCallsPerRedemption: round(rd.totalCalls / Math.max(1, redemptions), 3),
        concurrency,
        campaigns: campaignCount,
        data: dataLabel,
      }),
    );
    return ok ? 0 : 1;
  } finally {
    await stopApi();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
    process.exitCode = 1;
  },
);
