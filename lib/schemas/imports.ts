/** Import batches: customers and purchases from another system, up to MAX_IMPORT_ITEMS each. */
import * as z from 'zod/mini';
import { MAX_CUSTOMER_POINTS } from '../domain/customer.ts';
import { id, instant, line } from './common.ts';
import { atLeastOneIdentifier, customerFields } from './customers.ts';
import { linesWithinTotal, purchaseFields } from './purchases.ts';

/** Items of an import batch, each checked on its own (a bad one is reported, not fatal). */
export const MAX_IMPORT_ITEMS = 500;

/** A batch as read: up to 500 items of any shape, each then parsed with its item schema. */
export const importBatchSchema = z.object({
  items: z.array(z.unknown()).check(z.minLength(1), z.maxLength(MAX_IMPORT_ITEMS)),
});

/** A member brought from another system: no referrer; an opening balance instead. */
export const importCustomerSchema = z
  .extend(z.omit(customerFields, { referredBy: true }), {
    openingPoints: z
      .optional(z.int().check(z.minimum(0), z.maximum(MAX_CUSTOMER_POINTS)))
      .check(
        z.describe(
          'Points brought from the old programme: credited once, when the customer is created, ' +
            'as an `adjust` entry with reason `opening balance`',
        ),
      ),
  })
  .check(atLeastOneIdentifier, z.meta({ id: 'ImportCustomer' }));
export type ImportCustomerInput = z.infer<typeof importCustomerSchema>;

/** The customers import's body as documented (items are checked one by one: see importBatchSchema). */
export const importCustomersSchema = z
  .object({
    items: z.array(importCustomerSchema).check(z.minLength(1), z.maxLength(MAX_IMPORT_ITEMS)),
  })
  .check(z.meta({ id: 'ImportCustomers' }));

/** A purchase from a till's history: the store, receipt and time are required. */
export const importPurchaseSchema = z
  .extend(purchaseFields, {
    storeId: id,
    receiptId: line(128).check(
      z.describe('Unique per store: a receipt already recorded there is skipped as a duplicate'),
    ),
    occurredAt: instant().check(
      z.describe('RFC 3339; any time in the past (at most 5 minutes ahead)'),
    ),
  })
  .check(linesWithinTotal, z.meta({ id: 'ImportPurchase' }));
export type ImportPurchaseInput = z.infer<typeof importPurchaseSchema>;

/** The purchases import's body as documented (items are checked one by one). */
export const importPurchasesSchema = z
  .object({
    items: z.array(importPurchaseSchema).check(z.minLength(1), z.maxLength(MAX_IMPORT_ITEMS)),
  })
  .check(z.meta({ id: 'ImportPurchases' }));
