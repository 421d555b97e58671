import { remindLotOf } from '../store/customers.ts';
import {
  customersWithLots,
  remindIndexState,
  saveRemindIndexState,
  setRemindLot,
} from '../store/upgrades.ts';
import { inParallel } from './parallel.ts';

/**
 * Customers stored before the RemindDue index existed carry no `remindLot`, so no
 * reminder would find them until their next change. Once, the expiry-reminders job gives
 * it to every customer with lots (the ExpireDue index lists exactly them), shard by shard,
 * resuming where it stopped; a customer that changes meanwhile gets it from its own write.
 * True once every customer has it.
 */
export async function indexReminders(deadline = Number.POSITIVE_INFINITY): Promise<boolean> {
  const state = await remindIndexState();
  if (state === 'done') return true;
  for await (const { shard, customers } of customersWithLots(state)) {
    if (Date.now() > deadline) {
      await saveRemindIndexState(shard);
      return false;
    }
    const missing = customers.filter((c) => !c.has).map((c) => c.customer);
    await inParallel(missing, 4, async (customer) => {
      const remindLot = remindLotOf(customer);
      // Refused when changed meanwhile: that write gave it its remindLot.
      if (remindLot !== undefined) await setRemindLot(customer, remindLot);
    });
  }
  await saveRemindIndexState('done');
  return true;
}
