/** Campaigns: creating one (per type), patching its name or end, and listing them. */
import * as z from 'zod/mini';
import { campaignTypes, earnsOnPurchase } from '../domain/campaigns.ts';
import { hasAtMostFourDecimals } from '../domain/points.ts';
import { instant, line, moneySchema } from './common.ts';
import { tierId } from './program.ts';

const campaignFields = z.object({
  name: line(200),
  type: z.enum(campaignTypes),
  startsAt: z.optional(instant()).check(z.describe('Inclusive; defaults to now')),
  endsAt: z
    .optional(z.nullable(instant()))
    .check(z.describe('Exclusive; null or absent: runs until ended (PATCH)')),
  match: z.optional(
    z
      .object({
        categories: z.optional(z.array(line(64)).check(z.maxLength(100))),
        skus: z.optional(z.array(line(64)).check(z.maxLength(500))),
      })
      .check(
        z.refine((m) => (m.categories?.length ?? 0) + (m.skus?.length ?? 0) > 0, {
          message: 'name at least one category or SKU',
        }),
        z.describe(
          'Only lines in one of these categories or with one of these SKUs count; without ' +
            'a match, all earnable spend does',
        ),
      ),
  ),
  audience: z.optional(
    z
      .object({
        tiers: z.optional(z.array(tierId).check(z.minLength(1), z.maxLength(20))),
        status: z.optional(z.literal('lapsed')),
      })
      .check(
        z.describe(
          'Whom it is for, as they were before the purchase: tiers held, or lapsed customers ' +
            '(a win-back offer: it applies to the purchase that reactivates them, one dated ' +
            'after the lapse, and to a purchase after a silence the lapse rule counts as a ' +
            'lapse that no scan had flagged yet; a purchase dated before the last one, ' +
            'recorded late, is no return)',
        ),
      ),
  ),
  daysOfWeek: z.optional(
    z.array(z.int().check(z.minimum(0), z.maximum(6))).check(
      z.minLength(1),
      z.maxLength(7),
      z.refine((d) => new Set(d).size === d.length, 'days must not repeat'),
      z.describe("UTC days of the purchase's occurredAt, 0 = Sunday; default every day"),
    ),
  ),
  multiplier: z.optional(
    z.number().check(
      z.refine((m) => m > 1 && m <= 10, 'must be more than 1 and at most 10'),
      z.refine(hasAtMostFourDecimals, 'must have at most 4 decimal places'),
      z.describe('`multiplier`: matching spend earns m x its base points (m - 1 extra)'),
    ),
  ),
  points: z.optional(
    z
      .int()
      .check(
        z.minimum(1),
        z.maximum(1_000_000),
        z.describe(
          '`bonus`: extra points per purchase; `enrolment`, `birthday`: points credited; ' +
            '`referral`: what the referrer gets',
        ),
      ),
  ),
  refereePoints: z.optional(
    z
      .int()
      .check(
        z.minimum(1),
        z.maximum(1_000_000),
        z.describe(
          '`referral`: what the referred customer gets on their first purchase with earnable spend',
        ),
      ),
  ),
  minSpend: z.optional(moneySchema).check(z.describe('`bonus`: matching spend needed')),
  firstPurchaseOnly: z
    .optional(z.boolean())
    .check(z.describe("`bonus`: only on the customer's first purchase ever")),
});

export const createCampaignSchema = campaignFields.check(
  z.superRefine((c: z.output<typeof campaignFields>, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (
      c.startsAt !== undefined &&
      c.endsAt != null &&
      Date.parse(c.endsAt) <= Date.parse(c.startsAt)
    ) {
      issue('endsAt', 'must be after startsAt');
    }
    if (c.type === 'multiplier' && c.multiplier === undefined)
      issue('multiplier', 'required for a multiplier campaign');
    if (c.type !== 'multiplier' && c.multiplier !== undefined)
      issue('multiplier', 'only for a multiplier campaign');
    if (c.type !== 'multiplier' && c.points === undefined) {
      issue('points', `required for a ${c.type} campaign`);
    }
    if (c.type !== 'referral' && c.refereePoints !== undefined) {
      issue('refereePoints', 'only for a referral campaign');
    }
    if (c.type === 'multiplier' && c.points !== undefined)
      issue('points', 'not for a multiplier campaign');
    if (c.type !== 'bonus' && c.minSpend !== undefined)
      issue('minSpend', 'only for a bonus campaign');
    if (c.type !== 'bonus' && c.firstPurchaseOnly !== undefined) {
      issue('firstPurchaseOnly', 'only for a bonus campaign');
    }
    if (!earnsOnPurchase(c) && c.match !== undefined) {
      issue('match', `a ${c.type} campaign credits no purchase, so it has no match`);
    }
  }),
  z.meta({ id: 'CreateCampaign' }),
);
export type CreateCampaignInput = z.infer<typeof createCampaignSchema>;

export const patchCampaignSchema = z
  .strictObject({
    name: z.optional(line(200)),
    endsAt: z
      .optional(z.nullable(instant()))
      .check(z.describe('End it early, extend it, or (null) let it run until ended')),
  })
  .check(
    z.refine((p) => p.name !== undefined || p.endsAt !== undefined, {
      message: 'give name or endsAt',
      path: [],
    }),
    z.meta({ id: 'PatchCampaign' }),
  );
export type PatchCampaignInput = z.infer<typeof patchCampaignSchema>;

export const campaignListQuerySchema = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  status: z
    .optional(z.enum(['scheduled', 'active', 'ended']))
    .check(z.describe('Only campaigns in this status now')),
});
