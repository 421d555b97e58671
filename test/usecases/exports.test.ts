import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentName } from '../../lib/exports/sinks.ts';
import type { Principal } from '../../lib/principal.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { deleteCustomerExports, getExport } from '../../lib/store/exports.ts';
import { keys } from '../../lib/store/keys.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { exportStatus, requestExport, runExports } from '../../lib/usecases/exports.ts';
import { startTestTable, storedItem } from '../support/table.ts';

/**
 * The export use cases called directly on DynamoDB Local: the request, the job's claims
 * under overlapping runs, a run out of time, failures and their retries, and the deletion
 * of a customer's exports. The job's clock is its asOf, never the wall clock's hour.
 */
const app: Principal = { keyId: 'key_app', role: 'app' };
const MINUTE = 60_000;
let dir: string;
let n = 0;
const later = (ms: number) => ({ deadline: Date.now() + 60_000, at: new Date(Date.now() + ms) });

beforeAll(async () => {
  await startTestTable();
  dir = mkdtempSync(join(tmpdir(), 'exports-usecase-'));
  process.env.LOYALTY_EXPORT_DIR = dir;
  process.env.LOYALTY_EXPORT_LINK_BASE = 'http://127.0.0.1:1';
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const customer = async () => (await enrolCustomer({ externalId: `exp-${++n}` })).id;
const request = async (customerId: string) =>
  (await requestExport(app, customerId, undefined)).value.id;

describe('requestExport and the exports job', () => {
  it('writes each export once however many runs overlap', async () => {
    const id = await request(await customer());
    const runs = await Promise.all(
      [0, 1, 2, 3].map(() => runExports(new Date(), { deadline: Date.now() + 60_000 })),
    );
    expect(runs.reduce((sum, r) => sum + r.exported, 0)).toBe(1);
    const stored = await getExport(id, new Date());
    expect(stored).toMatchObject({ status: 'ready', attempts: 1, document: documentName(id) });
    expect(stored?.bytes).toBeGreaterThan(100);
    expect(await storedItem(keys.export(id))).not.toHaveProperty('GSI1PK');
    expect(readdirSync(dir)).toContain(documentName(id));
    // Nothing is due any more.
    expect(await runExports(new Date(), { deadline: Date.now() + 60_000 })).toMatchObject({
      exported: 0,
    });
  });

  it('counts what is due without writing it on a dry run', async () => {
    const id = await request(await customer());
    const dry = await runExports(new Date(), { deadline: Date.now() + 60_000, dryRun: true });
    expect(dry).toMatchObject({ exported: 1 });
    expect(await getExport(id, new Date())).toMatchObject({ status: 'running', attempts: 0 });
    await runExports(new Date(), { deadline: Date.now() + 60_000 });
  });

  it('leaves an export it cannot finish in time for the next run, counting no attempt', async () => {
    const id = await request(await customer());
    // A deadline already past: the run stops at the document's first page.
    const cut = await runExports(new Date(), { deadline: Date.now() - 1 });
    expect(cut).toMatchObject({ exported: 0, complete: false });
    expect(await getExport(id, new Date())).toMatchObject({ status: 'running', attempts: 0 });
    expect(existsSync(join(dir, documentName(id)))).toBe(false);
    expect(existsSync(join(dir, `${documentName(id)}.partial`))).toBe(false);
    expect(await runExports(new Date(), { deadline: Date.now() + 60_000 })).toMatchObject({
      exported: 1,
    });
  });

  it('tries a failing export again a minute later, and fails it after 3 attempts', async () => {
    const customerId = await customer();
    const id = await request(customerId);
    // The customer's item gone (as no API does): the document cannot be written.
    await db().send(new DeleteCommand({ TableName: tableName(), Key: keys.customer(customerId) }));
    const first = await runExports(new Date(), { deadline: Date.now() + 60_000 });
    expect(first).toMatchObject({ exported: 0, failed: 0 });
    expect(await getExport(id, new Date())).toMatchObject({ status: 'running', attempts: 1 });
    // Not due again before its minute is up.
    expect(await runExports(new Date(), { deadline: Date.now() + 60_000 })).toMatchObject({
      exported: 0,
      failed: 0,
    });
    expect(await getExport(id, new Date())).toMatchObject({ attempts: 1 });
    const second = later(2 * MINUTE);
    await runExports(second.at, { deadline: second.deadline });
    const third = later(4 * MINUTE);
    expect(await runExports(third.at, { deadline: third.deadline })).toMatchObject({ failed: 1 });
    expect(await getExport(id, new Date())).toMatchObject({ status: 'failed', attempts: 3 });
    expect(await exportStatus(app, id)).toEqual({ id, status: 'failed' });
  });

  it('answers another credential 404, and a replayed request the same export', async () => {
    const customerId = await customer();
    const idem = { scope: app.keyId, key: `req-${++n}`, requestHash: 'h' };
    const first = await requestExport(app, customerId, idem);
    const again = await requestExport(app, customerId, idem);
    expect(again).toEqual({ value: first.value, replayed: true });
    await expect(
      exportStatus({ keyId: 'key_other', role: 'app' }, first.value.id),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(requestExport(app, 'cus_nobody', undefined)).rejects.toMatchObject({
      code: 'not-found',
    });
  });
});

describe('deleteCustomerExports', () => {
  it('deletes every export of a customer, ready or still running, documents and items', async () => {
    const customerId = await customer();
    const ready = await request(customerId);
    await runExports(new Date(), { deadline: Date.now() + 60_000 });
    const running = await request(customerId);
    const other = await request(await customer());
    expect(await deleteCustomerExports(customerId)).toBe(2);
    for (const id of [ready, running]) {
      expect(await storedItem(keys.export(id))).toBeUndefined();
      expect(await storedItem(keys.customerExport(customerId, id))).toBeUndefined();
      expect(existsSync(join(dir, documentName(id)))).toBe(false);
    }
    // The running one is no longer due; the other customer's is untouched.
    expect(await runExports(new Date(), { deadline: Date.now() + 60_000 })).toMatchObject({
      exported: 1,
    });
    expect(await getExport(other, new Date())).toMatchObject({ status: 'ready' });
    expect(await deleteCustomerExports(customerId)).toBe(0);
  });
});
