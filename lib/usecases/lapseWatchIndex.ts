import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerState } from '../domain/customer.ts';
import { lapseWatchOf } from '../domain/lapseWatch.ts';
import { tableName, writeIf } from '../store/client.ts';
import { dueItems } from '../store/due.ts';
import { keys } from '../store/keys.ts';
import { batchGet } from '../store/reads.ts';
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
  // Everything in LapseDue, due or not ('~' sorts after every ISO instant).
  for await (const page of dueItems('LapseDue', '~')) {
    if (Date.now() > deadline) return false;
    const customers = await batchGet(
      page.map((k) => keys.customer(keys.customerIdOf(k.PK as string))),
    );
    await inParallel(customers, 4, async (item) => {
      const c = item as unknown as CustomerState & { PK: string; SK: string };
      if (c.lapseDueAt === undefined) return;
      const watch =
        c.status === 'active'
          ? lapseWatchOf(c.purchases, c.lastPurchaseAt, c.cadence, minPurchases)
          : undefined;
      // Refused when changed meanwhile: that write set lapseWatch and dropped lapseDueAt.
      await writeIf(
        new UpdateCommand({
          TableName: tableName(),
          Key: { PK: c.PK, SK: c.SK },
          UpdateExpression:
            watch === undefined ? 'REMOVE lapseDueAt' : 'SET lapseWatch = :watch REMOVE lapseDueAt',
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: {
            ':version': c.version,
            ...(watch !== undefined && { ':watch': watch }),
          },
        }),
      );
    });
  }
  return true;
}
