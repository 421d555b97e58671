import { randomUUID } from 'node:crypto';
import { InternalServerError } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdempotencyContext, Principal } from '../../lib/principal.ts';
import { db } from '../../lib/store/client.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { importPurchases } from '../../lib/usecases/importPurchases.ts';
import { fitModel, lapseQualityReport, runLapseScan } from '../../lib/usecases/lapse.ts';
import { createPlace } from '../../lib/usecases/places.ts';
import { DAY, seedCustomers } from '../support/seedCustomers.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The lapse model and its backtest at the edges of issue 24, on DynamoDB Local through the
 * lapse-scan use case: customers who buy so often that 24 purchase days lie after the
 * backtest's cut-off, a scan as of the past, and purchases imported after the model's fit.
 * The table is this file's alone: the model's sample is every customer in it.
 */
const A = Date.now();
const admin: Principal = { keyId: 'key_admin', role: 'admin' };
const key = (): IdempotencyContext => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => from + k);

beforeAll(async () => {
  await startTestTable();
});

describe('the lapse scan at the edges of a purchase history', () => {
  it('backtests customers with 24 or more purchase days since the cut-off too', async () => {
    // 30 daily buyers, every day from 130 days ago to yesterday: 90-odd purchase days since
    // the cut-off (the start of the day 90 days ago). 10 weekly buyers who stopped 120 days
    // ago. Everyone bought before the cut-off; the daily buyers came back.
    await seedCustomers(
      Array.from({ length: 30 }, () => ({ days: range(1, 130) })),
      A,
    );
    await seedCustomers(
      Array.from({ length: 10 }, () => ({ days: [120, 127, 134, 141, 148] })),
      A,
    );
    const scan = await runLapseScan(new Date(A));
    const report = (await lapseQualityReport()) as any;
    expect(report).toMatchObject({ asOf: new Date(A).toISOString(), evaluated: 40, cameBack: 30 });
    expect(scan).toMatchObject({ complete: true, fitted: true });
    expect(scan.model).toMatchObject({ customers: 40, stale: false });
  });

  it('leaves the live model and quality report alone when run as of the past', async () => {
    const live = await runLapseScan(new Date(A));
    const before = await lapseQualityReport();
    const past = await runLapseScan(new Date(A - 30 * DAY));
    expect(past.model).toEqual(live.model);
    expect(await lapseQualityReport()).toEqual(before);
    expect(past).toMatchObject({ fitted: false, notFitted: 'past-as-of', complete: true });
    // A dry run says so too, and changes nothing.
    const dry = await runLapseScan(new Date(A), { dryRun: true });
    expect(dry).toMatchObject({ fitted: false, notFitted: 'dry-run' });
    expect(dry.model).toEqual(live.model);
  });

  it('says the model is stale after an import, and the next scan refits on all of it', async () => {
    const fitted = await runLapseScan(new Date(A));
    expect(fitted.model).toMatchObject({ customers: 40, stale: false });
    // Five newcomers' history imported: two purchases each, a month apart.
    const storeId = (await createPlace('store', 'Second store')).id;
    const ids = await Promise.all(
      range(1, 5).map(async (n) => (await enrolCustomer({ externalId: `edge-${n}` })).id),
    );
    const items = ids.flatMap((customerId, n) =>
      [40, 10].map((daysAgo) => ({
        customerId,
        storeId,
        receiptId: `r-${n}-${daysAgo}`,
        total: { amount: 2_500, currency: 'USD' },
        occurredAt: new Date(A - daysAgo * DAY).toISOString(),
      })),
    );
    const imported = await importPurchases(admin, items, key());
    expect(imported.value).toMatchObject({ imported: 10, errors: [] });
    const dry = await runLapseScan(new Date(A), { dryRun: true });
    expect(dry).toMatchObject({ fitted: false });
    expect(dry.model).toMatchObject({ customers: 40, stale: true });
    const refit = await runLapseScan(new Date(A));
    expect(refit).toMatchObject({ fitted: true });
    expect(refit.model).toMatchObject({ customers: 45, stale: false });
    // A rerun of the same import applies nothing, but marks the model stale all the same:
    // the mark goes before the writes (it cannot know they are all duplicates).
    const again = await importPurchases(admin, items, key());
    expect(again.value).toMatchObject({ imported: 0, duplicates: 10 });
    expect((await runLapseScan(new Date(A), { dryRun: true })).model).toMatchObject({
      stale: true,
    });
  });

  /** Five newcomers' purchases to import, two each (receipts named by `prefix`). */
  async function newcomersItems(prefix: string) {
    const storeId = (await createPlace('store', `Store ${prefix}`)).id;
    const ids = await Promise.all(
      range(1, 5).map(async (n) => (await enrolCustomer({ externalId: `${prefix}-${n}` })).id),
    );
    return ids.flatMap((customerId, n) =>
      [35, 5].map((daysAgo) => ({
        customerId,
        storeId,
        receiptId: `${prefix}-${n}-${daysAgo}`,
        total: { amount: 2_500, currency: 'USD' },
        occurredAt: new Date(A - daysAgo * DAY).toISOString(),
      })),
    );
  }

  /** Runs `during` before the store's first command named `command` for which `when` holds. */
  async function withHook<T>(
    command: string,
    when: (input: Record<string, unknown>) => boolean,
    during: () => Promise<void>,
    act: () => Promise<T>,
  ): Promise<{ result: T | undefined; error: unknown; hooked: boolean }> {
    const name = `hook-${randomUUID()}`;
    let hooked = false;
    db().middlewareStack.add(
      (next, context) => async (args) => {
        if (!hooked && context.commandName === command && when(args.input as never)) {
          hooked = true;
          await during();
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      return { result: await act(), error: undefined, hooked };
    } catch (error) {
      return { result: undefined, error, hooked };
    } finally {
      db().middlewareStack.remove(name);
    }
  }

  it('keeps the model stale when the stale mark fails and the batch is sent again', async () => {
    expect((await runLapseScan(new Date(A))).model).toMatchObject({ stale: false });
    const items = await newcomersItems('mark-fails');
    // The model item's counter write fails once, as DynamoDB fails on its side.
    const first = await withHook(
      'UpdateItemCommand',
      (input) => input.UpdateExpression === 'ADD imports :one',
      async () => {
        throw new InternalServerError({ message: 'Internal server error', $metadata: {} });
      },
      () => importPurchases(admin, items, key()),
    );
    expect(first.hooked).toBe(true);
    expect(first.error).toBeInstanceOf(InternalServerError);
    // The client sends the batch again, as after any 5xx.
    const again = await importPurchases(admin, items, key());
    expect(again.value).toMatchObject({ errors: [] });
    expect(again.value?.imported ?? 0).toBeLessThanOrEqual(10);
    expect((await runLapseScan(new Date(A), { dryRun: true })).model).toMatchObject({
      stale: true,
    });
  });

  it('leaves the model stale when a fit runs while an import is being written', async () => {
    expect((await runLapseScan(new Date(A))).model).toMatchObject({ stale: false });
    const items = await newcomersItems('fit-during');
    // A fit reads the customers after the import's mark but before its first transaction.
    const { result, hooked } = await withHook(
      'TransactWriteItemsCommand',
      () => true,
      async () => {
        await fitModel(new Date(A));
      },
      () => importPurchases(admin, items, key()),
    );
    expect(hooked).toBe(true);
    expect(result?.value).toMatchObject({ imported: 10, errors: [] });
    expect((await runLapseScan(new Date(A), { dryRun: true })).model).toMatchObject({
      stale: true,
    });
  });
});
