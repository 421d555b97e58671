/**
 * The import CLI's edges, through runImport on the real HTTP server over DynamoDB Local:
 * a customers file run again comes back `existing` row by row, whatever identifiers it
 * has; a purchases batch that meets a storage error answers item by item, and the CLI
 * sends again what can be sent again before the later batches of the same customers.
 * Every instant is relative to Date.now().
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBServiceException, InternalServerError } from '@aws-sdk/client-dynamodb';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProgram } from '../../lib/domain/program.ts';
import type { ImportOptions } from '../../lib/import/options.ts';
import { runImport } from '../../lib/import/runImport.ts';
import { db } from '../../lib/store/client.ts';
import { ADMIN_KEY, startTestApi, type TestApi } from '../support/api.ts';
import { wholeLedger } from '../support/ledger.ts';

let t: TestApi;
let dir: string;
let n = 0;

beforeAll(async () => {
  t = await startTestApi();
  expect((await t.call('PUT', '/v1/program', { body: defaultProgram })).status).toBe(200);
  dir = mkdtempSync(join(tmpdir(), 'import-edges-'));
});
afterAll(async () => {
  await t?.api.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function csvFile(text: string): string {
  const file = join(dir, `f${++n}.csv`);
  writeFileSync(file, text);
  return file;
}

const options = (extra: Partial<ImportOptions>): ImportOptions => ({
  url: t.api.url,
  key: ADMIN_KEY,
  rejectedFile: join(dir, `rejected-${++n}.csv`),
  ...extra,
});

/** The rejected file's rows as records (none when it was not written). */
/** A fetch for runImport that notes the size of each batch it sends to `path`. */
function recordingBatches(path: string): { batches: number[]; recording: typeof fetch } {
  const batches: number[] = [];
  const recording: typeof fetch = (url, init) => {
    if (String(url).endsWith(path)) batches.push(JSON.parse(String(init?.body)).items.length);
    return fetch(url, init);
  };
  return { batches, recording };
}

/**
 * 90 customers (`<prefix>-<i>`, `<prefix><i>@example.com`) through the CLI, with the
 * sizes of the batches it sent.
 */
async function importCustomers(prefix: string) {
  const rows = Array.from({ length: 90 }, (_, i) => `${prefix}-${i},${prefix}${i}@example.com`);
  const { batches, recording } = recordingBatches('/v1/imports/customers');
  const summary = await runImport(
    options({ customersFile: csvFile(`externalId,email\n${rows.join('\n')}\n`), fetch: recording }),
  );
  return { summary, batches };
}

function rejectedRows(file: string | undefined): Record<string, string>[] {
  if (file === undefined || !existsSync(file)) return [];
  return parse(readFileSync(file, 'utf8'), { columns: true });
}

describe('a customers file imported again', () => {
  it('reports every row existing, whatever mix of email, phone and externalId it has', async () => {
    const customers = csvFile(
      'externalId,email,phone,name\n' +
        'rr-1,rr1@example.com,,Email and externalId\n' +
        'rr-2,,+14155550101,Phone and externalId\n' +
        'rr-3,RR3@Example.com,+14155550103,All three\n' +
        'rr-4,,,ExternalId alone\n' +
        ',rr5@example.com,,Email alone\n' +
        ',,+14155550106,Phone alone\n' +
        'rr-3,rr3@example.com,+14155550103,All three again in the same file\n',
    );
    const first = await runImport(options({ customersFile: customers }));
    expect(rejectedRows(first.rejectedFile)).toEqual([]);
    expect(first.customers).toEqual({ rows: 7, created: 6, existing: 1, rejected: 0 });

    const again = await runImport(options({ customersFile: customers }));
    expect(rejectedRows(again.rejectedFile)).toEqual([]);
    expect(again.customers).toEqual({ rows: 7, created: 0, existing: 7, rejected: 0 });
  });

  it('still refuses a row whose identifiers belong to two different customers, naming both', async () => {
    const first = await runImport(
      options({
        customersFile: csvFile('externalId,email\ntc-1,tc1@example.com\ntc-2,tc2@example.com\n'),
      }),
    );
    expect(first.customers.created).toBe(2);
    const one = (await t.call('GET', '/v1/customers?externalId=tc-1')).body.id;
    const two = (await t.call('GET', '/v1/customers?externalId=tc-2')).body.id;

    // tc-1's externalId with tc-2's email.
    const crossed = await runImport(
      options({ customersFile: csvFile('externalId,email\ntc-1,tc2@example.com\n') }),
    );
    expect(crossed.customers).toEqual({ rows: 1, created: 0, existing: 0, rejected: 1 });
    const [row] = rejectedRows(crossed.rejectedFile);
    expect(row?.code).toBe('conflict');
    expect(row?.detail).toContain(one);
    expect(row?.detail).toContain(two);
  });
});

// ---------------------------------------------------------------- a storage error mid-batch

const DAY = 86_400_000;
/** Purchase `i` of a history: every 5 days up to yesterday, amounts growing (tiers move). */
const startedAt = Date.now();
const purchaseAt = (i: number, of: number) => new Date(startedAt - (of - i) * 5 * DAY);
const amountOf = (i: number) => 1_000 + 137 * i;

/**
 * Fails the `nth` TransactWriteItems the store sends from now on, once, as DynamoDB does
 * when it fails on its side (after the SDK's own retries): everything else reaches
 * DynamoDB Local as usual.
 */
function failNthTransaction(nth: number) {
  const name = `failNthTransaction-${++n}`;
  let seen = 0;
  db().middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'TransactWriteItemsCommand' && ++seen === nth) {
        throw new InternalServerError({ message: 'Internal server error', $metadata: {} });
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return {
    failed: () => seen >= nth,
    remove: () => db().middlewareStack.remove(name),
  };
}

/**
 * What two customers' histories must agree on, up to ids, receipt ids and recording times:
 * the points of each purchase in turn show the order they were applied in (tiers move).
 */
async function history(customerId: string) {
  const customer = (await t.call('GET', `/v1/customers/${customerId}`)).body;
  const ledger = (await wholeLedger(t, customerId)).map((e) => ({
    type: e.type,
    points: e.points,
    balanceAfter: e.balanceAfter,
  }));
  const { points, tier, qualifyingSpend, cadence, lastPurchaseAt } = customer;
  return { points, tier, qualifyingSpend, cadence, lastPurchaseAt, ledger };
}

describe('an import batch that meets a storage error', () => {
  let storeId: string;
  beforeAll(async () => {
    storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Flaky street' } })).body.id;
  });

  const importing = (items: unknown[]) =>
    t.call('POST', '/v1/imports/purchases', {
      body: { items },
      headers: { 'idempotency-key': `edges-${++n}-${Math.random()}` },
    });

  it('answers item by item: what committed is imported, the rest service-unavailable to send again', async () => {
    const created = await t.call('POST', '/v1/imports/customers', {
      body: { items: [{ externalId: 'se-1' }, { externalId: 'se-ref' }] },
      headers: { 'idempotency-key': `edges-${++n}` },
    });
    const [customerId, referenceId] = created.body.createdCustomers.map((c: any) => c.customerId);
    const COUNT = 60; // more than one transaction holds
    const items = (who: string, prefix: string) =>
      Array.from({ length: COUNT }, (_, i) => ({
        customerId: who,
        storeId,
        receiptId: `${prefix}-${i}`,
        occurredAt: purchaseAt(i, COUNT).toISOString(),
        total: { amount: amountOf(i), currency: 'USD' },
      }));
    const reference = await importing(items(referenceId, 'se-ref'));
    expect(reference.body).toEqual({ imported: COUNT, duplicates: 0, errors: [] });

    const failing = failNthTransaction(2);
    let first: Awaited<ReturnType<typeof importing>>;
    try {
      first = await importing(items(customerId, 'se-1'));
    } finally {
      failing.remove();
    }
    expect(failing.failed()).toBe(true);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const { imported, duplicates, errors } = first.body;
    expect(imported).toBeGreaterThan(0);
    expect(duplicates).toBe(0);
    expect(imported + errors.length).toBe(COUNT);
    // The first transaction's purchases (the earliest) went in; every later one is to be sent again.
    expect(errors.map((e: any) => e.index)).toEqual(
      Array.from({ length: COUNT - imported }, (_, i) => imported + i),
    );
    for (const e of errors) expect(e.code).toBe('service-unavailable');

    const again = await importing(items(customerId, 'se-1').slice(imported));
    expect(again.body).toEqual({ imported: COUNT - imported, duplicates: 0, errors: [] });
    expect(await history(customerId)).toEqual(await history(referenceId));
  });

  it('a customers batch answers the same way, and the CLI sends those customers again', async () => {
    const failing = failNthTransaction(2); // several transactions: the second fails
    const { summary, batches } = await importCustomers('sc').finally(failing.remove);
    expect(failing.failed()).toBe(true);
    // The batch answered 200 with the customers of the failed transaction to send again.
    expect(batches).toHaveLength(2);
    expect(batches[1]).toBeLessThan(90);
    expect(rejectedRows(summary.rejectedFile)).toEqual([]);
    expect(summary.customers).toEqual({ rows: 90, created: 90, existing: 0, rejected: 0 });
  });

  it('the CLI sends again what can be sent again before later batches of the same customers', async () => {
    const people = ['cli-a', 'cli-b', 'cli-c'];
    const references = people.map((p) => `${p}-ref`);
    await runImport(
      options({ customersFile: csvFile(`externalId\n${[...people, ...references].join('\n')}\n`) }),
    );
    const PER_CUSTOMER = 30;
    /** Every customer's purchases, by date: each batch of 30 holds 10 of each customer's. */
    const purchasesCsv = (who: string[]) =>
      'customerExternalId,receiptId,occurredAt,amount,currency\n' +
      Array.from({ length: PER_CUSTOMER }, (_, i) =>
        who
          .map(
            (p) => `${p},${p}-${i},${purchaseAt(i, PER_CUSTOMER).toISOString()},${amountOf(i)},USD`,
          )
          .join('\n'),
      ).join('\n');
    const settings = { storeId, batchSize: 30, concurrency: 2 };
    const reference = await runImport(
      options({ purchasesFile: csvFile(purchasesCsv(references)), ...settings }),
    );
    expect(reference.purchases.imported).toBe(90);

    const failing = failNthTransaction(2);
    const { batches, recording } = recordingBatches('/v1/imports/purchases');
    let summary: Awaited<ReturnType<typeof runImport>>;
    try {
      summary = await runImport(
        options({ purchasesFile: csvFile(purchasesCsv(people)), ...settings, fetch: recording }),
      );
    } finally {
      failing.remove();
    }
    expect(failing.failed()).toBe(true);
    // The first batch met the failure; what it could not apply went again before the next.
    expect(batches).toHaveLength(4);
    expect(batches[1]).toBeLessThan(30);
    expect(batches.filter((size) => size === 30)).toHaveLength(3);
    expect(rejectedRows(summary.rejectedFile)).toEqual([]);
    expect(summary.purchases).toEqual({ rows: 90, imported: 90, duplicates: 0, rejected: 0 });
    for (const [i, p] of people.entries()) {
      const id = (await t.call('GET', `/v1/customers?externalId=${p}`)).body.id;
      const ref = (await t.call('GET', `/v1/customers?externalId=${references[i]}`)).body.id;
      expect(await history(id), p).toEqual(await history(ref));
    }
  });
});

// ---------------------------------------------------------------- a write the database refuses

/**
 * Refuses every TransactWriteItems that mentions `customerId` (or any other string: an
 * email), as DynamoDB refuses a request
 * it will never accept (a ValidationException, such as an item over 400 KB): the same
 * answer however often it is sent. Everything else reaches DynamoDB Local as usual.
 */
function refuseTransactionsOf(customerId: string) {
  const name = `refuseTransactionsOf-${++n}`;
  let refused = 0;
  db().middlewareStack.add(
    (next, context) => async (args) => {
      if (
        context.commandName === 'TransactWriteItemsCommand' &&
        JSON.stringify(args.input).includes(customerId)
      ) {
        refused++;
        throw new DynamoDBServiceException({
          name: 'ValidationException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'Item size has exceeded the maximum allowed size',
        });
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return { refused: () => refused, remove: () => db().middlewareStack.remove(name) };
}

describe('an import batch with a write the database refuses', () => {
  it("rejects that customer's purchases once, not sent again, and imports everyone else's", async () => {
    const storeId = (await t.call('POST', '/v1/stores', { body: { name: 'Refusing street' } })).body
      .id;
    const people = ['rv-a', 'rv-b', 'rv-c'];
    await runImport(options({ customersFile: csvFile(`externalId\n${people.join('\n')}\n`) }));
    const refusedId = (await t.call('GET', '/v1/customers?externalId=rv-b')).body.id;
    const PER_CUSTOMER = 20;
    const csv =
      'customerExternalId,receiptId,occurredAt,amount,currency\n' +
      Array.from({ length: PER_CUSTOMER }, (_, i) =>
        people
          .map(
            (p) => `${p},${p}-${i},${purchaseAt(i, PER_CUSTOMER).toISOString()},${amountOf(i)},USD`,
          )
          .join('\n'),
      ).join('\n');
    const { batches, recording } = recordingBatches('/v1/imports/purchases');
    const refusing = refuseTransactionsOf(refusedId);
    let summary: Awaited<ReturnType<typeof runImport>>;
    try {
      summary = await runImport(
        options({
          purchasesFile: csvFile(csv),
          storeId,
          batchSize: 30,
          concurrency: 1,
          fetch: recording,
        }),
      );
    } finally {
      refusing.remove();
    }
    expect(refusing.refused()).toBeGreaterThan(0);
    // Two batches of 30, each sent once: nothing to send again.
    expect(batches).toEqual([30, 30]);
    const rejected = rejectedRows(summary.rejectedFile);
    expect(rejected).toHaveLength(PER_CUSTOMER);
    for (const row of rejected) {
      expect(JSON.parse(row.row ?? '{}').customerExternalId).toBe('rv-b');
      expect(row.code).toBe('internal-error');
    }
    expect(summary.purchases).toEqual({
      rows: 3 * PER_CUSTOMER,
      imported: 2 * PER_CUSTOMER,
      duplicates: 0,
      rejected: PER_CUSTOMER,
    });
  });
});

describe('a customers batch with a write the database refuses', () => {
  it('rejects that customer once, not sent again, and creates everyone else', async () => {
    const refusing = refuseTransactionsOf('rc7@example.com');
    const { summary, batches } = await importCustomers('rc').finally(refusing.remove);
    expect(refusing.refused()).toBeGreaterThan(0);
    expect(batches).toEqual([90]);
    const rejected = rejectedRows(summary.rejectedFile);
    expect(rejected.map((r) => [JSON.parse(r.row ?? '{}').externalId, r.code])).toEqual([
      ['rc-7', 'internal-error'],
    ]);
    expect(summary.customers).toEqual({ rows: 90, created: 89, existing: 0, rejected: 1 });
  });
});
