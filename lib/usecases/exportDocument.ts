/**
 * The export document (GDPR Art. 15 and 20): everything the programme holds about one
 * customer, as one JSON document written as a stream of chunks. Nothing is ever whole in
 * memory: the ledger is read a page (500 entries) at a time, and what the later sections
 * need of it is kept as ids and small summaries (the purchases and redemptions it names,
 * the refunds of each purchase, the campaigns and merges), never as the entries themselves.
 * The ledger is read twice: once for itself, once for the purchases it names.
 *
 * Each part is what the API's own reads answer where there is one (the customer as GET
 * /v1/customers/{id}, ledger entries as the activity pages, purchases as GET
 * /v1/purchases/{id}, redemptions as GET /v1/redemptions/{id}), so the two can be compared.
 */
import { type CustomerState, customerView } from '../domain/customer.ts';
import type { DomainEvent, LedgerEntry } from '../domain/ledger.ts';
import { notFound } from '../errors.ts';
import { getCampaign } from '../store/campaigns.ts';
import { customerEventPages, deliveriesOf, ledgerPages } from '../store/exports.ts';
import { getModel } from '../store/model.ts';
import { getProgram } from '../store/program.ts';
import { getPurchases, type Purchase } from '../store/purchases.ts';
import { customerCodes } from '../store/redemptionCodes.ts';
import { getRedemptions } from '../store/redemptions.ts';
import { allEndpoints, type Delivery } from '../store/webhooks.ts';
import { withPurchaseFacts } from './customers.ts';
import { settledCustomer } from './settledCustomer.ts';
import { deliveryView } from './webhookEndpoints.ts';

/** The document's format, in its first field: a reader can tell what it reads. */
export const EXPORT_FORMAT = 'loyalty-export/1';

/** Thrown between pages when the run's time is up: the export is left for the next run. */
export class OutOfTime extends Error {
  constructor() {
    super('the run ran out of time before the export was written');
  }
}

/** A refund of a purchase, as its ledger entry records it. */
type RefundOf = Pick<LedgerEntry, 'refundId' | 'at' | 'points' | 'pendingPoints' | 'campaignId'>;

/** What the later sections need of the ledger, gathered while it is written. */
interface LedgerSummary {
  refunds: Map<string, RefundOf[]>;
  redemptionIds: Set<string>;
  /** Per campaign: the ledger entries naming it and the points they awarded. */
  campaigns: Map<string, { entries: number; pointsAwarded: number }>;
  merges: LedgerEntry[];
}

const json = (value: unknown) => JSON.stringify(value);

/** A JSON array from pages of items, each page one chunk. */
async function* array<T>(
  pages: AsyncIterable<T[]>,
  each: (item: T) => unknown = (item) => item,
): AsyncGenerator<string> {
  let first = true;
  yield '[';
  for await (const page of pages) {
    if (page.length === 0) continue;
    yield `${first ? '\n' : ',\n'}${page.map((item) => json(each(item))).join(',\n')}`;
    first = false;
  }
  yield first ? ']' : '\n]';
}

/** Pages of at most `size` from a list held anyway (ids), for reads of 100 keys at a time. */
function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * A purchase as GET /v1/purchases/{id} answers it (usecases/purchases.ts readPurchase), and
 * when it was recorded, which that answer leaves out.
 */
function purchaseView(purchase: Purchase, now: Date) {
  const { earnableSpend, ...shown } = purchase;
  const available = purchase.availableAt === undefined || purchase.availableAt <= now.toISOString();
  return {
    ...shown,
    pointsStatus: available ? 'available' : 'pending',
    earnableSpend: { ...purchase.total, amount: earnableSpend ?? purchase.total.amount },
  };
}

/**
 * A delivery as GET /v1/webhook-endpoints/{id}/deliveries lists it, with its endpoint and
 * the body sent (the event, as the endpoint received it).
 */
const deliveryOf = (d: Delivery) => ({
  endpointId: d.endpointId,
  ...deliveryView(d),
  body: d.body,
});

function summarise(summary: LedgerSummary, entry: LedgerEntry): void {
  if (entry.type === 'refund' && entry.purchaseId !== undefined) {
    const refunds = summary.refunds.get(entry.purchaseId) ?? [];
    refunds.push({
      refundId: entry.refundId,
      at: entry.at,
      points: entry.points,
      ...(entry.pendingPoints !== undefined && { pendingPoints: entry.pendingPoints }),
      ...(entry.campaignId !== undefined && { campaignId: entry.campaignId }),
    });
    summary.refunds.set(entry.purchaseId, refunds);
  }
  if (entry.redemptionId !== undefined) summary.redemptionIds.add(entry.redemptionId);
  const award = (campaignId: string, points: number) => {
    const c = summary.campaigns.get(campaignId) ?? { entries: 0, pointsAwarded: 0 };
    c.entries += 1;
    c.pointsAwarded += points;
    summary.campaigns.set(campaignId, c);
  };
  for (const item of entry.breakdown ?? []) {
    if (item.campaignId !== undefined) award(item.campaignId, item.points);
  }
  if (entry.campaignId !== undefined && entry.breakdown === undefined) {
    award(entry.campaignId, entry.type === 'bonus' ? entry.points + (entry.pendingPoints ?? 0) : 0);
  }
  // Merges (merge-in, merge-out) and any other entry type to come are in the ledger as they
  // are; the merges are listed again on their own.
  if ((entry.type as string).startsWith('merge')) summary.merges.push(entry);
}

/**
 * The document of customer `customerId` as of `now`, as chunks of JSON text. `checkpoint`
 * is called between pages and throws to stop (OutOfTime).
 */
export async function* exportDocument(
  exportId: string,
  customerId: string,
  now: Date,
  checkpoint: () => void,
): AsyncGenerator<string> {
  const [program, model] = await Promise.all([getProgram(), getModel()]);
  // As GET /v1/customers/{id} reads it: what fell due is written first, so the ledger
  // below adds up to the balances.
  const state: CustomerState | undefined = await settledCustomer(customerId, program, now);
  if (!state) throw notFound('Customer');
  const customer = customerView(state, program, now, model);
  yield `{"format":${json(EXPORT_FORMAT)},"id":${json(exportId)},"exportedAt":${json(now.toISOString())},\n`;
  yield `"customer":${json(customer)},\n`;
  yield `"balances":${json({
    ...customer.points,
    tier: customer.tier,
    qualifyingSpend: customer.qualifyingSpend,
    nextTier: customer.nextTier,
    cashValue: customer.cashValue,
  })},\n`;
  yield `"cadence":${json({ ...customer.cadence, purchaseDays: state.cadence ?? null })},\n`;
  yield `"lapse":${json({
    status: state.status,
    lapsedAt: state.lapsedAt ?? null,
    lastLapse: customer.lastLapse,
    reason: state.lapseReason ?? null,
    winBack: state.winBack ?? [],
  })},\n`;

  const summary: LedgerSummary = {
    refunds: new Map(),
    redemptionIds: new Set(),
    campaigns: new Map(),
    merges: [],
  };
  yield '"ledger":';
  yield* array(
    (async function* () {
      for await (const page of ledgerPages(customerId)) {
        checkpoint();
        for (const entry of page) summarise(summary, entry);
        yield await withPurchaseFacts(page);
      }
    })(),
  );

  yield ',\n"purchases":';
  const listed = new Set<string>();
  yield* array(
    (async function* () {
      for await (const page of ledgerPages(customerId)) {
        checkpoint();
        const ids = [
          ...new Set(page.flatMap((e) => (e.purchaseId === undefined ? [] : [e.purchaseId]))),
        ].filter((id) => !listed.has(id));
        for (const id of ids) listed.add(id);
        const found = new Map((await getPurchases(ids)).map((p) => [p.id, p]));
        yield ids.flatMap((id) => {
          const purchase = found.get(id);
          return purchase ? [purchase] : [];
        });
      }
    })(),
    (purchase: Purchase) => ({
      ...purchaseView(purchase, now),
      refunds: summary.refunds.get(purchase.id) ?? [],
    }),
  );

  yield ',\n"redemptions":';
  yield* array(
    (async function* () {
      for (const ids of chunks([...summary.redemptionIds], 100)) {
        checkpoint();
        const found = new Map((await getRedemptions(ids)).map((r) => [r.id, r]));
        yield ids.flatMap((id) => {
          const redemption = found.get(id);
          return redemption ? [redemption] : [];
        });
      }
    })(),
  );

  yield ',\n"redemptionCodes":';
  yield* array(
    (async function* () {
      yield (await customerCodes(customerId)).map((code) => ({
        ...code,
        expiresAt: new Date(code.expiresAt * 1000).toISOString(),
      }));
    })(),
  );

  yield ',\n"campaigns":';
  yield* array(
    (async function* () {
      for (const ids of chunks([...summary.campaigns.keys()], 20)) {
        checkpoint();
        const campaigns = await Promise.all(ids.map((id) => getCampaign(id)));
        yield ids.map((id, i) => {
          const c = campaigns[i];
          return {
            id,
            ...(c && { name: c.name, type: c.type, startsAt: c.startsAt, endsAt: c.endsAt }),
            ...summary.campaigns.get(id),
          };
        });
      }
    })(),
  );

  yield `,\n"merges":`;
  yield* array(
    (async function* () {
      yield summary.merges;
    })(),
  );

  yield ',\n"events":';
  const eventIds: string[] = [];
  yield* array(
    (async function* () {
      for await (const page of customerEventPages(customerId)) {
        checkpoint();
        for (const event of page) eventIds.push(event.id);
        yield page;
      }
    })(),
    (event: DomainEvent) => event,
  );

  yield ',\n"webhookDeliveries":';
  const endpointIds = (await allEndpoints()).map((e) => e.id);
  yield* array(
    (async function* () {
      if (endpointIds.length === 0) return;
      const perRead = Math.max(1, Math.floor(100 / endpointIds.length));
      for (const ids of chunks(eventIds, perRead)) {
        checkpoint();
        yield (await deliveriesOf(endpointIds, ids, now)).map(deliveryOf);
      }
    })(),
  );
  yield '\n}\n';
}
