/**
 * Reading a customer with what fell due applied: the one read every customer view goes
 * through (GET /v1/customers/{id}, /v1/me, the console).
 */

import { type CustomerState, type CustomerView, customerView } from '../domain/customer.ts';
import type { ErasedCustomerView } from '../domain/erase.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import type { Program } from '../domain/program.ts';
import { notFound } from '../errors.ts';
import { getCustomer, getCustomerConsistent } from '../store/customers.ts';
import { getModel } from '../store/model.ts';
import { getProgram } from '../store/program.ts';
import { changeCustomers, done, write } from './change.ts';

/**
 * A customer as of now. Whatever fell due since the last change (pending points that
 * became available, expired points, a tier review) is written first, lazily, with its
 * ledger entries, so what a reader sees always matches the ledger, whether or not the
 * jobs have run yet. A read pays a write only when something was due.
 */
export async function settledCustomer(
  id: string,
  program: Program,
  now: Date,
): Promise<CustomerState | undefined> {
  return changeCustomers<CustomerState | undefined>({
    clock: () => now,
    attempt: async (_, attempt) => {
      // An eventually consistent read first: most reads find nothing due.
      const customer = attempt === 0 ? await getCustomer(id) : await getCustomerConsistent(id);
      // Nothing falls due for an erased customer, and nothing about them may change.
      if (!customer || customer.status === 'erased') return done(customer);
      const change = new PointsChange(customer, program, now).settle();
      if (!change.changed) return done(customer);
      return write({ changes: [change], result: change.customer });
    },
  });
}

/** A customer as every reader sees them; an erased one, as nothing but that they were. */
export async function readSettledCustomer(
  id: string,
  now = new Date(),
): Promise<CustomerView | ErasedCustomerView> {
  const [program, model] = await Promise.all([getProgram(), getModel()]);
  const customer = await settledCustomer(id, program, now);
  if (!customer) throw notFound('Customer');
  if (customer.status === 'erased') {
    return { id: customer.id, status: 'erased', erasedAt: customer.erasedAt as string };
  }
  return customerView(customer, program, now, model);
}
