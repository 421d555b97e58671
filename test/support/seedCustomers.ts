import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { CustomerState } from '../../lib/domain/customer.ts';
import { newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';
import { newId } from '../../lib/ids.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { customerItem, getCustomerConsistent } from '../../lib/store/customers.ts';
import { forgetCachedProgram, putProgram } from '../../lib/store/program.ts';
import { listEvents } from '../../lib/usecases/events.ts';

/**
 * Customers with purchase histories, built by the domain code (newCustomer, then one
 * PointsChange purchase per day, as the purchase route builds them) and stored with the
 * store's own customerItem in BatchWriteItem calls: hundreds of histories in a second, for
 * the lapse tests that need a programme's worth of customers.
 */
export const DAY = 86_400_000;

/** A customer who bought once on each of `days` days before `asOf` (at asOf's time of day). */
export interface History {
  days: number[];
}

let n = 0;

export function buildCustomer(history: History, asOf: number, program: Program): CustomerState {
  const instants = [...history.days].sort((a, b) => b - a).map((d) => asOf - d * DAY);
  const first = instants[0] as number;
  let state = newCustomer(
    newId('cus', first - DAY),
    { externalId: `seed-${++n}` },
    program,
    new Date(first - DAY),
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

export async function storeItems(items: Record<string, unknown>[]): Promise<void> {
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

/** Builds and stores the customers; returns them as stored. */
export async function seedCustomers(
  histories: History[],
  asOf: number,
  program: Program = defaultProgram,
): Promise<CustomerState[]> {
  const built = histories.map((h) => buildCustomer(h, asOf, program));
  await storeItems(built.map(customerItem));
  return built;
}

/** The default program with these lapse settings, stored and read afresh. */
export async function setLapse(lapse: Partial<Program['lapse']>): Promise<void> {
  await putProgram({ ...defaultProgram, lapse: { ...defaultProgram.lapse, ...lapse } });
  forgetCachedProgram();
}

export const statesOf = (customers: CustomerState[]) =>
  Promise.all(customers.map(async (c) => (await getCustomerConsistent(c.id)) as CustomerState));

/** Every event in the outbox, oldest first, read `limit` a page. */
export async function allEvents(limit = 100) {
  const all: any[] = [];
  let cursor: string | undefined;
  do {
    const page = await listEvents(limit, cursor);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}
