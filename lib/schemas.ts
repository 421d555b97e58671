/**
 * Request bodies, validated with zod. Types come from z.infer, and the OpenAPI
 * document (lib/openapi.ts) is generated from these same schemas.
 */
import * as z from 'zod';
import { lapseReasons } from './domain/customer.ts';
import { hasAtMostFourDecimals } from './domain/points.ts';

const id = z.string().min(1).max(64);

export const moneySchema = z
  .object({
    amount: z.int().min(0).describe('Integer minor units (cents for USD)'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
      .describe('ISO 4217'),
  })
  .meta({ id: 'Money' });

const tierSchema = z.object({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1..32 lowercase letters, digits, _ or -'),
  name: z.string().min(1).max(100),
  qualifyingSpend: z.int().min(0),
  multiplier: z
    .number()
    .min(1)
    .max(100)
    .refine(hasAtMostFourDecimals, 'must have at most 4 decimal places'),
});

const positiveInt = z.int().min(1);

export const programSchema = z
  .object({
    name: z.string().min(1).max(200),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
    earnRate: z.object({ points: positiveInt, per: positiveInt }),
    cashValue: z.object({ points: positiveInt, amount: positiveInt }),
    tiers: z.array(tierSchema).min(1).max(20),
    qualifyingWindowMonths: z.int().min(1).max(36),
    pendingDays: z
      .int()
      .min(0)
      .max(365)
      .describe(
        "Points stay pending until the purchase's occurredAt + pendingDays (0: available at once)",
      ),
    pointsExpireAfterDays: z
      .int()
      .min(1)
      .max(36500)
      .nullable()
      .describe(
        'Unspent points expire at the end of the UTC day this many days after the day they ' +
          'became available, oldest first; null: never',
      ),
    maxBackdateDays: z.int().min(0).max(3650),
    holdMinutes: z.int().min(1).max(10080),
    lapse: z.object({
      factor: z.number().min(1).max(100),
      minPurchases: z.int().min(2).max(1000),
      minDays: z.int().min(0).max(3650),
    }),
  })
  .strict()
  .superRefine((program, ctx) => {
    const [first] = program.tiers;
    if (first && first.qualifyingSpend !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['tiers', 0, 'qualifyingSpend'],
        message: 'the first tier must start at 0',
      });
    }
    const seen = new Set<string>();
    program.tiers.forEach((tier, i) => {
      if (seen.has(tier.id)) {
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'id'], message: 'duplicate tier id' });
      }
      seen.add(tier.id);
      const previous = program.tiers[i - 1];
      if (previous && tier.qualifyingSpend <= previous.qualifyingSpend) {
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', i, 'qualifyingSpend'],
          message: 'tiers must be sorted by strictly increasing qualifyingSpend',
        });
      }
    });
  })
  .meta({ id: 'Program' });

export const createCustomerSchema = z
  .object({
    externalId: z.string().min(1).max(128).optional(),
    email: z.email().max(254).optional(),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number such as +14155550123')
      .optional(),
    name: z.string().min(1).max(200).optional(),
  })
  .refine((c) => c.externalId !== undefined || c.email !== undefined || c.phone !== undefined, {
    message: 'at least one of externalId, email or phone is required',
    path: [],
  })
  .meta({ id: 'CreateCustomer' });

export const customerLookupSchema = z
  .object({
    email: z.email().max(254).optional(),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number')
      .optional(),
    externalId: z.string().min(1).max(128).optional(),
  })
  .refine((q) => [q.email, q.phone, q.externalId].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of email, phone or externalId',
    path: [],
  });

export const purchaseLineSchema = z.object({
  sku: z.string().min(1).max(64),
  category: z.string().min(1).max(64).optional(),
  quantity: z.int().min(1).max(1_000_000),
  unitPrice: moneySchema,
});

export const recordPurchaseSchema = z
  .object({
    customerId: id,
    total: moneySchema,
    occurredAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('RFC 3339; defaults to now; at most 5 minutes ahead'),
    receiptId: z.string().min(1).max(128).optional().describe('Unique per store'),
    storeId: id.optional().describe('Required with an admin key; a pos key records for its store'),
    lines: z.array(purchaseLineSchema).max(500).optional(),
  })
  .meta({ id: 'RecordPurchase' });

export const authorizeRedemptionSchema = z
  .object({
    code: z.string().min(1).max(32).describe("The customer's redemption code"),
    amount: moneySchema.refine((m) => m.amount >= 1, {
      message: 'must be at least 1',
      path: ['amount'],
    }),
    capture: z.boolean().optional().describe('Capture at once (default false: authorize a hold)'),
    storeId: id.optional().describe('Admin keys name the store or the partner redeeming'),
    partnerId: id.optional(),
  })
  .meta({ id: 'AuthorizeRedemption' });

export const settlementQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }).describe('Start, inclusive (RFC 3339)'),
  to: z.iso.datetime({ offset: true }).describe('End, exclusive (RFC 3339)'),
});

export const jobRunSchema = z
  .object({ asOf: z.iso.datetime({ offset: true }).optional().describe('Defaults to now') })
  .meta({ id: 'JobRun' });

export const refundSchema = z
  .object({
    amount: moneySchema.refine((m) => m.amount >= 1, {
      message: 'must be at least 1',
      path: ['amount'],
    }),
  })
  .meta({ id: 'Refund' });

export const adjustmentSchema = z
  .object({
    points: z
      .int()
      .min(-1_000_000_000)
      .max(1_000_000_000)
      .refine((p) => p !== 0, { message: 'must not be 0' })
      .describe('Signed: > 0 credits (goodwill), < 0 debits (a correction)'),
    reason: z.string().trim().min(1).max(500).describe('Why: kept on the ledger entry'),
  })
  .meta({ id: 'Adjustment' });

export const lapseReasonSchema = z
  .object({
    reason: z.enum(lapseReasons),
    note: z.string().trim().min(1).max(1000).optional().describe('What the customer said'),
  })
  .meta({ id: 'LapseReason' });

export const lapsedQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().min(1).max(2048).optional(),
  sort: z
    .enum(['lapsedAt', 'valueAtRisk'])
    .default('lapsedAt')
    .describe('lapsedAt: most recently lapsed first; valueAtRisk: highest first'),
});

export const retentionQuerySchema = z.object({
  asOf: z.iso.datetime({ offset: true }).optional().describe('Defaults to now'),
});

export const nameSchema = z.object({ name: z.string().trim().min(1).max(200) });

export const roles = ['admin', 'pos', 'partner', 'app'] as const;

export const createApiKeySchema = z
  .object({
    role: z.enum(roles),
    storeId: id.optional(),
    partnerId: id.optional(),
    name: z.string().min(1).max(200).optional(),
  })
  .superRefine((k, ctx) => {
    if (k.role === 'pos' && !k.storeId) {
      ctx.addIssue({ code: 'custom', path: ['storeId'], message: 'a pos key needs a storeId' });
    }
    if (k.role !== 'pos' && k.storeId) {
      ctx.addIssue({ code: 'custom', path: ['storeId'], message: 'only a pos key has a storeId' });
    }
    if (k.role === 'partner' && !k.partnerId) {
      ctx.addIssue({
        code: 'custom',
        path: ['partnerId'],
        message: 'a partner key needs a partnerId',
      });
    }
    if (k.role !== 'partner' && k.partnerId) {
      ctx.addIssue({
        code: 'custom',
        path: ['partnerId'],
        message: 'only a partner key has a partnerId',
      });
    }
  })
  .meta({ id: 'CreateApiKey' });

export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().min(1).max(2048).optional(),
});

export type ProgramInput = z.infer<typeof programSchema>;
export type CreateCustomerInput = z.infer<typeof createCustomerSchema>;
export type RecordPurchaseInput = z.infer<typeof recordPurchaseSchema>;
export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
export type AdjustmentInput = z.infer<typeof adjustmentSchema>;
export type AuthorizeRedemptionInput = z.infer<typeof authorizeRedemptionSchema>;
