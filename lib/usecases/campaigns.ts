import {
  type Campaign,
  type CampaignStatus,
  campaignStatus,
  LIST_MAX_BYTES,
  MAX_OVERLAPPING_CAMPAIGNS,
} from '../domain/campaigns.ts';
import { isWinBack } from '../domain/winBack.ts';
import { DomainError, notFound, validationFailed } from '../errors.ts';
import { newId } from '../ids.ts';
import type { IdempotencyContext } from '../principal.ts';
import type { CreateCampaignInput, PatchCampaignInput } from '../schemas/campaigns.ts';
import {
  type CampaignStats,
  campaignPage,
  campaignStats,
  getCampaign,
  saveCampaign,
} from '../store/campaigns.ts';
import { claimIdempotencyKey, readReplay } from '../store/idempotency.ts';
import type { Page } from '../store/pagination.ts';
import { getProgram } from '../store/program.ts';
import { type Answer, answered, replayed } from './change.ts';

/** A campaign as the API shows it: its definition, its status now, and its counts. */
export type CampaignView = Campaign & { status: CampaignStatus; stats: CampaignStats };

const view = (c: Campaign, stats: CampaignStats | undefined, now: Date): CampaignView => ({
  ...c,
  status: campaignStatus(c, now),
  stats: stats ?? { purchases: 0, customers: 0, pointsAwarded: 0 },
});

const iso = (s: string) => new Date(s).toISOString();

const tooMany = () =>
  new DomainError(
    'conflict',
    `At most ${MAX_OVERLAPPING_CAMPAIGNS} campaigns may run at any one time; end one first`,
  );

const tooLarge = (bytes: number) =>
  new DomainError(
    'conflict',
    `The campaigns not yet ended (running or scheduled) are kept in one list of at most ` +
      `${LIST_MAX_BYTES.toLocaleString('en-US')} bytes, which they would outgrow ` +
      `(${bytes.toLocaleString('en-US')} bytes); end one, or shorten their match lists`,
  );

/** Creates a campaign (idempotent: a repeated key answers the first request's campaign). */
export async function createCampaign(
  input: CreateCampaignInput,
  idem: IdempotencyContext,
  now: Date = new Date(),
): Promise<Answer<CampaignView>> {
  const stored = await readReplay(idem, now);
  if (stored) return replayed(stored);
  const program = await getProgram();
  if (input.minSpend !== undefined && input.minSpend.currency !== program.currency) {
    throw new DomainError('currency-mismatch', `This program's currency is ${program.currency}`);
  }
  const unknownTiers = (input.audience?.tiers ?? []).filter(
    (t) => !program.tiers.some((tier) => tier.id === t),
  );
  if (unknownTiers.length > 0) {
    throw validationFailed([
      { path: 'audience.tiers', message: `not tiers of the program: ${unknownTiers.join(', ')}` },
    ]);
  }
  const startsAt = input.startsAt === undefined ? now.toISOString() : iso(input.startsAt);
  const endsAt = input.endsAt == null ? null : iso(input.endsAt);
  if (endsAt !== null && endsAt <= startsAt) {
    throw validationFailed([{ path: 'endsAt', message: 'must be after startsAt' }]);
  }
  const { startsAt: _, endsAt: __, ...rest } = input;
  const campaign: Campaign = {
    id: newId('cmp', now.getTime()),
    ...rest,
    startsAt,
    endsAt,
    createdAt: now.toISOString(),
  };
  const answer = view(campaign, undefined, now);
  const saved = await saveCampaign({ create: campaign }, now, {
    idempotency: claimIdempotencyKey(idem, answer, now),
  });
  if (saved.outcome === 'too-many') throw tooMany();
  if (saved.outcome === 'too-large') throw tooLarge(saved.bytes);
  if (saved.outcome === 'idempotency-key-taken') {
    const winner = await readReplay(idem, now);
    if (winner) return replayed(winner);
  }
  return answered(answer);
}

export async function readCampaign(id: string, now: Date = new Date()): Promise<CampaignView> {
  const campaign = await getCampaign(id);
  if (!campaign) throw notFound('Campaign');
  return view(campaign, (await campaignStats([id])).get(id), now);
}

export async function listCampaigns(
  query: { limit: number; cursor?: string; status?: CampaignStatus },
  now: Date = new Date(),
): Promise<Page<CampaignView>> {
  const page = await campaignPage(query.limit, query.cursor, query.status, now);
  const stats = await campaignStats(page.items.map((c) => c.id));
  return {
    items: page.items.map((c) => view(c, stats.get(c.id), now)),
    nextCursor: page.nextCursor,
  };
}

/**
 * Renames a campaign or moves its end (end it early, extend it, or null: run until
 * ended). What was earned stays earned: only purchases after the change see it.
 */
export async function patchCampaign(
  id: string,
  input: PatchCampaignInput,
  now: Date = new Date(),
): Promise<CampaignView> {
  const saved = await saveCampaign(
    {
      id,
      patch: (current) => {
        const endsAt =
          input.endsAt === undefined ? current.endsAt : input.endsAt && iso(input.endsAt);
        if (endsAt !== null && endsAt <= current.startsAt) {
          throw validationFailed([{ path: 'endsAt', message: 'must be after startsAt' }]);
        }
        if (input.holdout !== undefined && !isWinBack(current)) {
          throw validationFailed([
            {
              path: 'holdout',
              message: 'only for a win-back campaign: a multiplier or bonus for lapsed customers',
            },
          ]);
        }
        return {
          ...current,
          ...(input.name !== undefined && { name: input.name }),
          ...(input.holdout !== undefined && { holdout: input.holdout }),
          endsAt,
        };
      },
    },
    now,
  );
  if (saved.outcome === 'not-found') throw notFound('Campaign');
  if (saved.outcome === 'too-many') throw tooMany();
  if (saved.outcome === 'too-large') throw tooLarge(saved.bytes);
  if (saved.outcome !== 'saved') throw new Error(`unexpected ${saved.outcome}`);
  return view(saved.campaign, (await campaignStats([id])).get(id), now);
}
