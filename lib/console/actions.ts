/**
 * The two things a win-back call ends with, on the call list and on the customer page:
 * why the customer left (PUT /v1/customers/{id}/lapse-reason) and goodwill points with a
 * reason (POST /v1/customers/{id}/adjustments).
 */
import { type Api, idempotencyKey, type LapseReasonCode, type LedgerEntry, ok } from './client.ts';
import { field, h, openDialog } from './dom.ts';
import { formatPoints, REASON_LABELS } from './format.ts';

export interface Someone {
  id: string;
  /** How the merchant knows them: name, else email, phone or id. */
  name: string;
  reason?: string | undefined;
  note?: string | undefined;
}

/** Asks why `customer` left and records it; resolves the reason recorded, if one was. */
export async function recordReason(api: Api, customer: Someone): Promise<string | undefined> {
  const select = h(
    'select',
    { name: 'reason', required: true },
    h('option', { value: '' }, 'Choose a reason…'),
    ...Object.entries(REASON_LABELS).map(([value, label]) =>
      h('option', { value, selected: value === customer.reason }, label),
    ),
  );
  const note = h('textarea', { name: 'note', rows: 3, maxlength: 1000 });
  note.value = customer.note ?? '';
  let recorded: string | undefined;
  await openDialog({
    title: `Why did ${customer.name} leave?`,
    intro: [h('p', {}, 'What the call learned; it shows in the retention report by reason.')],
    fields: [
      field('Reason', select),
      field('Note (optional)', note, 'What they said, in a few words'),
    ],
    submitLabel: 'Record reason',
    submit: async () => {
      const reason = select.value as LapseReasonCode;
      const text = note.value.trim();
      await ok(
        api.PUT('/v1/customers/{id}/lapse-reason', {
          params: { path: { id: customer.id } },
          body: { reason, ...(text && { note: text }) },
        }),
      );
      recorded = reason;
    },
  });
  return recorded;
}

/** Gives `customer` goodwill points with a reason; resolves the ledger entry, if given. */
export async function givePoints(api: Api, customer: Someone): Promise<LedgerEntry | undefined> {
  const points = h('input', {
    name: 'points',
    type: 'number',
    inputmode: 'numeric',
    min: 1,
    max: 1_000_000,
    step: 1,
    required: true,
    value: 500,
  });
  const reason = h('input', {
    name: 'reason',
    type: 'text',
    required: true,
    maxlength: 500,
    value: 'Goodwill: sorry we lost you',
  });
  // One key for this dialog: a second click or a retry after a timeout credits once.
  const key = idempotencyKey('adjust');
  let entry: LedgerEntry | undefined;
  await openDialog({
    title: `Give ${customer.name} points`,
    intro: [
      h(
        'p',
        {},
        'A goodwill credit (complaint compensation, a welcome back): kept on their ledger with the reason.',
      ),
    ],
    fields: [
      field('Points', points, 'Whole points, 1 to 1,000,000'),
      field('Reason', reason, 'Shown on the ledger entry'),
    ],
    submitLabel: 'Give points',
    submit: async () => {
      entry = await ok(
        api.POST('/v1/customers/{id}/adjustments', {
          params: { path: { id: customer.id }, header: { 'Idempotency-Key': key } },
          body: { points: Number(points.value), reason: reason.value.trim() },
        }),
      );
    },
  });
  return entry;
}

/** "Gave Ada 500 points: 1,100 available now." */
export const givenMessage = (customer: Someone, entry: LedgerEntry, locale?: string) =>
  `Gave ${customer.name} ${formatPoints(entry.points, locale)} points: ${formatPoints(entry.balanceAfter, locale)} available now.`;
