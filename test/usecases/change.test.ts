import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CUSTOMER_POINTS } from '../../lib/domain/customer.ts';
import { DomainError } from '../../lib/errors.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { getCustomerConsistent } from '../../lib/store/customers.ts';
import {
  changeCustomers,
  type Decision,
  done,
  MAX_ATTEMPTS,
  write,
} from '../../lib/usecases/change.ts';
import { enrolCustomer } from '../../lib/usecases/customers.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The one customer-change loop (lib/usecases/change.ts) on DynamoDB Local: nothing written
 * for a `done`, a lost race retried from a fresh read, the idempotent replay, a named
 * conflict of an extra item, the bound on totals, and the 503 once the attempts run out.
 */
type Idem = NonNullable<Parameters<typeof changeCustomers>[0]['idempotency']>['ctx'];
const key = (): Idem => ({ scope: 'k', key: randomUUID(), requestHash: 'h' });
let n = 0;
const enrol = async () => (await enrolCustomer({ externalId: `chg-${++n}` })).id;
const stateOf = async (id: string) => {
  const c = await getCustomerConsistent(id);
  if (!c) throw new Error(`no customer ${id}`);
  return c;
};

/** Adds `delta` available points to the customer as read now (no ledger entry: a test change). */
async function add(id: string, delta: number, answer?: unknown): Promise<Decision<number>> {
  const c = await stateOf(id);
  return write({
    changes: [
      {
        customer: { ...c, version: c.version + 1, available: c.available + delta },
        expectedVersion: c.version,
        entries: [],
        events: [],
      },
    ],
    ...(answer !== undefined && { answer }),
    result: c.available + delta,
  });
}

beforeAll(async () => {
  await startTestTable();
});

describe('changeCustomers', () => {
  it('writes nothing for a done decision, and commits a write once', async () => {
    const id = await enrol();
    const before = await stateOf(id);
    expect(await changeCustomers({ attempt: async () => done('nothing') })).toBe('nothing');
    expect((await stateOf(id)).version).toBe(before.version);

    expect(await changeCustomers({ attempt: () => add(id, 7) })).toBe(before.available + 7);
    const after = await stateOf(id);
    expect(after).toMatchObject({ version: before.version + 1, available: before.available + 7 });
  });

  it('starts again from a fresh read when another change got in first, losing neither', async () => {
    const id = await enrol();
    const base = (await stateOf(id)).available;
    const attempts: number[] = [];
    const result = await changeCustomers({
      attempt: async (_now, attempt) => {
        attempts.push(attempt);
        const decision = await add(id, 10);
        // On the first attempt another change commits between this read and its write.
        if (attempt === 0) await changeCustomers({ attempt: () => add(id, 100) });
        return decision;
      },
    });
    expect(attempts).toEqual([0, 1]);
    expect(result).toBe(base + 110);
    expect((await stateOf(id)).available).toBe(base + 110);
  });

  it('stores the answer with the change, and a repeated key replays it without applying again', async () => {
    const id = await enrol();
    const base = (await stateOf(id)).available;
    const ctx = key();
    const run = () =>
      changeCustomers<{ points: number; replayed?: boolean }>({
        attempt: async () => {
          const d = await add(id, 5);
          if (d.kind !== 'write') throw new Error('expected a write');
          const answer = { points: d.result };
          return write({ ...d, answer, result: answer });
        },
        idempotency: {
          ctx,
          replay: (stored) => ({ ...(stored.answer as { points: number }), replayed: true }),
        },
      });
    expect(await run()).toEqual({ points: base + 5 });
    expect(await run()).toEqual({ points: base + 5, replayed: true });
    expect((await stateOf(id)).available).toBe(base + 5);
  });

  it('refuses an idempotent change without an answer to store', async () => {
    const id = await enrol();
    await expect(
      changeCustomers({ attempt: () => add(id, 1), idempotency: { ctx: key(), replay: () => 0 } }),
    ).rejects.toThrow('an idempotent change needs its answer');
  });

  it("turns an extra item's failed condition into the error named for it, writing nothing", async () => {
    const id = await enrol();
    const before = await stateOf(id);
    const taken = { PK: `TEST#${randomUUID()}`, SK: 'TAKEN' };
    await db().send(new PutCommand({ TableName: tableName(), Item: taken }));
    const error = await changeCustomers({
      attempt: async () => {
        const d = await add(id, 3);
        if (d.kind !== 'write') throw new Error('expected a write');
        return write({
          ...d,
          extras: [
            {
              item: {
                Put: {
                  TableName: tableName(),
                  Item: taken,
                  ConditionExpression: 'attribute_not_exists(PK)',
                },
              },
              onFailure: 'taken',
            },
          ],
        });
      },
      conflicts: { taken: () => new DomainError('conflict', 'already taken') },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'conflict', detail: 'already taken' });
    expect(await stateOf(id)).toMatchObject({
      version: before.version,
      available: before.available,
    });
  });

  it('refuses a change that would take points past their bound as validation-failed', async () => {
    const id = await enrol();
    const before = await stateOf(id);
    await expect(
      changeCustomers({ attempt: () => add(id, MAX_CUSTOMER_POINTS + 1) }),
    ).rejects.toMatchObject({ code: 'validation-failed' });
    expect((await stateOf(id)).version).toBe(before.version);
  });

  it(`answers service-unavailable after ${MAX_ATTEMPTS} lost races, or what onTooContended gives`, async () => {
    const id = await enrol();
    let attempts = 0;
    // Every attempt expects a version the customer does not have.
    const stale = async (): Promise<Decision<string>> => {
      attempts++;
      const c = await stateOf(id);
      return write({
        changes: [
          {
            customer: { ...c, version: c.version + 2 },
            expectedVersion: c.version + 1,
            entries: [],
            events: [],
          },
        ],
        result: 'written',
      });
    };
    await expect(changeCustomers({ attempt: stale })).rejects.toMatchObject({
      code: 'service-unavailable',
    });
    expect(attempts).toBe(MAX_ATTEMPTS);
    expect(await changeCustomers({ attempt: stale, onTooContended: () => 'skipped' })).toBe(
      'skipped',
    );
  });
});
