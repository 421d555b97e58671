/** Purchases: recording one (its lines within its total) and refunding it. */
import * as z from 'zod/mini';
import { id, instant, line, moneySchema } from './common.ts';

export const purchaseLineSchema = z.object({
  sku: line(64),
  category: z.optional(line(64)),
  quantity: z.int().check(z.minimum(1), z.maximum(1_000_000)),
  unitPrice: moneySchema,
});

export const purchaseFields = z.object({
  customerId: id,
  total: moneySchema,
  occurredAt: z
    .optional(instant())
    .check(z.describe('RFC 3339; defaults to now; at most 5 minutes ahead')),
  receiptId: z.optional(line(128)).check(z.describe('Unique per store')),
  storeId: z
    .optional(id)
    .check(z.describe('Required with an admin key; a pos key records for its store')),
  lines: z
    .optional(z.array(purchaseLineSchema).check(z.maxLength(500)))
    .check(
      z.describe(
        "What was bought. Lines earn by category and SKU in campaigns; lines in the program's " +
          'excludedCategories earn nothing. Their spend (quantity x unitPrice) may not exceed ' +
          'the total; the rest of the total (tax, fees) earns like any spend.',
      ),
    ),
});

export const linesWithinTotal = z.refine<{
  total: { amount: number };
  lines?: { quantity: number; unitPrice: { amount: number } }[];
}>(
  // Each product is compared before summing: a product past 2^53 is inexact but still
  // far above any total (at most 10^12), and at most 500 exact products are summed.
  (p) => {
    let sum = 0;
    for (const l of p.lines ?? []) {
      const spend = l.quantity * l.unitPrice.amount;
      if (spend > p.total.amount) return false;
      sum += spend;
    }
    return sum <= p.total.amount;
  },
  { message: "the lines' spend (quantity x unitPrice) exceeds the total", path: ['lines'] },
);

export const recordPurchaseSchema = purchaseFields.check(
  linesWithinTotal,
  z.meta({ id: 'RecordPurchase' }),
);
export type RecordPurchaseInput = z.infer<typeof recordPurchaseSchema>;

export const refundSchema = z
  .object({
    amount: moneySchema.check(
      z.refine((m) => m.amount >= 1, { message: 'must be at least 1', path: ['amount'] }),
    ),
  })
  .check(z.meta({ id: 'Refund' }));
