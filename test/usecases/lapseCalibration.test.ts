import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CustomerState, newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { newId } from '../../lib/ids.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { customerItem, getCustomerConsistent } from '../../lib/store/customers.ts';
import { forgetCachedProgram, putProgram } from '../../lib/store/program.ts';
import { listEvents } from '../../lib/usecases/events.ts';
import { lapseQualityReport, runLapseScan } from '../../lib/usecases/lapse.ts';
import { startTestTable } from '../support/table.ts';

/**
 * Contract section 13 on DynamoDB Local: calibrated mode chooses its pair by the nightly
 * backtest, flags by it at once and records `program.lapse-calibrated`; the table is this
 * file's alone, since the backtest's sample is every customer in it. Customers are built by the domain code (newCustomer
 * and PointsChange purchases, as the purchase route builds them) and stored with the
 * store's own customerItem, so hundreds of histories load in a second.
 */
const DAY = 86_400_000;
/** The runs' asOf: now, so the purchase days below are whole days in the past. */
const A = Date.now();

type Spec = { days: number[]; hour?: number };

let n = 0;
/** A customer who bought `days` days before A (at `hour` o'clock UTC of that day's A). */
function build(spec: Spec, program: Program): CustomerState {
  const id = newId('cus', A - 3000 * DAY);
  const instants = [...spec.days].sort((a, b) => b - a).map((d) => A - d * DAY);
  let state = newCustomer(
    id,
    { externalId: `cal-${++n}` },
    program,
    new Date((instants[0] as number) - DAY),
  );
  for (const t of instants) {
    const occurredAt = new Date(t);
    const change = new PointsChange(state, program, occurredAt).settle();
    change.purchase({
      amount: 2_000,
      occurredAt,
      availableAt: occurredAt,
      purchaseId: newId('pur', t),
    });
    state = change.customer;
  }
  return state;
}

async function store(items: Record<string, unknown>[]) {
  for (let i = 0; i < items.length; i += 25) {
    const { UnprocessedItems } = await db().send(
      new BatchWriteCommand({
        RequestItems: {
          [tableName()]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
        },
      }),
    );
    expect(Object.keys(UnprocessedItems ?? {})).toHaveLength(0);
  }
}

async function seed(specs: Spec[], program: Program): Promise<CustomerState[]> {
  const built = specs.map((s) => build(s, program));
  await store(built.map(customerItem));
  return built;
}

async function setLapse(lapse: Partial<Program['lapse']>) {
  await putProgram({ ...defaultProgram, lapse: { ...defaultProgram.lapse, ...lapse } });
  forgetCachedProgram();
}

async function statesOf(customers: CustomerState[]) {
  return Promise.all(
    customers.map(async (c) => (await getCustomerConsistent(c.id)) as CustomerState),
  );
}

async function allEvents() {
  const all: any[] = [];
  let cursor: string | undefined;
  do {
    const page = await listEvents(100, cursor);
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

beforeAll(async () => {
  await startTestTable();
});

describe('calibrated mode', () => {
  it('falls back to the fixed pair, and says why, while the data is insufficient', async () => {
    await setLapse({ mode: 'calibrated', targetPrecision: 0.9 });
    const report = (await lapseQualityReport()) as any;
    expect(report.flag).toMatchObject({ factor: 2, minDays: 14 });
    expect(report.calibration).toMatchObject({
      mode: 'calibrated',
      targetPrecision: 0.9,
      source: 'fixed',
    });
    const run = await runLapseScan(new Date(A));
    expect(run.thresholds).toEqual({ factor: 2, minDays: 14, source: 'fixed' });
    const after = (await lapseQualityReport()) as any;
    expect(after.insufficientData).toMatch(/customers with 2 or more purchase days/);
    expect(after.calibration.fallbackReason).toMatch(/^not enough data to calibrate: only \d+ /);
    expect((await allEvents()).filter((e) => e.type === 'program.lapse-calibrated')).toEqual([]);
  });

  it('chooses its pair by the backtest, flags by it at once, and records the change', async () => {
    // The merchant's fixed pair is 2 / 90: for customers who buy every 10 days it waits
    // 90 days. At the backtest's cut-off (A - 90 days), everyone has bought every 10 days
    // for 200 days. "Gone" stopped 60 days before the cut-off and never came back;
    // "pausers" stopped 25 days before it and came back 10 days after it; "regulars"
    // bought 5 days before it and since. "Newcomers" bought every 10 days from 70 to 50
    // days before A (after the cut-off: not in the backtest).
    const fixedPair = { factor: 2, minDays: 90 };
    await setLapse({ mode: 'fixed', ...fixedPair, targetPrecision: 0.9 });
    const cut = 90;
    const every10 = (from: number, to: number) =>
      Array.from({ length: Math.floor((from - to) / 10) + 1 }, (_, k) => from - 10 * k);
    const gone = await seed(
      Array.from({ length: 260 }, () => ({ days: every10(cut + 260, cut + 60) })),
      defaultProgram,
    );
    const pausers = await seed(
      Array.from({ length: 260 }, () => ({ days: [...every10(cut + 225, cut + 25), cut - 10] })),
      defaultProgram,
    );
    const regulars = await seed(
      Array.from({ length: 100 }, () => ({ days: every10(cut + 205, 5) })),
      defaultProgram,
    );
    const newcomers = await seed(
      Array.from({ length: 4 }, () => ({ days: [70, 60, 50] })),
      defaultProgram,
    );
    const statuses = async (group: CustomerState[]) => [
      ...new Set((await statesOf(group)).map((c) => c.status)),
    ];

    // Fixed mode: the gone (silent 150 days) are flagged; pausers (80) and newcomers (50)
    // are not yet.
    const fixed = await runLapseScan(new Date(A));
    expect(fixed).toMatchObject({ flagged: 260, thresholds: { ...fixedPair, source: 'fixed' } });
    const report = (await lapseQualityReport()) as any;
    expect(report.insufficientData).toBeUndefined();
    expect(report.evaluated).toBe(620);
    expect(report.cameBack).toBe(360);
    // 2 / 90 at the cut-off flagged nobody: no precision, recall 0.
    expect(report.flag).toEqual({ ...fixedPair, precision: null, recall: 0 });
    expect(report.calibration).toMatchObject({ mode: 'fixed', source: 'fixed' });
    expect(await statuses(pausers)).toEqual(['active']);

    // Calibrated for 0.9, the report shows at once what it would put in force: of the
    // grid, the pairs waiting 30 to 59 days for a 10-day gap flag exactly the gone at the
    // cut-off (recall 1, precision 1); ties go to the smaller minDays, then the smaller
    // factor: 3 / 14 (30 days; 2.5 x 10 = 25 days would also take the pausers).
    await setLapse({ mode: 'calibrated', ...fixedPair, targetPrecision: 0.9 });
    const calibratedNow = (await lapseQualityReport()) as any;
    expect(calibratedNow.flag).toEqual({ factor: 3, minDays: 14, precision: 1, recall: 1 });
    expect(calibratedNow.calibration).toEqual({
      mode: 'calibrated',
      targetPrecision: 0.9,
      source: 'calibrated',
      fixed: { ...fixedPair, precision: null, recall: 0 },
    });
    // The run flags by it: pausers (80 days > 30) and newcomers (50 > 30) now; regulars not.
    const calibrated = await runLapseScan(new Date(A));
    expect(calibrated).toMatchObject({
      flagged: 264,
      thresholds: { factor: 3, minDays: 14, source: 'calibrated' },
    });
    expect(await statuses(pausers)).toEqual(['lapsed']);
    expect(await statuses(newcomers)).toEqual(['lapsed']);
    expect(await statuses(regulars)).toEqual(['active']);
    expect(await statuses(gone)).toEqual(['lapsed']);
    const events = (await allEvents()).filter((e) => e.type === 'program.lapse-calibrated');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      customerId: null,
      data: {
        factor: 3,
        minDays: 14,
        source: 'calibrated',
        targetPrecision: 0.9,
        backtest: { precision: 1, recall: 1 },
        previous: { ...fixedPair, source: 'fixed' },
      },
    });

    // The same pair the next night: no new event.
    await runLapseScan(new Date(A + 60_000));
    expect((await allEvents()).filter((e) => e.type === 'program.lapse-calibrated')).toHaveLength(
      1,
    );

    // Back to fixed mode: in force at once in the report; the run announces it.
    await setLapse({ mode: 'fixed', ...fixedPair, targetPrecision: 0.9 });
    expect(((await lapseQualityReport()) as any).flag).toEqual({
      ...fixedPair,
      precision: null,
      recall: 0,
    });
    const back = await runLapseScan(new Date(A + 120_000));
    expect(back.thresholds).toEqual({ ...fixedPair, source: 'fixed' });
    const last = (await allEvents()).filter((e) => e.type === 'program.lapse-calibrated');
    expect(last).toHaveLength(2);
    expect(last[1].data).toMatchObject({
      ...fixedPair,
      source: 'fixed',
      previous: { factor: 3, minDays: 14, source: 'calibrated' },
    });
  });
});
