import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { getCustomerConsistent } from '../../lib/store/customers.ts';
import { getProgram } from '../../lib/store/program.ts';
import { changeCustomers, done, write } from '../../lib/usecases/change.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { expectBalanceEqualsLedger, wholeLedger } from '../support/ledger.ts';

let t: TestApi;
let n = 0;

async function enrol(): Promise<string> {
  return (await t.call('POST', '/v1/customers', { body: { externalId: `ch-${++n}` } })).body.id;
}
const read = async (id: string) => {
  const customer = await getCustomerConsistent(id);
  if (!customer) throw new Error(`no customer ${id}`);
  return customer;
};

beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.api.stop());

describe('the one customer-change path', () => {
  it('writes changes to several customers in one transaction', async () => {
    const [a, b] = [await enrol(), await enrol()];
    const program = await getProgram();
    await changeCustomers({
      attempt: async (now) => {
        const changes = [await read(a), await read(b)].map((c) => {
          const change = new PointsChange(c, program, now);
          change.adjust(100, 'shared campaign');
          return change;
        });
        return write({ changes, result: undefined });
      },
    });
    for (const id of [a, b]) {
      expect((await read(id)).available).toBe(100);
      await expectBalanceEqualsLedger(t, id);
    }
  });

  it('takes many operations on one customer as one change, a ledger entry each', async () => {
    const id = await enrol();
    const program = await getProgram();
    const before = await read(id);
    await changeCustomers({
      attempt: async (now) => {
        const change = new PointsChange(await read(id), program, now);
        for (const points of [10, 20, 30]) change.adjust(points, `import line ${points}`);
        return write({ changes: [change], result: undefined });
      },
    });
    const after = await read(id);
    expect(after.version).toBe(before.version + 3);
    expect((await wholeLedger(t, id)).map((e) => e.points)).toEqual([30, 20, 10]);
    await expectBalanceEqualsLedger(t, id);
  });

  it('starts again from a fresh read when another change got in first, and applies once', async () => {
    const id = await enrol();
    const program = await getProgram();
    const stale = await read(id);
    // Another change commits after `stale` was read.
    expect(
      (
        await t.call('POST', `/v1/customers/${id}/adjustments`, {
          body: { points: 5, reason: 'meanwhile' },
          headers: { 'idempotency-key': `ch-adj-${++n}` },
        })
      ).status,
    ).toBe(201);
    const attempts: number[] = [];
    await changeCustomers({
      attempt: async (now, attempt) => {
        attempts.push(attempt);
        const change = new PointsChange(attempt === 0 ? stale : await read(id), program, now);
        change.adjust(7, 'after the race');
        return write({ changes: [change], result: undefined });
      },
    });
    expect(attempts).toEqual([0, 1]);
    expect((await read(id)).available).toBe(12);
    await expectBalanceEqualsLedger(t, id);
  });

  it('writes nothing when an attempt decides there is nothing to do', async () => {
    const id = await enrol();
    const before = await read(id);
    expect(await changeCustomers({ attempt: async () => done('nothing due') })).toBe('nothing due');
    expect((await read(id)).version).toBe(before.version);
  });

  it('refuses two changes to one customer in one transaction', async () => {
    const id = await enrol();
    const program = await getProgram();
    await expect(
      changeCustomers({
        attempt: async (now) => {
          const c = await read(id);
          return write({
            changes: [new PointsChange(c, program, now), new PointsChange(c, program, now)],
            result: undefined,
          });
        },
      }),
    ).rejects.toThrow(/one change per customer/);
  });
});
