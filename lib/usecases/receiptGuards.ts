import {
  guardUnderNewId,
  legacyGuardPages,
  receiptGuardsState,
  saveReceiptGuardsState,
} from '../store/receiptGuards.ts';
import { inParallel } from './parallel.ts';

/**
 * Functions of the version before this one may still record purchases for a while after a
 * deploy, with old guards only: a pass counts as the last only if it began this long after
 * the first run (a deploy, and every old function's last request, are done by then).
 */
export const SETTLE_MS = 15 * 60_000;

/** A run gives the pass at most this much of its time: the exports go on meanwhile. */
const RUN_SLICE_MS = 20_000;

/**
 * Purchases recorded before a purchase was its own receipt guard kept the guard in an item
 * of its own. The exports job (every minute) gives each such guard an item under the id its
 * receipt gives now (store/receiptGuards.ts), a Scan page at a time, saving its place after
 * each. Until a whole pass that began SETTLE_MS after the first run is done, purchases write
 * the old guard too and imports read it; an earlier pass is followed by another. True once
 * done. Safe to run again: an item already there is left as it is.
 */
export async function passReceiptGuards(
  options: { deadline?: number; pageSize?: number; now?: () => number } = {},
): Promise<boolean> {
  const now = options.now ?? Date.now;
  const state = await receiptGuardsState();
  if (state.done) return true;
  const firstRunAt = state.firstRunAt ?? now();
  const passStartedAt = state.passStartedAt ?? now();
  const stopAt = Math.min(options.deadline ?? Number.POSITIVE_INFINITY, now() + RUN_SLICE_MS);
  let after = state.after;
  await saveReceiptGuardsState({ done: false, firstRunAt, passStartedAt, ...(after && { after }) });
  for await (const page of legacyGuardPages(after, options.pageSize)) {
    await inParallel(page.guards, 4, async (guard) => {
      await guardUnderNewId(guard);
    });
    after = page.next;
    if (after === undefined) break;
    await saveReceiptGuardsState({ done: false, firstRunAt, passStartedAt, after });
    if (now() > stopAt) return false;
  }
  const last = passStartedAt - firstRunAt >= SETTLE_MS;
  // Not the last: the next run starts another pass from the table's start.
  await saveReceiptGuardsState(last ? { done: true } : { done: false, firstRunAt });
  return last;
}
