import {
  guardUnderNewId,
  legacyGuardPages,
  receiptGuardsState,
  saveReceiptGuardsState,
} from '../store/receiptGuards.ts';
import { inParallel } from './parallel.ts';

/**
 * Purchases recorded before a purchase was its own receipt guard kept the guard in an item
 * of its own. Once, the exports job (every minute) gives each such guard an item under the
 * id its receipt gives now (store/receiptGuards.ts), page by page from where it stopped;
 * until it is done, purchases write the old guard too and imports read it. True once every
 * old guard has its new item. Safe to run again: an item already there is left as it is.
 */
export async function passReceiptGuards(
  deadline = Number.POSITIVE_INFINITY,
  pageSize?: number,
): Promise<boolean> {
  const state = await receiptGuardsState();
  if (state.done) return true;
  for await (const page of legacyGuardPages(state.after, pageSize)) {
    await inParallel(page.guards, 4, async (guard) => {
      await guardUnderNewId(guard);
    });
    if (page.next === undefined) break;
    if (Date.now() > deadline) {
      await saveReceiptGuardsState({ done: false, after: page.next });
      return false;
    }
  }
  await saveReceiptGuardsState({ done: true });
  return true;
}
