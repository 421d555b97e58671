/** Points adjusted by hand: a goodwill credit or a correction, with its reason. */
import type { LedgerEntry } from '../domain/ledger.ts';
import { PointsChange } from '../domain/pointsChange.ts';
import { DomainError, notFound } from '../errors.ts';
import type { IdempotencyContext } from '../principal.ts';
import type { AdjustmentInput } from '../schemas/customers.ts';
import { replayFrom } from '../store/idempotency.ts';
import { loadCustomerContext } from '../store/lookups.ts';
import { getProgram } from '../store/program.ts';
import {
  type Answer,
  answered,
  changeCustomers,
  done,
  refuseIfErased,
  replayed,
  write,
} from './change.ts';

/**
 * A goodwill credit or a correction, with its reason. A debit may not take available
 * points below 0 (422 insufficient-points). Idempotent like every POST.
 */
export async function adjustPoints(
  customerId: string,
  input: AdjustmentInput,
  idem: IdempotencyContext,
  clock: () => Date = () => new Date(),
): Promise<Answer<LedgerEntry>> {
  const program = await getProgram();
  return changeCustomers<Answer<LedgerEntry>>({
    clock,
    idempotency: { ctx: idem, replay: replayed },
    attempt: async (now) => {
      const { customer, idempotencyItem } = await loadCustomerContext(customerId, idem);
      const replay = replayFrom(idempotencyItem, idem, now);
      if (replay) return done(replayed(replay));
      if (!customer) throw notFound('Customer');
      refuseIfErased(customer);
      const change = new PointsChange(customer, program, now).settle();
      const available = change.customer.available;
      // Only a debit is refused: a credit to a balance a refund took below 0 pays it off.
      if (input.points < 0 && available + input.points < 0) {
        throw new DomainError(
          'insufficient-points',
          `An adjustment of ${input.points} would take available points below 0 (${available} available)`,
        );
      }
      const entry: LedgerEntry = change.adjust(input.points, input.reason);
      return write({ changes: [change], answer: entry, result: answered(entry) });
    },
  });
}
