/**
 * How a job writes a page of due customers: several customers to a transaction (as the
 * import packs them) and several transactions in flight, rather than one transaction per
 * customer one after another. Each customer's change is still its own conditional Put
 * (`version = :expected`), so a customer that changed since the page was read fails the
 * whole transaction, which wrote nothing: its customers are then taken one at a time
 * (jobs.ts), each from a fresh read. A customer is thus changed once per due item however
 * runs overlap, and a pack costs one round trip for 15-30 customers.
 */
import { type CustomerState, totalOutOfBounds } from '../domain/customer.ts';
import type { PointsChange } from '../domain/pointsChange.ts';
import { type CampaignTally, campaignCountItems } from '../store/campaigns.ts';
import { commitChanges } from '../store/customers.ts';
import { lookUp } from '../store/lookups.ts';
import { packed } from './importBatches.ts';
import { inParallel } from './parallel.ts';

/**
 * Transactions of one page in flight at once. DynamoDB takes far more; eight keeps a
 * job's Lambda to a handful of sockets and a page of 200 customers to one wave.
 */
export const JOB_TRANSACTIONS_IN_FLIGHT = 8;

/**
 * Items a pack's transaction holds at most (DynamoDB takes MAX_TRANSACTION_ITEMS): 15-30
 * customers. A transaction's time grows with its items, faster than linearly on DynamoDB
 * Local past about 60 (npm run bench:scale: 60 items a pack ran expire-points 1.5-3x faster
 * than 96), and a pack that loses a race sends fewer customers one at a time.
 */
export const PACK_ITEMS = 60;

/**
 * Items kept free in each transaction for the counts by day (a job's changes fall on the
 * run's day, or two across midnight) and a campaign's count.
 */
const RESERVED_ITEMS = 4;

/** One customer's decided change, with what the job reports of it. */
export interface Decided<C> {
  change: PointsChange;
  counts: C;
}

/**
 * The bonus credits (birthday) of these changes as campaign tallies: points, and whether
 * the campaign credits the customer for the first time (one BatchGetItem for them all).
 */
export async function bonusTallies(changes: readonly PointsChange[]): Promise<CampaignTally[]> {
  const credits = changes.flatMap((change) =>
    change.entries
      .map(({ entry }) => entry)
      .filter((e) => e.type === 'bonus' && e.campaignId !== undefined)
      .map((e) => ({
        campaignId: e.campaignId as string,
        customerId: change.customer.id,
        points: e.points,
      })),
  );
  if (credits.length === 0) return [];
  const pairs = new Map(credits.map((c) => [`${c.campaignId} ${c.customerId}`, c]));
  const seen = await lookUp({ credited: [...pairs.values()] });
  return credits.map((c) => ({
    ...c,
    purchase: false,
    newCustomer: !seen.credited(c.campaignId, c.customerId),
  }));
}

/**
 * Whether a change's customer (as the change leaves them) may go in a pack: the checks
 * changeCustomers makes of every change; the one-at-a-time path answers the others.
 */
export const packable = (customer: CustomerState) =>
  customer.status !== 'erased' && totalOutOfBounds(customer) === undefined;

/**
 * Commits the decided changes in packs of whole customers, JOB_TRANSACTIONS_IN_FLIGHT at a
 * time. Returns the counts of those committed and the ids of customers whose pack did not
 * commit (lost a race, or failed: nothing of it was written): the caller takes those one
 * at a time.
 */
export async function commitPacked<C>(
  decided: readonly Decided<C>[],
  now: Date,
): Promise<{ committed: C[]; contended: string[] }> {
  const tallies = new Map<string, CampaignTally[]>();
  for (const t of await bonusTallies(decided.map((d) => d.change))) {
    tallies.set(t.customerId, [...(tallies.get(t.customerId) ?? []), t]);
  }
  const talliesOf = (d: Decided<C>) => tallies.get(d.change.customer.id) ?? [];
  const packs = packed(
    decided,
    // Its customer, ledger entries and events, a campaign count and marker per credit, and
    // at most one count by day and one win-back count each of its own (a lapse flagged on
    // its own day, in its own experiments).
    (d) =>
      1 +
      d.change.entries.length +
      d.change.events.length +
      2 * talliesOf(d).length +
      d.change.uplift.size +
      Math.max(0, d.change.stats.size - 1),
    PACK_ITEMS - RESERVED_ITEMS,
  );
  const committed: C[] = [];
  const contended: string[] = [];
  await inParallel(packs, JOB_TRANSACTIONS_IN_FLIGHT, async (pack) => {
    // A pack refused whole (past DynamoDB's 4 MB a transaction, say) or not answered wrote
    // nothing either: its customers go one at a time, which answers each as before.
    const result = await commitChanges({
      changes: pack.map((d) => d.change),
      extras: campaignCountItems(pack.flatMap(talliesOf), now),
    }).catch(() => undefined);
    if (result?.outcome === 'committed') committed.push(...pack.map((d) => d.counts));
    else contended.push(...pack.map((d) => d.change.customer.id));
  });
  return { committed, contended };
}
