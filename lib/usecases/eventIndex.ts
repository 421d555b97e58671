import {
  eventIndexState,
  indexEvent,
  outboxAfter,
  saveEventIndexState,
} from '../store/upgrades.ts';
import { inParallel } from './parallel.ts';

/**
 * Outbox events written before the customer-event index carry no place under their
 * customer, so an export would not find them by it. Once, the exports job gives it to
 * every event of a customer, oldest first, resuming where it stopped; until the pass is
 * done an export reads the outbox whole instead (store/exports.ts customerEventPages).
 * True once every event has it.
 */
export async function indexCustomerEvents(deadline = Number.POSITIVE_INFINITY): Promise<boolean> {
  const state = await eventIndexState();
  if (state.done) return true;
  let after = state.after;
  for await (const page of outboxAfter(after)) {
    if (Date.now() > deadline) {
      await saveEventIndexState({ done: false, ...(after !== undefined && { after }) });
      return false;
    }
    const missing = page.filter((e) => !e.indexed && e.customerId !== null);
    await inParallel(missing, 4, async (e) => {
      await indexEvent(e.id, e.customerId as string);
    });
    after = page.at(-1)?.sk ?? after;
  }
  await saveEventIndexState({ done: true });
  return true;
}
