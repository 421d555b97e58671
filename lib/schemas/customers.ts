/** Customers: enrolment, the lookup by identifier, and adjustments of their points. */
import * as z from 'zod/mini';
import { isBirthDate } from '../domain/birthdays.ts';
import { id, line, noControlButLines } from './common.ts';

export const customerFields = z.object({
  externalId: z.optional(line(128)),
  email: z.optional(z.email().check(z.maxLength(254))),
  phone: z.optional(
    z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number such as +14155550123')),
  ),
  name: z.optional(line(200)),
  birthDate: z
    .optional(
      z
        .string()
        .check(
          z.refine(isBirthDate, 'must be a real date as YYYY-MM-DD, or --MM-DD without a year'),
        ),
    )
    .check(z.describe('Birthday campaigns credit on this UTC day each year')),
  referredBy: z
    .optional(id)
    .check(
      z.describe(
        "The referring customer's id: a referral campaign pays both on this customer's first " +
          'purchase with earnable spend (not a 0.00 one), pending like its points; a full refund ' +
          'of it inside the pending window takes both back',
      ),
    ),
});

export const atLeastOneIdentifier = z.refine<{
  externalId?: string;
  email?: string;
  phone?: string;
}>((c) => c.externalId !== undefined || c.email !== undefined || c.phone !== undefined, {
  message: 'at least one of externalId, email or phone is required',
  path: [],
});

export const createCustomerSchema = customerFields.check(
  atLeastOneIdentifier,
  z.meta({ id: 'CreateCustomer' }),
);
export type CreateCustomerInput = z.infer<typeof createCustomerSchema>;

export const customerLookupSchema = z
  .object({
    email: z.optional(z.email().check(z.maxLength(254))),
    phone: z.optional(z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number'))),
    externalId: z.optional(line(128)),
  })
  .check(
    z.refine((q) => [q.email, q.phone, q.externalId].filter((v) => v !== undefined).length === 1, {
      message: 'give exactly one of email, phone or externalId',
      path: [],
    }),
  );

export const adjustmentSchema = z
  .object({
    points: z.int().check(
      z.minimum(-1_000_000_000),
      z.maximum(1_000_000_000),
      z.refine((p) => p !== 0, { message: 'must not be 0' }),
      z.describe('Signed: > 0 credits (goodwill), < 0 debits (a correction)'),
    ),
    reason: z
      .string()
      .check(
        z.trim(),
        z.minLength(1),
        z.maxLength(500),
        noControlButLines,
        z.describe('Why: kept on the ledger entry'),
      ),
  })
  .check(z.meta({ id: 'Adjustment' }));
export type AdjustmentInput = z.infer<typeof adjustmentSchema>;

export const mergeSchema = z
  .object({
    from: id.check(
      z.describe(
        'The other record of the same customer: everything of it moves to this one, and it ' +
          'keeps nothing (status merged; every call naming it acts on this one)',
      ),
    ),
  })
  .check(z.meta({ id: 'CustomerMerge' }));
