import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdempotencyContext, Principal } from '../../lib/http/context.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { importPurchases } from '../../lib/usecases/imports.ts';
import { lapseQualityReport, runLapseScan } from '../../lib/usecases/lapse.ts';
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
    // A rerun of the same import applies nothing, so the model stays as fresh as it was.
    const again = await importPurchases(admin, items, key());
    expect(again.value).toMatchObject({ imported: 0, duplicates: 10 });
    expect((await runLapseScan(new Date(A), { dryRun: true })).model).toMatchObject({
      stale: false,
    });
  });
});
