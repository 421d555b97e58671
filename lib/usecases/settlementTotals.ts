import {
  legacyCaptures,
  markPartnerTotalled,
  moveToTotals,
  partnersAfter,
  saveSettlementTotalsState,
  settlementTotalsState,
} from '../store/settlements.ts';
import { inParallel } from './parallel.ts';

/** Captures moved per Query of a partner's legacy partition. */
const PAGE = 100;
/** How long to let the index catch up when a page moved nothing (it showed moved captures). */
const INDEX_LAG_MS = 200;

/**
 * Captures written before the settlement totals are in none, so a report on a partner
 * created before them sums its captures one by one. Once, the release-holds job adds
 * every such capture to its partner's totals (moving it out of the legacy partition in
 * the same transaction, so none is added twice), partner by partner, resuming where it
 * stopped. A partner is marked totalled only when its legacy partition reads empty, so
 * the index shows no capture that is in the totals already; reports on it then read the
 * totals. True once every partner is done.
 */
export async function totalLegacyCaptures(deadline = Number.POSITIVE_INFINITY): Promise<boolean> {
  const state = await settlementTotalsState();
  if (state.done) return true;
  let after = state.after;
  for await (const page of partnersAfter(after)) {
    for (const partner of page) {
      if (!partner.totalled && !(await totalPartner(partner.id, deadline))) {
        await saveSettlementTotalsState({ done: false, ...(after !== undefined && { after }) });
        return false;
      }
      after = partner.sk;
    }
  }
  await saveSettlementTotalsState({ done: true });
  return true;
}

/** Moves one partner's legacy captures into its totals; false if the deadline came first. */
async function totalPartner(partnerId: string, deadline: number): Promise<boolean> {
  for (;;) {
    const captures = await legacyCaptures(partnerId, PAGE);
    if (captures.length === 0) {
      await markPartnerTotalled(partnerId);
      return true;
    }
    if (Date.now() > deadline) return false;
    let moved = 0;
    await inParallel(captures, 4, async (capture) => {
      if (await moveToTotals(capture)) moved++;
    });
    if (moved === 0) await new Promise((r) => setTimeout(r, INDEX_LAG_MS));
  }
}
