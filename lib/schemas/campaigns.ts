/** Campaigns: creating one (per type), patching its name or end, and listing them. */
import * as z from 'zod/mini';
import { campaignTypes, earnsOnPurchase } from '../domain/campaigns.ts';
import { hasAtMostFourDecimals } from '../domain/points.ts';
import { isWinBack, MAX_HOLDOUT } from '../domain/winBack.ts';
import { instant, line, moneySchema } from './common.ts';
import { tierId } from './program.ts';

/** A win-back campaign's holdout share, 0 to MAX_HOLDOUT. */
const holdoutShare = (description: string) =>
  z.optional(z.number().check(z.minimum(0), z.maximum(MAX_HOLDOUT), z.describe(description)));

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
  holdout: z.optional(
    z
      .number()
      .check(
        z.minimum(0),
        z.maximum(0.5),
        z.describe(
          'A win-back campaign (audience.status lapsed): the share of customers flagged while ' +
            'it runs who are held out of the offer (0 to 0.5, default 0), so that ' +
            'GET /v1/campaigns/{id}/uplift can measure what the offer brought back. Each ' +
            'customer is assigned once, at the flag, by a keyed hash of the campaign and ' +
            'customer ids: the same pair always gives the same group',
        ),
      ),
  ),
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
    if (c.holdout !== undefined && !isWinBack(c)) {
      issue('holdout', 'only for a win-back campaign: a multiplier or bonus for lapsed customers');
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
    holdout: holdoutShare(
      "A win-back campaign's holdout share for the customers assigned from now on; " +
        'those already assigned keep their group',
    ),
  })
  .check(
    z.refine((p) => p.name !== undefined || p.endsAt !== undefined || p.holdout !== undefined, {
      message: 'give name, endsAt or holdout',
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

export const upliftQuerySchema = z.object({
  windowDays: z._default(
    z.coerce.number().check(
      z.refine((d) => [30, 60, 90, 180].includes(d), 'must be 30, 60, 90 or 180'),
      z.describe(
        'Days after the flag a return counts in: 30, 60, 90 or 180. Only customers ' +
          'flagged at least this long ago (on a UTC day whose window has closed) count',
      ),
    ),
    90,
  ),
});
