import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as expirePoints } from '../../functions/runExpirePoints.ts';
import { type CustomerState, MAX_CUSTOMER_POINTS, newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { type Continuation, continueLocally } from '../../lib/http/continuation.ts';
import { newId } from '../../lib/ids.ts';
import { customerItem, getCustomerConsistent, listLedger } from '../../lib/store/customers.ts';
import { forgetCachedProgram, putProgram } from '../../lib/store/program.ts';
import { createCampaign } from '../../lib/usecases/campaigns.ts';
import { runJob } from '../../lib/usecases/jobs.ts';
import { inParallel } from '../../lib/usecases/parallel.ts';
import { seedCustomers, storeItems } from '../support/seedCustomers.ts';
import { startTestTable } from '../support/table.ts';

/**
 * A daily job with more due than one run takes: the scheduled run stops at its deadline
 * with work left and starts its next run at once (lib/http/continuation.ts; the local
 * server's continuer is stood in for here by a queue of runs), until the day's work is
 * done, each customer changed exactly once, also when two chains overlap. The customers
 * bought 400 and 300 days before now under 180-day expiry: all their points are due to
 * expire now, whatever the hour.
 */
const program: Program = { ...defaultProgram, pointsExpireAfterDays: 180 };

/** Runs the scheduled handler, and each run it asks for, as the local server would. */
async function drain(budgetMs: number, chains = 1): Promise<{ runs: number; last: any }> {
  let asked: (Continuation | undefined)[] = Array.from({ length: chains }, () => undefined);
  let runs = 0;
  let last: any;
  continueLocally((_job, next) => {
    asked.push(next);
  });
  // The handler's deadline: what the context says is left, less 5 s.
  const context = { getRemainingTimeInMillis: () => 5_000 + budgetMs };
  try {
    while (asked.length > 0 && runs < 100) {
      const wave = asked;
      asked = [];
      runs += wave.length;
      const results = await Promise.all(wave.map((event) => expirePoints(event, context as any)));
      last = results.at(-1);
    }
  } finally {
    continueLocally(undefined);
  }
  return { runs, last };
}

async function expectExpiredOnce(customers: CustomerState[]) {
  await inParallel(customers, 16, async (c) => {
    const now = (await getCustomerConsistent(c.id)) as CustomerState;
    expect(now.available, c.id).toBe(0);
    const ledger = await listLedger(c.id, 50, undefined);
    const expiries = ledger.items.filter((e) => e.type === 'expire');
    expect(expiries, c.id).toHaveLength(1);
    expect(expiries[0]?.points).toBe(-c.available);
    // One change: the version moved by exactly its one ledger entry.
    expect(now.version).toBe(c.version + 1);
  });
}

describe('a job with more due than one run takes', () => {
  beforeAll(async () => {
    await startTestTable();
    await putProgram(program);
    forgetCachedProgram();
  });
  afterAll(() => continueLocally(undefined));

  it('continues at once until done, each customer changed exactly once', {
    timeout: 90_000,
  }, async () => {
    const customers = await seedCustomers(
      Array.from({ length: 450 }, () => ({ days: [400, 300] })),
      Date.now(),
      program,
    );
    expect(customers.every((c) => c.available > 0)).toBe(true);
    const { runs, last } = await drain(300);
    // A run takes a page of 200 or two before its budget is gone: more than one run.
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThan(100);
    expect(last.complete).toBe(true);
    await expectExpiredOnce(customers);
    // Nothing is left: a run finds nobody due.
    expect((await runJob('expire-points', new Date())).customers).toBe(0);
  });

  it('two chains overlapping still change each customer once', { timeout: 60_000 }, async () => {
    const customers = await seedCustomers(
      Array.from({ length: 300 }, () => ({ days: [400, 300] })),
      Date.now(),
      program,
    );
    const { last } = await drain(300, 2);
    expect(last.complete).toBe(true);
    await expectExpiredOnce(customers);
  });

  it('leaves a customer the change would take past the points bound as they are, and credits the rest', async () => {
    const now = new Date();
    const yesterday = new Date(now.getTime() - 86_400_000);
    await createCampaign(
      {
        name: 'Birthday',
        type: 'birthday',
        points: 250,
        startsAt: new Date(now.getTime() - 30 * 86_400_000).toISOString(),
      },
      { scope: 'drain', key: 'birthday', requestHash: 'h' },
      now,
    );
    // Born yesterday (month and day), last credited a year before: due now, whatever the hour.
    const born = (available: number) => {
      const enrolled = new Date(now.getTime() - 400 * 86_400_000);
      const state = newCustomer(
        newId('cus', enrolled.getTime()),
        {
          externalId: `bound-${available}`,
          birthDate: `2000-${yesterday.toISOString().slice(5, 10)}`,
        },
        program,
        enrolled,
      );
      const lots =
        available > 0 ? { [now.toISOString().slice(0, 10).replaceAll('-', '')]: available } : {};
      return new PointsChange(
        { ...state, available, lots, birthdayYear: yesterday.getUTCFullYear() - 1 },
        program,
        now,
      ).customer;
    };
    const full = born(MAX_CUSTOMER_POINTS - 100);
    const others = Array.from({ length: 40 }, () => born(0));
    await storeItems([full, ...others].map(customerItem));
    const run = await runJob('birthday-bonus', now);
    expect(run).toMatchObject({ customers: 40, points: 40 * 250, complete: true });
    expect((await getCustomerConsistent(full.id))?.available).toBe(MAX_CUSTOMER_POINTS - 100);
    for (const c of others) expect((await getCustomerConsistent(c.id))?.available).toBe(250);
  });

  it('a dry run writes nothing, and a run without a budget does the lot in one', {
    timeout: 60_000,
  }, async () => {
    const customers = await seedCustomers(
      Array.from({ length: 250 }, () => ({ days: [400, 300] })),
      Date.now(),
      program,
    );
    const dry = await runJob('expire-points', new Date(), { dryRun: true });
    expect(dry.customers).toBe(250);
    const untouched = (await getCustomerConsistent(customers[0]!.id)) as CustomerState;
    expect(untouched.version).toBe(customers[0]!.version);
    const run = await runJob('expire-points', new Date());
    expect(run).toMatchObject({ customers: 250, complete: true });
    expect(run.points).toBe(customers.reduce((sum, c) => sum + c.available, 0));
    await expectExpiredOnce(customers);
  });
});
