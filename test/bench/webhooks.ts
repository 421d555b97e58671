/**
 * `npm run bench:webhooks [-- --events N] [--rate R] [--every S] [--slow-ms MS]`
 *
 * Webhooks under load, on an in-memory DynamoDB Local with real HTTP receivers on
 * loopback. Writes N outbox events (default 6,000: a minute at 100 a second) at R a second
 * while the delivery job runs every S seconds (default 60, as scheduled in AWS, each run
 * with the 55 s it gets there), and prints, for a fast receiver (answers at once), the
 * time from each event to its first attempt (p50, p95, max) and the sends a second. Twice:
 * the fast endpoint alone, then a fresh fast endpoint beside a slow one (each answer after
 * --slow-ms, default 5,000), whose backlog must not hold up the fast one's first attempts.
 * Event times are when their write was sent; an attempt's is when the receiver read it.
 * Ends with one JSON line.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { defaultProgram } from '../../lib/domain/program.ts';
import { newId } from '../../lib/ids.ts';
import { type DynamoLocal, ensureTable, startDynamoLocal } from '../../lib/local/dynamo.ts';
import { db } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import { putProgram } from '../../lib/store/program.ts';
import { runWebhooks, type WebhookRun } from '../../lib/usecases/webhookDelivery.ts';
import { createEndpoint, removeEndpoint } from '../../lib/usecases/webhookEndpoints.ts';
import { receiver } from '../support/receiver.ts';

const TABLE = 'bench-webhooks';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '6000' },
    rate: { type: 'string', default: '100' },
    every: { type: 'string', default: '60' },
    'slow-ms': { type: 'string', default: '5000' },
  },
  strict: true,
});

type Receiver = Awaited<ReturnType<typeof receiver>>;

/** When each event was written (its batch sent), by id. */
async function writeEvents(count: number, perSecond: number, written: Map<string, number>) {
  const batch = 25;
  const started = performance.now();
  for (let i = 0; i < count; i += batch) {
    // On schedule: batch k goes at k * 25 / rate seconds (later if DynamoDB Local lags).
    const wait = started + (i / perSecond) * 1000 - performance.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    const at = Date.now();
    const items = Array.from({ length: Math.min(batch, count - i) }, (_, k) => {
      const id = newId('evt', at);
      written.set(id, at);
      return {
        PutRequest: {
          Item: {
            ...keys.event(id),
            id,
            type: 'tier.changed',
            at: new Date(at).toISOString(),
            customerId: `cus_bench${i + k}`,
            data: { from: 'base', to: 'silver', n: i + k },
          },
        },
      };
    });
    let pending = items;
    while (pending.length > 0) {
      const { UnprocessedItems } = await db().send(
        new BatchWriteCommand({ RequestItems: { [TABLE]: pending } }),
      );
      pending = (UnprocessedItems?.[TABLE] as typeof pending | undefined) ?? [];
    }
  }
  return (performance.now() - started) / 1000;
}

/** Each event's first attempt, by event id (when its request came). */
function firstAttempts(got: { eventId: string; at: number }[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const g of got) if (!first.has(g.eventId)) first.set(g.eventId, g.at);
  return first;
}

const arrivals = (r: Receiver) =>
  r.got.map((g) => ({ eventId: g.headers['loyalty-event-id'] as string, at: g.at }));

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function latencies(written: Map<string, number>, first: Map<string, number>) {
  const lags = [...first].map(([id, at]) => (at - (written.get(id) ?? at)) / 1000);
  lags.sort((a, b) => a - b);
  return {
    attempted: lags.length,
    p50: quantile(lags, 0.5),
    p95: quantile(lags, 0.95),
    max: lags.at(-1) ?? Number.NaN,
  };
}

/** The job on its schedule (overlapping runs allowed, as EventBridge Scheduler does). */
function schedule(everyS: number, runs: (WebhookRun & { seconds: number })[]) {
  const going = new Set<Promise<void>>();
  const start = () => {
    const began = performance.now();
    const run = runWebhooks(new Date(), { deadline: Date.now() + 55_000 }).then((r) => {
      runs.push({ ...r, seconds: (performance.now() - began) / 1000 });
    });
    going.add(run);
    void run.finally(() => going.delete(run));
  };
  start();
  const timer = setInterval(start, everyS * 1000);
  return async () => {
    clearInterval(timer);
    while (going.size > 0) await Promise.all(going);
  };
}

/** A receiver that answers 200 only after `ms`, as a slow server does; records arrivals. */
async function slowReceiver(ms: number) {
  const got: { eventId: string; at: number }[] = [];
  const server = createServer((req, res) => {
    got.push({ eventId: req.headers['loyalty-event-id'] as string, at: Date.now() });
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200).end('ok'), ms));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    got,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

async function scenario(name: string, withSlow: boolean) {
  const count = Number(args.events);
  const slowMs = Number(args['slow-ms']);
  const fast = await receiver();
  const slow = await slowReceiver(slowMs);
  const endpoints = [await createEndpoint({ url: fast.url, events: ['*'] })];
  if (withSlow) endpoints.push(await createEndpoint({ url: slow.url, events: ['*'] }));
  const written = new Map<string, number>();
  const runs: (WebhookRun & { seconds: number })[] = [];
  const began = performance.now();
  const stop = schedule(Number(args.every), runs);
  const writeSeconds = await writeEvents(count, Number(args.rate), written);
  // Until the fast endpoint has had a first attempt at every event (or 10 minutes).
  while (firstAttempts(arrivals(fast)).size < count && performance.now() - began < 600_000) {
    await new Promise((done) => setTimeout(done, 200));
  }
  const firstDone = (performance.now() - began) / 1000;
  await stop();
  const fastFirst = firstAttempts(arrivals(fast));
  const at = [...fastFirst.values()];
  const spanS = (Math.max(...at) - Math.min(...at)) / 1000;
  const result = {
    scenario: name,
    events: count,
    writeRatePerS: Math.round(count / writeSeconds),
    fast: { ...latencies(written, fastFirst), deliveriesPerS: Math.round(fastFirst.size / spanS) },
    ...(withSlow && {
      slow: { ...latencies(written, firstAttempts(slow.got)), answerMs: slowMs },
    }),
    allFirstAttemptsAfterS: Number(firstDone.toFixed(1)),
    runs: runs.map((r) => ({
      seconds: Number(r.seconds.toFixed(1)),
      fannedOut: r.fannedOut,
      delivered: r.delivered,
      retried: r.retried,
      complete: r.complete,
    })),
  };
  const f = result.fast;
  console.log(
    `${name}: ${count} events at ${result.writeRatePerS}/s; fast endpoint's first attempts ` +
      `p50 ${f.p50.toFixed(1)} s, p95 ${f.p95.toFixed(1)} s, max ${f.max.toFixed(1)} s ` +
      `(${f.attempted}/${count}), ${f.deliveriesPerS} deliveries/s`,
  );
  if (result.slow) {
    console.log(
      `  slow endpoint (${slowMs} ms an answer): ${result.slow.attempted}/${count} first attempts so far, ` +
        `p50 ${result.slow.p50.toFixed(1)} s, max ${result.slow.max.toFixed(1)} s`,
    );
  }
  for (const r of result.runs) console.log(`  run: ${JSON.stringify(r)}`);
  for (const e of endpoints) await removeEndpoint(e.id);
  await fast.close();
  await slow.close();
  return result;
}

async function main(): Promise<void> {
  let local: DynamoLocal | undefined;
  try {
    local = await startDynamoLocal();
    process.env.DYNAMODB_ENDPOINT = local.endpoint;
    process.env.LOYALTY_TABLE = TABLE;
    process.env.LOYALTY_TOKEN_SECRET ||= 'bench-secret';
    process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
    await ensureTable(local.endpoint, TABLE);
    await putProgram(defaultProgram);
    // A first run with no endpoint, as in a deployment: the cursor starts at now.
    await runWebhooks(new Date());
    console.log(
      `Webhooks benchmark: ${args.events} events at ${args.rate}/s, the job every ${args.every} s`,
    );
    const alone = await scenario('fast endpoint alone', false);
    const beside = await scenario('fast endpoint beside a slow one', true);
    console.log(JSON.stringify({ alone, beside }));
  } finally {
    await local?.stop();
  }
}

await main();
