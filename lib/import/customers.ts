/** The customers phase: customers.csv's columns, its rows made into items and imported. */
import { type Entry, entryOf, sendPhase } from './batches.ts';
import { type CheckedCsv, cell, rowsOf, type SourceRow, wholeNumber } from './csvRows.ts';
import type { ImportSummary } from './options.ts';
import { phaseProgress } from './progress.ts';
import type { ImportContext } from './settings.ts';

/** The columns customers.csv may have (any subset, in any order). */
export const CUSTOMER_COLUMNS = [
  'externalId',
  'email',
  'phone',
  'name',
  'birthDate',
  'openingPoints',
] as const;

/** An item of POST /v1/imports/customers. */
interface CustomerItem {
  externalId?: string;
  email?: string;
  phone?: string;
  name?: string;
  birthDate?: string;
  openingPoints?: number;
}

/** Imports customers.csv; learns each row's customer id by its externalId for purchases. */
export async function importCustomers(
  context: ImportContext,
  csv: CheckedCsv,
  counts: ImportSummary['customers'],
): Promise<boolean> {
  const progress = phaseProgress(context, 'customers', csv.rows, counts);
  const path = '/v1/imports/customers';
  async function* entries(): AsyncGenerator<Entry<CustomerItem>> {
    for await (const row of rowsOf(csv)) {
      const item = customerItem(row);
      if (typeof item === 'string') {
        context.rejected.add(row, 'validation-failed', item);
        counts.rejected++;
        progress.add(1);
      } else {
        yield entryOf(row, item);
      }
    }
  }
  return sendPhase(context, progress, path, entries(), counts, (batch, body) => {
    const answer = body as { createdCustomers?: unknown; existing?: unknown };
    if (!Array.isArray(answer.createdCustomers) || !Array.isArray(answer.existing)) {
      throw new Error(`POST ${path}: unexpected answer ${JSON.stringify(body)}`);
    }
    const created = answer.createdCustomers as { index: number; customerId: string }[];
    const existing = answer.existing as {
      index: number;
      customerId: string;
      matchedBy?: string;
    }[];
    for (const { index, customerId } of created) {
      const externalId = batch[index]?.item.externalId;
      if (externalId !== undefined) context.customerIds.set(externalId, customerId);
    }
    for (const { index, customerId, matchedBy } of existing) {
      const entry = batch[index];
      const externalId = entry?.item.externalId;
      // Found by its email or phone, the customer is another one (its externalId is not
      // this row's): the row is refused, so that its purchases do not go to that customer.
      if (externalId === undefined || matchedBy === undefined || matchedBy === 'externalId') {
        counts.existing++;
        if (externalId !== undefined) context.customerIds.set(externalId, customerId);
      } else if (entry) {
        context.rejected.add(
          entry.row,
          'conflict',
          `its ${matchedBy} belongs to customer ${customerId}, whose externalId is not ${externalId}`,
        );
        counts.rejected++;
      }
    }
    counts.created += created.length;
  });
}

/** A customers.csv row as an item, or why it cannot be one. */
function customerItem(row: SourceRow): CustomerItem | string {
  if (row.problem) return row.problem;
  const item: CustomerItem = {};
  for (const column of ['externalId', 'email', 'phone', 'name', 'birthDate'] as const) {
    const value = cell(row, column);
    if (value !== undefined) item[column] = value;
  }
  const openingPoints = cell(row, 'openingPoints');
  if (openingPoints !== undefined) {
    const points = wholeNumber(openingPoints);
    if (points === undefined) {
      return `openingPoints ${JSON.stringify(openingPoints)} is not a whole number of points`;
    }
    item.openingPoints = points;
  }
  return item;
}
