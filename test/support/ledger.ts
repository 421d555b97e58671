import { expect } from 'vitest';
import type { TestApi } from './api.ts';

/** Every ledger entry of a customer, following cursors to the end (newest first). */
export async function wholeLedger(t: TestApi, customerId: string): Promise<any[]> {
  const entries: any[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=100&cursor=${cursor}` : '?limit=100';
    const page = await t.call('GET', `/v1/customers/${customerId}/activity${query}`);
    expect(page.status).toBe(200);
    entries.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return entries;
}

/** The bar: available points equal the sum of the ledger, and each balanceAfter adds up. */
export async function expectBalanceEqualsLedger(t: TestApi, customerId: string): Promise<void> {
  const customer = await t.call('GET', `/v1/customers/${customerId}`);
  const entries = (await wholeLedger(t, customerId)).reverse();
  let running = 0;
  for (const entry of entries) {
    running += entry.points;
    expect(entry.balanceAfter).toBe(running);
  }
  expect(customer.body.points.available).toBe(running);
}
