/**
 * runImport against a fake API on 127.0.0.1 that answers like the import routes' contract
 * and records every request: batching, per-customer order across concurrent batches,
 * retries under one Idempotency-Key, rejected rows, externalId mapping, stopping.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ImportOptions } from '../../lib/import/options.ts';
import { runImport } from '../../lib/import/runImport.ts';

// ---------------------------------------------------------------- the fake API

interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  items: any[];
  /** Set once the fake API has answered it. */
  answered: boolean;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Lets a test answer a request itself (or hold it); undefined: answer as the contract says. */
type Hook = (request: Recorded) => Promise<Reply | undefined> | Reply | undefined;

class FakeApi {
  readonly requests: Recorded[] = [];
  /** externalId -> customerId */
  readonly customers = new Map<string, string>();
  readonly receipts = new Set<string>();
  /** Each customer's purchases' receiptIds, in the order they were recorded. */
  readonly history = new Map<string, string[]>();
  hook: Hook | undefined;
  url = '';
  private server: Server | undefined;
  private nextId = 1;

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  posts(path: string): Recorded[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path === path);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const recorded: Recorded = {
      method: request.method ?? '',
      path: request.url ?? '',
      headers: request.headers,
      items: text ? JSON.parse(text).items : [],
      answered: false,
    };
    this.requests.push(recorded);
    const reply = (await this.hook?.(recorded)) ?? this.contract(recorded);
    response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    response.end(JSON.stringify(reply.body));
    recorded.answered = true;
  }

  private contract(request: Recorded): Reply {
    const url = new URL(request.path, 'http://x');
    if (request.method === 'GET' && url.pathname === '/v1/program') {
      return { status: 200, body: { currency: 'EUR' } };
    }
    if (request.method === 'GET' && url.pathname === '/v1/customers') {
      const id = this.customers.get(url.searchParams.get('externalId') ?? '');
      return id ? { status: 200, body: { id } } : problem(404, 'not-found', 'no such customer');
    }
    if (url.pathname === '/v1/imports/customers') return this.importCustomers(request.items);
    if (url.pathname === '/v1/imports/purchases') return this.importPurchases(request.items);
    return problem(404, 'not-found', 'no such route');
  }

  /** Creates the customers it does not know by externalId; an email without @ is invalid. */
  private importCustomers(items: any[]): Reply {
    const answer = { created: 0, createdCustomers: [] as any[], existing: [] as any[], errors: [] };
    for (const [index, item] of items.entries()) {
      if (item.email !== undefined && !item.email.includes('@')) {
        answer.errors.push({ index, code: 'validation-failed', detail: 'email: invalid' } as never);
        continue;
      }
      const known = this.customers.get(item.externalId);
      if (known) {
        answer.existing.push({ index, customerId: known });
        continue;
      }
      const customerId = `cus_${this.nextId++}`;
      if (item.externalId !== undefined) this.customers.set(item.externalId, customerId);
      answer.createdCustomers.push({ index, customerId });
      answer.created++;
    }
    return { status: 200, body: answer };
  }

  /** Records purchases of known customers, once per store and receipt. */
  private importPurchases(items: any[]): Reply {
    const answer = { imported: 0, duplicates: 0, errors: [] as any[] };
    const ids = new Set(this.customers.values());
    for (const [index, item] of items.entries()) {
      const receipt = `${item.storeId}/${item.receiptId}`;
      if (!ids.has(item.customerId)) {
        answer.errors.push({ index, code: 'not-found', detail: 'no such customer' });
      } else if (this.receipts.has(receipt)) {
        answer.duplicates++;
      } else {
        this.receipts.add(receipt);
        this.history.set(item.customerId, [
          ...(this.history.get(item.customerId) ?? []),
          item.receiptId,
        ]);
        answer.imported++;
      }
    }
    return { status: 200, body: answer };
  }
}

function problem(status: number, code: string, detail: string): Reply {
  return { status, body: { type: 'about:blank', title: code, status, code, detail } };
}

/** A promise and the function that settles it: a gate a test opens. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---------------------------------------------------------------- set-up

const dir = mkdtempSync(join(tmpdir(), 'import-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let api: FakeApi;
afterEach(async () => {
  await api?.stop();
});

async function fakeApi(): Promise<FakeApi> {
  api = new FakeApi();
  await api.start();
  return api;
}

let files = 0;
function csvFile(text: string): string {
  const path = join(dir, `file-${++files}.csv`);
  writeFileSync(path, text);
  return path;
}

function options(overrides: Partial<ImportOptions>): ImportOptions {
  return {
    url: api.url,
    key: 'admin-key',
    rejectedFile: join(dir, `rejected-${++files}.csv`),
    storeId: 'sto_1',
    ...overrides,
  };
}

/** The rejected file's rows as objects, `row` parsed back from its JSON. */
function rejectedRows(path: string): any[] {
  const rows = parse(readFileSync(path, 'utf8'), { columns: true }) as any[];
  return rows.map((row) => ({ ...row, row: JSON.parse(row.row) }));
}

const customersCsv = (ids: string[]) => `externalId\n${ids.join('\n')}\n`;

// ---------------------------------------------------------------- tests

describe('runImport', () => {
  it('sends customers, then purchases, in batches of batchSize with a fresh key each', async () => {
    await fakeApi();
    const purchases = csvFile(
      'customerExternalId,receiptId,occurredAt,amount,currency\n' +
        ['a', 'b', 'c', 'd', 'e']
          .map((id, i) => `${id},r${i},2024-05-01T10:00:00Z,${1000 + i},USD`)
          .join('\n'),
    );
    const progress: any[] = [];
    const summary = await runImport(
      options({
        customersFile: csvFile(customersCsv(['a', 'b', 'c', 'd', 'e'])),
        purchasesFile: purchases,
        batchSize: 2,
        onProgress: (p) => progress.push(p),
      }),
    );
    expect(summary).toMatchObject({
      customers: { rows: 5, created: 5, existing: 0, rejected: 0 },
      purchases: { rows: 5, imported: 5, duplicates: 0, rejected: 0 },
      interrupted: false,
    });
    expect(summary.rejectedFile).toBeUndefined();
    const customerPosts = api.posts('/v1/imports/customers');
    const purchasePosts = api.posts('/v1/imports/purchases');
    expect(customerPosts.map((r) => r.items.length)).toEqual([2, 2, 1]);
    expect(purchasePosts.map((r) => r.items.length)).toEqual([2, 2, 1]);
    // Every customer batch was answered before the first purchase batch went out.
    expect(api.requests.indexOf(purchasePosts[0]!)).toBeGreaterThan(
      api.requests.indexOf(customerPosts[2]!),
    );
    const keys = api.requests
      .filter((r) => r.method === 'POST')
      .map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(6);
    for (const request of [...customerPosts, ...purchasePosts]) {
      expect(request.headers['x-api-key']).toBe('admin-key');
      expect(request.headers['content-type']).toBe('application/json');
    }
    expect(purchasePosts[0]!.items[0]).toEqual({
      customerId: api.customers.get('a'),
      storeId: 'sto_1',
      receiptId: 'r0',
      occurredAt: '2024-05-01T10:00:00Z',
      total: { amount: 1000, currency: 'USD' },
    });
    expect(progress.at(-1)).toMatchObject({ phase: 'purchases', done: 5, total: 5 });
    expect(progress.filter((p) => p.phase === 'customers').at(-1)).toMatchObject({
      done: 5,
      total: 5,
    });
  });

  it('maps externalIds from the customers phase, else looks each up once; 404 rejects', async () => {
    await fakeApi();
    api.customers.set('old', 'cus_old'); // imported by an earlier run
    const summary = await runImport(
      options({
        customersFile: csvFile(customersCsv(['new'])),
        purchasesFile: csvFile(
          'customerExternalId,storeId,receiptId,occurredAt,amount\n' +
            'new,sto_2,r1,2024-05-01,500\n' +
            'old,,r2,2024-05-02,600\n' +
            'old,,r3,2024-05-03,700\n' +
            'ghost,,r4,2024-05-04,800\n' +
            'ghost,,r5,2024-05-05,900\n',
        ),
      }),
    );
    const lookups = api.requests.filter((r) => r.path.startsWith('/v1/customers?'));
    expect(lookups.map((r) => r.path).sort()).toEqual([
      '/v1/customers?externalId=ghost',
      '/v1/customers?externalId=old',
    ]);
    const [post] = api.posts('/v1/imports/purchases');
    // No currency column: the program's; a bare day: noon UTC; no storeId cell: the option's.
    expect(post!.items).toEqual([
      {
        customerId: api.customers.get('new'),
        storeId: 'sto_2',
        receiptId: 'r1',
        occurredAt: '2024-05-01T12:00:00.000Z',
        total: { amount: 500, currency: 'EUR' },
      },
      expect.objectContaining({ customerId: 'cus_old', storeId: 'sto_1', receiptId: 'r2' }),
      expect.objectContaining({ customerId: 'cus_old', receiptId: 'r3' }),
    ]);
    expect(summary.purchases).toEqual({ rows: 5, imported: 3, duplicates: 0, rejected: 2 });
    expect(rejectedRows(summary.rejectedFile!).map((r) => [r.line, r.code])).toEqual([
      ['5', 'not-found'],
      ['6', 'not-found'],
    ]);
  });

  it('does not send a batch while an earlier one in flight has one of its customers', async () => {
    await fakeApi();
    const first = gate();
    api.hook = async (request) => {
      if (request.items[0]?.receiptId === 'a1') await first.opened;
      return undefined;
    };
    // Batches of 2: [a1 b1] [c1 d1] [a2 e1]; the third shares customer a with the first.
    const run = runImport(
      options({
        customersFile: csvFile(customersCsv(['a', 'b', 'c', 'd', 'e'])),
        purchasesFile: csvFile(
          'customerExternalId,receiptId,occurredAt,amount,currency\n' +
            ['a1', 'b1', 'c1', 'd1', 'a2', 'e1']
              .map((r) => `${r[0]},${r},2024-05-01,100,USD`)
              .join('\n'),
        ),
        batchSize: 2,
        concurrency: 4,
      }),
    );
    const purchasePosts = () => api.posts('/v1/imports/purchases');
    await until(() => purchasePosts().length >= 2 && purchasePosts()[1]!.answered, 'batch 2');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(purchasePosts().map((r) => r.items.map((i: any) => i.receiptId))).toEqual([
      ['a1', 'b1'],
      ['c1', 'd1'],
    ]);
    first.open();
    const summary = await run;
    expect(purchasePosts()[2]!.items.map((i: any) => i.receiptId)).toEqual(['a2', 'e1']);
    expect(api.history.get(api.customers.get('a')!)).toEqual(['a1', 'a2']);
    expect(summary.purchases.imported).toBe(6);
  });

  it("sends a service-unavailable item again; once it still fails, holds back its customer's later purchases", async () => {
    await fakeApi();
    api.hook = (request) => {
      if (request.items[0]?.receiptId !== 'a1') return undefined;
      const errors = [{ index: 0, code: 'service-unavailable', detail: 'the database failed' }];
      return { status: 200, body: { imported: 0, duplicates: 0, errors } };
    };
    const summary = await runImport(
      options({
        customersFile: csvFile(customersCsv(['a', 'b'])),
        purchasesFile: csvFile(
          'customerExternalId,receiptId,occurredAt,amount,currency\n' +
            ['a1', 'b1', 'a2'].map((r) => `${r[0]},${r},2024-05-01,100,USD`).join('\n'),
        ),
        batchSize: 1,
        concurrency: 1,
      }),
    );
    const sent = api.posts('/v1/imports/purchases').map((r) => r.items[0].receiptId);
    // Sent once and four times again, each under a key of its own; a2 never.
    expect(sent).toEqual(['a1', 'a1', 'a1', 'a1', 'a1', 'b1']);
    const keys = api.posts('/v1/imports/purchases').map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(6);
    expect(summary.purchases).toEqual({ rows: 3, imported: 1, duplicates: 0, rejected: 2 });
    expect(
      rejectedRows(summary.rejectedFile as string).map((r) => [r.row.receiptId, r.code, r.detail]),
    ).toEqual([
      ['a1', 'service-unavailable', 'the database failed'],
      [
        'a2',
        'service-unavailable',
        'not sent: an earlier purchase of this customer could not be imported; run the import again',
      ],
    ]);
  });

  it("keeps a customer's run of purchases in one batch when it fits", async () => {
    await fakeApi();
    await runImport(
      options({
        customersFile: csvFile(customersCsv(['a', 'b', 'c'])),
        purchasesFile: csvFile(
          'customerExternalId,receiptId,occurredAt,amount,currency\n' +
            ['a1', 'b1', 'b2', 'b3', 'c1'].map((r) => `${r[0]},${r},2024-05-01,100,USD`).join('\n'),
        ),
        batchSize: 3,
      }),
    );
    expect(
      api.posts('/v1/imports/purchases').map((r) => r.items.map((i: any) => i.receiptId)),
    ).toEqual([['a1'], ['b1', 'b2', 'b3'], ['c1']]);
  });

  it('retries a 503 and a key in use with the same Idempotency-Key, counting the batch once', async () => {
    await fakeApi();
    let calls = 0;
    api.hook = () => {
      calls++;
      if (calls === 1)
        return { ...problem(503, 'unavailable', 'busy'), headers: { 'retry-after': '0' } };
      if (calls === 2) return problem(409, 'idempotency-key-in-use', 'still working');
      return undefined;
    };
    const summary = await runImport(options({ customersFile: csvFile(customersCsv(['a', 'b'])) }));
    const posts = api.posts('/v1/imports/customers');
    expect(posts).toHaveLength(3);
    expect(new Set(posts.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(summary.customers).toEqual({ rows: 2, created: 2, existing: 0, rejected: 0 });
  });

  it('stops on a batch refused as a whole, naming the status, code and detail', async () => {
    await fakeApi();
    api.hook = () => problem(403, 'forbidden', 'this key may not import');
    await expect(
      runImport(options({ customersFile: csvFile(customersCsv(['a'])) })),
    ).rejects.toThrow(/403 forbidden: this key may not import/);
  });

  it('rejects rows that cannot be items locally, and writes them with the API’s rejections', async () => {
    await fakeApi();
    const customers = csvFile(
      'externalId,email,name,openingPoints\n' +
        'a,a@example.com,Ada,10\n' +
        'b,not-an-email,Bob,\n' +
        '\n' +
        'c,,"Carol\nSmith",lots\n' +
        'd,d@example.com,Dan\n',
    );
    const purchases = csvFile(
      'customerExternalId,customerId,receiptId,occurredAt,amount,currency\n' +
        'a,,r1,2024-05-01,12.50,USD\n' +
        'a,cus_x,r2,2024-05-01,100,USD\n' +
        ',,r3,2024-05-01,100,USD\n' +
        'a,,,2024-05-01,100,USD\n' +
        'a,,r5,2024-02-30,100,USD\n' +
        'a,,r6,2024-05-01T09:00:00+02:00,100,USD\n',
    );
    const summary = await runImport(
      options({ customersFile: customers, purchasesFile: purchases }),
    );
    expect(summary.customers).toEqual({ rows: 4, created: 1, existing: 0, rejected: 3 });
    expect(summary.purchases).toEqual({ rows: 6, imported: 1, duplicates: 0, rejected: 5 });
    expect(api.posts('/v1/imports/customers')[0]!.items).toEqual([
      { externalId: 'a', email: 'a@example.com', name: 'Ada', openingPoints: 10 },
      { externalId: 'b', email: 'not-an-email', name: 'Bob' },
    ]);
    const rejected = rejectedRows(summary.rejectedFile!);
    expect(rejected.map((r) => [r.file, r.line, r.code])).toEqual([
      [customers, '5', 'validation-failed'], // openingPoints "lots", on the line its row starts
      [customers, '7', 'validation-failed'], // 3 fields for 4 columns
      [customers, '3', 'validation-failed'], // the API's: email
      [purchases, '2', 'validation-failed'],
      [purchases, '3', 'validation-failed'],
      [purchases, '4', 'validation-failed'],
      [purchases, '5', 'validation-failed'],
      [purchases, '6', 'validation-failed'],
    ]);
    expect(rejected[0]).toMatchObject({
      detail: expect.stringContaining('openingPoints'),
      row: { externalId: 'c', email: '', name: 'Carol\nSmith', openingPoints: 'lots' },
    });
    expect(rejected[2]!.detail).toBe('email: invalid');
    expect(rejected.slice(3).map((r) => r.detail)).toEqual([
      expect.stringContaining('amount "12.50"'),
      expect.stringContaining('not both'),
      expect.stringContaining('no customerExternalId or customerId'),
      expect.stringContaining('no receiptId'),
      expect.stringContaining('2024-02-30'),
    ]);
  });

  it('refuses a file with an unknown column before sending anything', async () => {
    await fakeApi();
    await expect(
      runImport(
        options({
          customersFile: csvFile(customersCsv(['a'])),
          purchasesFile: csvFile(
            'customerExternalId,receipt,occurredAt,amount\na,r1,2024-05-01,1\n',
          ),
        }),
      ),
    ).rejects.toThrow(/unknown column "receipt"/);
    expect(api.requests).toHaveLength(0);
  });

  it('once aborted sends no new batch, finishes those in flight, and a rerun completes', async () => {
    await fakeApi();
    const stop = new AbortController();
    const second = gate();
    api.hook = async (request) => {
      if (request.items[0]?.externalId === 'c2') {
        stop.abort();
        await second.opened;
      }
      return undefined;
    };
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const run = {
      customersFile: csvFile(customersCsv(ids)),
      purchasesFile: csvFile(
        `customerExternalId,receiptId,occurredAt,amount,currency\n${ids.map((id) => `${id},r-${id},2024-05-01,100,USD`).join('\n')}\n`,
      ),
      batchSize: 1,
      concurrency: 1,
    };
    const interrupted = runImport(options({ ...run, signal: stop.signal }));
    await until(() => api.posts('/v1/imports/customers').length === 2, 'the second batch');
    await new Promise((resolve) => setTimeout(resolve, 100));
    second.open();
    const summary = await interrupted;
    expect(summary.interrupted).toBe(true);
    expect(summary.customers).toEqual({ rows: 5, created: 2, existing: 0, rejected: 0 });
    expect(api.posts('/v1/imports/customers')).toHaveLength(2);
    expect(api.posts('/v1/imports/purchases')).toHaveLength(0);

    api.hook = undefined;
    const rerun = await runImport(options(run));
    expect(rerun.interrupted).toBe(false);
    expect(rerun.customers).toEqual({ rows: 5, created: 3, existing: 2, rejected: 0 });
    expect(rerun.purchases).toEqual({ rows: 5, imported: 5, duplicates: 0, rejected: 0 });
    const again = await runImport(options(run));
    expect(again.purchases).toEqual({ rows: 5, imported: 0, duplicates: 5, rejected: 0 });
  });
});
