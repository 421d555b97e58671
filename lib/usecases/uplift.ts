/**
 * `GET /v1/campaigns/{id}/uplift`: what a win-back offer brought back that would not have
 * come anyway, from the experiment's counts (store/uplift.ts): the return rates of the
 * offer and holdout groups over a window after the flag, their difference with a 95%
 * interval (Newcombe's hybrid score), and what that is in customers, spend and points.
 */
import { addDays, utcDay } from '../domain/dayStats.ts';
import { cashValueOf, type Money, money } from '../domain/money.ts';
import {
  isWinBack,
  newcombe,
  type UpliftCounts,
  type UpliftWindow,
  type WinBackGroup,
} from '../domain/winBack.ts';
import { notFound } from '../errors.ts';
import { campaignStats, getCampaign } from '../store/campaigns.ts';
import { getProgram } from '../store/program.ts';
import { readUplift } from '../store/uplift.ts';

/** Below this many customers in either group the rates are too noisy to compare. */
export const MIN_GROUP = 30;

const round = (n: number, places = 4) => Math.round(n * 10 ** places) / 10 ** places;

interface GroupView {
  lapsed: number;
  cameBack: number;
  rate: number | null;
  spendAfter: Money;
  pointsAwarded: number;
}

export interface UpliftView {
  campaignId: string;
  windowDays: UpliftWindow;
  groups: Record<WinBackGroup, GroupView>;
  uplift: { rate: number; ci95: [number, number] } | null;
  incrementalCustomers: number | null;
  incrementalSpend: Money | null;
  cost: Money;
  insufficientData?: string;
}

export async function campaignUplift(
  id: string,
  windowDays: number,
  now: Date = new Date(),
): Promise<UpliftView> {
  const w = windowDays as UpliftWindow;
  const [campaign, program] = await Promise.all([getCampaign(id), getProgram()]);
  if (!campaign) throw notFound('Campaign');
  // The flag days whose windows have all closed by the start of today.
  const lastDay = addDays(utcDay(now), -w - 1);
  const [offer, holdout, stats] = await Promise.all([
    readUplift(id, 'offer', lastDay),
    readUplift(id, 'holdout', lastDay),
    campaignStats([id]),
  ]);
  const currency = program.currency;
  const view = (c: Required<UpliftCounts>): GroupView => ({
    lapsed: c.assigned,
    cameBack: c[`came${w}`],
    rate: c.assigned > 0 ? round(c[`came${w}`] / c.assigned) : null,
    spendAfter: money(c[`spend${w}`], currency),
    pointsAwarded: c[`points${w}`],
  });
  const groups: Record<WinBackGroup, GroupView> = {
    offer: view(offer),
    holdout: view(holdout),
  };
  const cost = cashValueOf(stats.get(id)?.pointsAwarded ?? 0, program.cashValue, program.currency);
  const base = { campaignId: id, windowDays: w, groups, cost };
  const short = [offer, holdout].some((g) => g.assigned < MIN_GROUP);
  if (!isWinBack(campaign) || short) {
    return {
      ...base,
      uplift: null,
      incrementalCustomers: null,
      incrementalSpend: null,
      insufficientData: !isWinBack(campaign)
        ? 'Not a win-back campaign (a multiplier or bonus for lapsed customers): it has no experiment'
        : `Fewer than ${MIN_GROUP} customers in a group flagged ${w} or more days ago ` +
          `(offer ${offer.assigned}, holdout ${holdout.assigned})` +
          ((campaign.holdout ?? 0) === 0 ? '; the campaign holds nobody out (holdout 0)' : ''),
    };
  }
  const rate = (c: Required<UpliftCounts>) => c[`came${w}`] / c.assigned;
  const difference = rate(offer) - rate(holdout);
  const [lo, hi] = newcombe(
    offer[`came${w}`],
    offer.assigned,
    holdout[`came${w}`],
    holdout.assigned,
  );
  const spendEach = (c: Required<UpliftCounts>) => c[`spend${w}`] / c.assigned;
  return {
    ...base,
    uplift: { rate: round(difference), ci95: [round(lo), round(hi)] },
    incrementalCustomers: round(difference * offer.assigned, 1),
    incrementalSpend: money(
      Math.round((spendEach(offer) - spendEach(holdout)) * offer.assigned),
      currency,
    ),
  };
}
