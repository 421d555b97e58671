/** Redemptions: authorizing one by the customer's code, and a partner's settlement period. */
import * as z from 'zod/mini';
import { id, instant, moneySchema } from './common.ts';

export const authorizeRedemptionSchema = z
  .object({
    code: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(32),
        z.regex(/^[A-Za-z0-9]+$/, 'must be letters and digits'),
        z.describe("The customer's redemption code"),
      ),
    amount: moneySchema.check(
      z.refine((m) => m.amount >= 1, { message: 'must be at least 1', path: ['amount'] }),
    ),
    capture: z
      .optional(z.boolean())
      .check(z.describe('Capture at once (default false: authorize a hold)')),
    storeId: z.optional(id).check(z.describe('Admin keys name the store or the partner redeeming')),
    partnerId: z.optional(id),
  })
  .check(z.meta({ id: 'AuthorizeRedemption' }));
export type AuthorizeRedemptionInput = z.infer<typeof authorizeRedemptionSchema>;

export const settlementQuerySchema = z.object({
  from: instant().check(z.describe('Start, inclusive (RFC 3339)')),
  to: instant().check(z.describe('End, exclusive (RFC 3339); at most 366 days after from')),
});
