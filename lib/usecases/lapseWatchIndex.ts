import { lapseWatchOf } from '../domain/lapseWatch.ts';
import { customersInLapseDue, moveToLapseWatch } from '../store/upgrades.ts';
import { inParallel } from './parallel.ts';

/**
 * Customers stored before the LapseWatch index carry the legacy `lapseDueAt` (the LapseDue
 * index) and no `lapseWatch`, so the lapse scan would not find them until their next
 * change. The lapse-scan job moves them, page by page, before it flags: each gets its
 * `lapseWatch` and loses its `lapseDueAt` in one write conditional on its version (a
 * customer that changes meanwhile gets both from its own write). A moved customer leaves
 * LapseDue, so the pass needs no state of its own: a run cut off is continued by the next,
 * and once LapseDue is empty a run costs one empty Query per shard. True when it is empty.
 */
export async function indexLapseWatch(
  minPurchases: number,
  deadline = Number.POSITIVE_INFINITY,
): Promise<boolean> {
  for await (const page of customersInLapseDue()) {
    if (Date.now() > deadline) return false;
    await inParallel(page, 4, async ({ customer: c, has }) => {
      if (!has) return;
      const watch =
        c.status === 'active'
          ? lapseWatchOf(c.purchases, c.lastPurchaseAt, c.cadence, minPurchases)
          : undefined;
      // Refused when changed meanwhile: that write set lapseWatch and dropped lapseDueAt.
      await moveToLapseWatch(c, watch);
    });
  }
  return true;
}
