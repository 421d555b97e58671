import { tableItems } from './api.ts';

/**
 * A table's customers, ledgers, purchases and campaign counts, by the merchant's own keys
 * (externalIds, receipt ids, campaign names) rather than the ids the table made, and
 * without the times of recording.
 */
export async function snapshot(table: string, prefix = '') {
  const items = await tableItems(table);
  const campaignName = new Map<string, string>(
    items.filter((i) => i.PK === 'CAMPAIGNS' && i.SK !== 'LIVE').map((i) => [i.id, i.name]),
  );
  const named = (breakdown: any[] | undefined) =>
    breakdown?.map(({ campaignId, ...rest }) => ({
      ...rest,
      ...(campaignId && { campaign: campaignName.get(campaignId) }),
    }));
  // The customers whose externalId starts with `prefix` (a table may be shared by tests).
  const profiles = items.filter((i) => i.SK === 'PROFILE' && i.externalId?.startsWith(prefix));
  const externalIdOf = new Map<string, string>(profiles.map((p) => [p.id, p.externalId]));
  const receiptOf = new Map<string, string>(
    items.filter((i) => i.SK === 'PURCHASE').map((p) => [p.id, p.receiptId]),
  );
  const customers = new Map<string, any>();
  // Without what derives from the id (its index shards) or the time it was made.
  for (const { PK, SK, id, createdAt, dueShard, sampleShard, ...state } of profiles) {
    customers.set(state.externalId, state);
  }
  const ledgers: Record<string, any[]> = {};
  for (const e of items.filter((i) => i.PK.startsWith('CUS#') && i.SK !== 'PROFILE')) {
    // The store differs between tables; the receipt names the purchase. The answer kept for
    // a replay of the entry's request (answerKey) is the request's, not the history's.
    const { PK, SK, id: _, at: __, storeId: ___, purchaseId, breakdown, answerKey, ...entry } = e;
    const owner = externalIdOf.get(PK.slice('CUS#'.length));
    if (!owner) continue;
    const ledger = ledgers[owner] ?? [];
    ledgers[owner] = ledger;
    ledger.push({
      SK,
      ...entry,
      ...(purchaseId && { receipt: receiptOf.get(purchaseId) }),
      ...(breakdown && { breakdown: named(breakdown) }),
    });
  }
  for (const list of Object.values(ledgers)) list.sort((x, y) => x.SK.localeCompare(y.SK));
  const purchases: Record<string, unknown> = {};
  for (const p of items.filter((i) => i.SK === 'PURCHASE' && externalIdOf.has(i.customerId))) {
    purchases[p.receiptId] = {
      customer: externalIdOf.get(p.customerId),
      pointsEarned: p.pointsEarned,
      breakdown: named(p.breakdown),
      pointsStatus: p.pointsStatus,
      occurredAt: p.occurredAt,
      total: p.total,
    };
  }
  const campaignCounts: Record<string, { purchases: number; customers: number; points: number }> =
    {};
  for (const s of items.filter((i) => i.PK.startsWith('CMPSTATS#'))) {
    const name = campaignName.get(s.PK.slice('CMPSTATS#'.length)) as string;
    const c = campaignCounts[name] ?? { purchases: 0, customers: 0, points: 0 };
    campaignCounts[name] = c;
    c.purchases += s.purchases ?? 0;
    c.customers += s.customers ?? 0;
    c.points += s.pointsAwarded ?? 0;
  }
  return { customers, ledgers, purchases, campaignCounts };
}
