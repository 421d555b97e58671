/**
 * `npm run eval:winback [-- --seeds 20] [--customers 2000] [--base 0.20] [--lift 0.06]
 *   [--holdout 0.5] [--window 90]`
 *
 * How well GET /v1/campaigns/{id}/uplift recovers a win-back offer's true effect. Each seed
 * is a synthetic programme on a table of its own, run through the real local API over HTTP:
 * a win-back bonus with a holdout; --customers customers imported with four purchases ten
 * days apart (the last 130 days ago, so the lapse rule holds from 110 days ago); the
 * lapse-scan as of 100 days ago flags them, each assigned to offer or holdout (read from
 * the customer.lapsed events, as a merchant's messaging would); then each customer comes
 * back with a known probability (--base without the offer, --base + --lift with it), on a
 * day drawn uniformly from the --window days after the flag, as a backdated purchase
 * import. The uplift report over --window days is then compared with the truth (--lift).
 *
 * Prints a line per seed, then one JSON line: {"seeds", "customersPerSeed", "truth",
 * "meanReported" (mean of uplift.rate), "coverage" (the share of seeds whose ci95 holds the
 * truth), "meanWidth" (mean interval width)}. Reported, not asserted.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoLocal, startDynamoLocal } from '../../lib/local/dynamo.ts';
import { type LocalApi, startLocalApi } from '../../lib/local/runtime.ts';
import { forgetCachedCampaigns } from '../../lib/store/campaigns.ts';
import { forgetCachedProgram } from '../../lib/store/program.ts';
import { prng } from '../bench/workload.ts';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    customers: { type: 'string', default: '2000' },
    base: { type: 'string', default: '0.20' },
    lift: { type: 'string', default: '0.06' },
    holdout: { type: 'string', default: '0.5' },
    window: { type: 'string', default: '90' },
  },
  strict: true,
});
const SEEDS = Number(args.seeds);
const CUSTOMERS = Number(args.customers);
const BASE = Number(args.base);
const LIFT = Number(args.lift);
const HOLDOUT = Number(args.holdout);
const WINDOW = Number(args.window);
if (
  !Number.isSafeInteger(SEEDS) ||
  SEEDS < 1 ||
  !Number.isSafeInteger(CUSTOMERS) ||
  CUSTOMERS < 60 ||
  !(BASE >= 0 && BASE + LIFT <= 1 && BASE + LIFT >= 0) ||
  !(HOLDOUT > 0 && HOLDOUT <= 0.5) ||
  ![30, 60, 90, 180].includes(WINDOW)
) {
  console.error(
    'eval:winback: --seeds >= 1, --customers >= 60, 0 <= base, base + lift <= 1, 0 < holdout <= 0.5, window 30|60|90|180',
  );
  process.exit(2);
}

const KEY = 'eval-winback-admin-key-0123456789';
const DAY = 86_400_000;
const BATCH = 500;

function client(url: string) {
  return async (method: string, path: string, body?: unknown, idem?: string): Promise<any> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        'x-api-key': KEY,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(idem && { 'idempotency-key': idem }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const answer = await res.json();
    if (res.status >= 300)
      throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
    return answer;
  };
}

/**
 * Sends purchase items in batches, and again those a batch could not apply for the moment
 * (`service-unavailable`: out of time on a busy machine), as `npm run import` does, until
 * every item went in; any other refusal stops the run.
 */
async function importAll(call: ReturnType<typeof client>, items: unknown[], tag: string) {
  let pending = items;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt === 10) throw new Error(`${tag}: ${pending.length} purchases never went in`);
    const again: unknown[] = [];
    for (let i = 0; i < pending.length; i += BATCH) {
      const batch = pending.slice(i, i + BATCH);
      const res = await call(
        'POST',
        '/imports/purchases',
        { items: batch },
        `${tag}-${attempt}-${i}`,
      );
      for (const e of res.errors as { index: number; code: string; detail: string }[]) {
        if (e.code !== 'service-unavailable') throw new Error(`${tag}: ${e.code} ${e.detail}`);
        again.push(batch[e.index]);
      }
    }
    pending = again;
  }
}

interface SeedResult {
  seed: number;
  offer: { lapsed: number; cameBack: number };
  holdout: { lapsed: number; cameBack: number };
  rate: number;
  ci95: [number, number];
  seconds: number;
}

async function runSeed(seed: number, endpoint: string): Promise<SeedResult> {
  const started = performance.now();
  // Who comes back, and when, from a seeded generator. (The customers' ids are ULIDs, so
  // their groups, and the figures, differ a little from one run to the next.)
  const rand = prng(seed * 7_919 + 13);
  forgetCachedCampaigns();
  forgetCachedProgram();
  const table = `eval-winback-${seed}-${Date.now()}`;
  const api: LocalApi = await startLocalApi({
    port: 0,
    dynamoEndpoint: endpoint,
    tableName: table,
    adminKey: KEY,
  });
  try {
    const call = client(`${api.url}/v1`);
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * DAY).toISOString();
    const store = (await call('POST', '/stores', { name: 'Eval' })).id as string;
    const campaign = await call(
      'POST',
      '/campaigns',
      {
        name: 'We miss you',
        type: 'bonus',
        points: 500,
        audience: { status: 'lapsed' },
        holdout: HOLDOUT,
        startsAt: ago(400),
      },
      `campaign-${seed}`,
    );
    const ids: string[] = [];
    for (let i = 0; i < CUSTOMERS; i += BATCH) {
      const items = Array.from({ length: Math.min(BATCH, CUSTOMERS - i) }, (_, k) => ({
        externalId: `s${seed}-c${i + k}`,
      }));
      const res = await call('POST', '/imports/customers', { items }, `customers-${seed}-${i}`);
      ids.push(...res.createdCustomers.map((c: { customerId: string }) => c.customerId));
    }
    const history = ids.flatMap((customerId, i) =>
      [160, 150, 140, 130].map((d) => ({
        customerId,
        storeId: store,
        receiptId: `h-${i}-${d}`,
        occurredAt: ago(d),
        total: { amount: 3_000, currency: 'USD' },
      })),
    );
    await importAll(call, history, `h-${seed}`);
    // Flag as of 100 days ago: every lapse began 110 days ago, so each window has closed.
    for (let run = 0; run < 50; run++) {
      const scan = await call('POST', '/jobs/lapse-scan', { asOf: ago(100) });
      if (scan.complete) break;
    }
    // The groups, as the customer.lapsed events say them.
    const group = new Map<string, { group: string; flaggedAt: number }>();
    let cursor: string | null = null;
    do {
      const page = await call('GET', `/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      for (const e of page.items) {
        if (e.type !== 'customer.lapsed') continue;
        const mine = (e.data.winBack ?? []).find(
          (w: { campaignId: string }) => w.campaignId === campaign.id,
        );
        if (mine)
          group.set(e.customerId, { group: mine.group, flaggedAt: Date.parse(e.data.lapsedAt) });
      }
      cursor = page.nextCursor;
    } while (cursor);
    if (group.size !== ids.length) throw new Error(`${group.size} of ${ids.length} assigned`);
    // Who comes back, and when: the truth.
    const returns = [];
    for (const [i, id] of ids.entries()) {
      const g = group.get(id) as { group: string; flaggedAt: number };
      const p = g.group === 'offer' ? BASE + LIFT : BASE;
      if (rand() >= p) continue;
      const day = 1 + Math.floor(rand() * WINDOW);
      // Inside the day: an hour before its end, so day `day` after the flag it is.
      const at = g.flaggedAt + day * DAY - 3_600_000;
      returns.push({
        customerId: id,
        storeId: store,
        receiptId: `r-${i}`,
        occurredAt: new Date(at).toISOString(),
        total: { amount: 4_500, currency: 'USD' },
      });
    }
    await importAll(call, returns, `r-${seed}`);
    const uplift = await call('GET', `/campaigns/${campaign.id}/uplift?windowDays=${WINDOW}`);
    if (uplift.uplift === null) throw new Error(`seed ${seed}: ${uplift.insufficientData}`);
    return {
      seed,
      offer: { lapsed: uplift.groups.offer.lapsed, cameBack: uplift.groups.offer.cameBack },
      holdout: { lapsed: uplift.groups.holdout.lapsed, cameBack: uplift.groups.holdout.cameBack },
      rate: uplift.uplift.rate,
      ci95: uplift.uplift.ci95,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await api.stop();
    // Each seed's table goes, so DynamoDB Local's memory does not grow seed by seed.
    await new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    })
      .send(new DeleteTableCommand({ TableName: table }))
      .catch(() => undefined);
  }
}

let local: DynamoLocal | undefined;
process.once('SIGINT', () => {
  void local?.stop().finally(() => process.exit(130));
});
try {
  local = await startDynamoLocal();
  console.log(
    `eval:winback: ${SEEDS} seeds of ${CUSTOMERS} lapsed customers, holdout ${HOLDOUT}; ` +
      `return within ${WINDOW} days: ${BASE} without the offer, ${BASE + LIFT} with it (truth ${LIFT})`,
  );
  const results: SeedResult[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = await runSeed(seed, local.endpoint);
    results.push(r);
    const covers = r.ci95[0] <= LIFT && LIFT <= r.ci95[1];
    console.log(
      `seed ${String(seed).padStart(2)}: offer ${r.offer.cameBack}/${r.offer.lapsed}, holdout ` +
        `${r.holdout.cameBack}/${r.holdout.lapsed}, uplift ${r.rate.toFixed(4)} ` +
        `[${r.ci95[0].toFixed(4)}, ${r.ci95[1].toFixed(4)}]${covers ? '' : ' (misses the truth)'} ` +
        `in ${r.seconds.toFixed(0)} s`,
    );
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  console.log(
    JSON.stringify({
      seeds: SEEDS,
      customersPerSeed: CUSTOMERS,
      truth: LIFT,
      meanReported: round(mean(results.map((r) => r.rate))),
      coverage: round(results.filter((r) => r.ci95[0] <= LIFT && LIFT <= r.ci95[1]).length / SEEDS),
      meanWidth: round(mean(results.map((r) => r.ci95[1] - r.ci95[0]))),
    }),
  );
} finally {
  await local?.stop();
}
