import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import { cdnowToCsv } from '../../lib/import/cdnow.ts';
import { synthetic } from '../bench/workload.ts';
import { ADMIN_KEY, startSecondTestApi, startTestApi, type TestApi } from '../support/api.ts';
import { snapshot } from '../support/snapshot.ts';

/**
 * `npm run import` interrupted half-way (first Ctrl-C: stop after the batches in flight) and
 * run again ends with exactly the table an uninterrupted run makes: nothing lost, nothing
 * applied twice.
 */
const DAY = 86_400_000;
const now = Date.now();
const ago = (days: number) => new Date(now - days * DAY).toISOString();
const usd = (amount: number) => ({ amount, currency: 'USD' });
const yesterday = new Date(now - DAY).toISOString().slice(0, 10);

/** A CDNOW-shaped history of ~800 customers and ~2,400 purchases, ending yesterday. */
const csv = cdnowToCsv(synthetic({ customers: 800, seed: 4242, now: new Date(now) }), {
  ending: yesterday,
});

/** Tiers a few hundred dollars reach, so tiers move along the way. */
const program = {
  ...defaultProgram,
  tiers: [
    { id: 'member', name: 'Member', qualifyingSpend: 0, multiplier: 1 },
    { id: 'silver', name: 'Silver', qualifyingSpend: 10_000, multiplier: 1.25 },
    { id: 'gold', name: 'Gold', qualifyingSpend: 30_000, multiplier: 1.5 },
  ],
};
const campaigns = [
  { name: 'Double', type: 'multiplier', multiplier: 2, startsAt: ago(200), endsAt: ago(120) },
  { name: 'Welcome', type: 'bonus', points: 40, firstPurchaseOnly: true, startsAt: ago(800) },
  {
    name: 'Big basket',
    type: 'bonus',
    points: 25,
    minSpend: usd(5_000),
    startsAt: ago(90),
    endsAt: ago(10),
  },
];

const BATCH = 100;
/** Purchase batches answered before the interrupt (of ~24). */
const BATCHES_BEFORE_CTRL_C = 6;

let dir: string;
let customersFile: string;
let purchasesFile: string;
let a: TestApi;
let b: TestApi;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'import-cli-'));
  customersFile = join(dir, 'customers.csv');
  purchasesFile = join(dir, 'purchases.csv');
  await writeFile(customersFile, csv.customersCsv);
  await writeFile(purchasesFile, csv.purchasesCsv);
  [a, b] = await Promise.all([startTestApi(), startSecondTestApi()]);
});
afterAll(async () => {
  await Promise.all([a?.api.stop(), b?.api.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The same program, campaigns and store on a table; returns the store's id. */
async function setUp(api: TestApi): Promise<string> {
  expect((await api.call('PUT', '/v1/program', { body: program })).status).toBe(200);
  for (const [i, c] of campaigns.entries()) {
    const res = await api.call('POST', '/v1/campaigns', {
      body: c,
      headers: { 'idempotency-key': `cli-campaign-${i}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  const store = await api.call('POST', '/v1/stores', { body: { name: 'CDNOW' } });
  expect(store.status, JSON.stringify(store.body)).toBe(201);
  return store.body.id;
}

interface Run {
  child: ChildProcess;
  /** Everything written so far to stdout and stderr. */
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/**
 * `npm run import` as it runs it: node --import tsx lib/import/cli.ts (one process, so a
 * Ctrl-C reaches the CLI itself, with no relay in between), stdout a pipe (not a terminal).
 */
function cli(url: string, store: string): Run {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'lib/import/cli.ts',
      ...['--customers', customersFile, '--purchases', purchasesFile],
      ...['--url', url, '--key', ADMIN_KEY, '--store', store],
      ...['--batch', String(BATCH), '--concurrency', '2', '--rejected', join(dir, 'rej.csv')],
    ],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  child.stdout?.on('data', (chunk) => (text += chunk));
  child.stderr?.on('data', (chunk) => (text += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>(
    (resolve) => child.once('close', (code, signal) => resolve({ code, signal, output: text })),
  );
  return { child, output: () => text, exit };
}

/**
 * A transparent HTTP proxy in front of an API that holds purchase batches once a number of
 * them were answered, until `open()`: the interrupt then lands half-way through the purchases
 * whatever the machine's speed (held batches are in flight and still finish).
 */
async function gatedProxy(target: string, holdAfter: number) {
  const upstream = new URL(target);
  let answered = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let closed = false;
  let reached!: () => void;
  const holding = new Promise<void>((resolve) => (reached = resolve));
  const server: Server = createServer(async (req, res) => {
    const purchases = req.method === 'POST' && req.url === '/v1/imports/purchases';
    if (purchases && closed) await gate;
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => {
          if (purchases && ++answered === holdAfter) {
            closed = true;
            reached();
          }
        });
      },
    );
    forward.on('error', (error) => res.destroy(error));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Resolves once `holdAfter` purchase batches were answered (later ones now wait). */
    holding,
    open: () => {
      closed = false;
      release();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The counts of a CLI summary's "purchases: N rows: …" line. */
function purchaseCounts(output: string) {
  const match = /purchases: (\d+) rows: (\d+) imported, (\d+) duplicates, (\d+) rejected/.exec(
    output,
  );
  expect(match, output).not.toBeNull();
  const [rows = 0, imported = 0, duplicates = 0, rejected = 0] = (match as RegExpExecArray)
    .slice(1)
    .map(Number);
  return { rows, imported, duplicates, rejected };
}

async function waitFor(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('npm run import, interrupted and rerun', () => {
  it('ends with exactly the table of an uninterrupted run', { timeout: 240_000 }, async () => {
    expect(csv.purchases).toBeGreaterThan(2_000);
    const totalBatches = Math.ceil(csv.purchases / BATCH);
    expect(BATCHES_BEFORE_CTRL_C + 4).toBeLessThan(totalBatches);

    // Table A: one uninterrupted run.
    const storeA = await setUp(a);
    const once = await cli(a.api.url, storeA).exit;
    expect(once.code, once.output).toBe(0);
    expect(once.output).toContain(`customers: ${csv.customers} rows: ${csv.customers} created`);
    expect(purchaseCounts(once.output)).toEqual({
      rows: csv.purchases,
      imported: csv.purchases,
      duplicates: 0,
      rejected: 0,
    });

    // Table B: Ctrl-C once some purchase batches were answered, then the same command again.
    const storeB = await setUp(b);
    const proxy = await gatedProxy(b.api.url, BATCHES_BEFORE_CTRL_C);
    try {
      const first = cli(proxy.url, storeB);
      // Fails loudly should the run end before the interrupt point.
      const early = await Promise.race([proxy.holding.then(() => undefined), first.exit]);
      if (early) {
        throw new Error(`the CLI ended (${early.code}) before the interrupt:\n${early.output}`);
      }
      first.child.kill('SIGINT');
      await waitFor(
        () => first.output().includes('stopping after the batches in flight'),
        'the CLI to acknowledge the Ctrl-C',
      );
      proxy.open();
      const stopped = await first.exit;
      expect(stopped.code, stopped.output).toBe(130);
      expect(stopped.output).toContain('interrupted: run the same command again to finish');
      const part = purchaseCounts(stopped.output);
      expect(part.rejected).toBe(0);
      expect(part.imported).toBeGreaterThanOrEqual(BATCHES_BEFORE_CTRL_C * BATCH);
      expect(part.imported).toBeLessThan(csv.purchases);
      // The table agrees: some of the purchases, not all.
      const half = await snapshot(b.table);
      expect(half.customers.size).toBe(csv.customers);
      expect(Object.keys(half.purchases).length).toBe(part.imported);

      const rerun = await cli(proxy.url, storeB).exit;
      expect(rerun.code, rerun.output).toBe(0);
      expect(rerun.output).toContain(
        `customers: ${csv.customers} rows: 0 created, ${csv.customers} existing, 0 rejected`,
      );
      expect(purchaseCounts(rerun.output)).toEqual({
        rows: csv.purchases,
        imported: csv.purchases - part.imported,
        duplicates: part.imported,
        rejected: 0,
      });
    } finally {
      proxy.open();
      await proxy.close();
    }
    expect(existsSync(join(dir, 'rej.csv'))).toBe(false);

    // Same customers (balances, lots, tiers, qualifying spend, cadence, lapse due times,
    // versions), ledgers, purchases and campaign counts, up to ids and recording times.
    const [sa, sb] = await Promise.all([snapshot(a.table), snapshot(b.table)]);
    expect(sa.customers.size).toBe(csv.customers);
    expect(Object.keys(sa.purchases).length).toBe(csv.purchases);
    for (const [externalId, customer] of sa.customers) {
      expect(sb.customers.get(externalId), externalId).toEqual(customer);
    }
    expect(sb.customers.size).toBe(sa.customers.size);
    expect(sb.ledgers).toEqual(sa.ledgers);
    expect(sb.purchases).toEqual(sa.purchases);
    expect(sb.campaignCounts).toEqual(sa.campaignCounts);
    // The comparison compared something: campaigns earned, tiers moved.
    for (const counts of Object.values(sa.campaignCounts)) {
      expect(counts.purchases).toBeGreaterThan(0);
    }
    expect([...sa.customers.values()].some((c) => c.tierId !== 'member')).toBe(true);
  });
});
