/**
 * What the customer page does with a customer's records and personal data: merge a
 * duplicate record into this one (POST /v1/customers/{id}/merge, after a preview of the
 * result), erase them on request (POST /v1/customers/{id}/erase, after a typed
 * confirmation), and export their data (POST /v1/customers/{id}/exports, then
 * GET /v1/exports/{id} until the document is ready).
 */
import { nameOf } from './calls.ts';
import {
  type Api,
  ApiProblem,
  type Customer,
  type DataExport,
  type Erasure,
  idempotencyKey,
  ok,
} from './client.ts';
import { type Child, describeProblem, field, h, inputChanged, openDialog, replace } from './dom.ts';
import { formatPoints, utcMinute } from './format.ts';

type Lookup = 'id' | 'email' | 'phone' | 'externalId';

const LOOKUPS: Record<Lookup, { label: string; type: string; placeholder: string }> = {
  id: { label: 'Customer id', type: 'text', placeholder: 'cus_01J…' },
  email: { label: 'Email', type: 'email', placeholder: 'ada@example.com' },
  phone: { label: 'Phone', type: 'tel', placeholder: '+14155550123' },
  externalId: { label: 'External id', type: 'text', placeholder: 'CRM-1042' },
};

const IDENTIFIERS = [
  ['email', 'email'],
  ['phone', 'phone'],
  ['externalId', 'external id'],
] as const;

/** The word the merchant types to confirm an erase. */
export const ERASE_WORD = 'ERASE';

/**
 * What a merge of `other` into `survivor` leaves (as domain/merge.ts does it): points added
 * up, the survivor's identifiers kept, those it lacks taken over, the other's different ones
 * kept as lookups that find the survivor, and the tier worked out again, never lower.
 */
export function mergePreview(survivor: Customer, other: Customer) {
  const keeps: string[] = [];
  const takesOver: string[] = [];
  const findsToo: string[] = [];
  for (const [key, label] of IDENTIFIERS) {
    const own = survivor[key];
    const theirs = other[key];
    if (own) keeps.push(`${label} ${own}`);
    if (theirs && !own) takesOver.push(`${label} ${theirs}`);
    else if (theirs && theirs !== own) findsToo.push(`${label} ${theirs}`);
  }
  return {
    available: survivor.points.available + other.points.available,
    pending: survivor.points.pending + other.points.pending,
    lifetimeEarned: survivor.points.lifetimeEarned + other.points.lifetimeEarned,
    name: survivor.name ?? other.name,
    keeps,
    takesOver,
    findsToo,
  };
}

/** The merge's problems in the merchant's words, with the API's for support. */
function mergeProblem(error: unknown, other: string): Error {
  const api = describeProblem(error);
  if (!(error instanceof ApiProblem)) return new Error(api);
  const words: Record<string, string> = {
    'merge-blocked': `${other} cannot be merged yet: points of theirs are held by a redemption in progress, or they have a redemption code not yet used. Once it is used, released or expired, merge again.`,
    conflict: `These records cannot be merged: ${other} was merged already, one of the two was erased, or too many records were merged into this one.`,
    'validation-failed':
      'These records cannot be merged: a customer cannot be merged into itself, or the points together would be too many.',
    'customer-erased': 'These records cannot be merged: one of the two was erased on request.',
    'not-found': 'One of the two records no longer exists.',
  };
  const said = words[error.code];
  return new Error(said ? `${said} (${api})` : api);
}

/**
 * Merges another record of the same person into `survivor`: the merchant finds it by id,
 * email, phone or external id, sees both records and the result side by side, then
 * confirms. Resolves the survivor as the API answers it, if merged.
 */
export async function mergeRecord(
  api: Api,
  survivor: Customer,
  locale: string | undefined,
): Promise<{ survivor: Customer; merged: string } | undefined> {
  const survivorName = nameOf(survivor);
  const by = h(
    'select',
    { name: 'mergeBy' },
    (Object.keys(LOOKUPS) as Lookup[]).map((key) =>
      h('option', { value: key }, LOOKUPS[key].label),
    ),
  );
  const value = h('input', {
    name: 'mergeValue',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const valueField = field('Their customer id', value, 'The other record, the one that goes');
  const label = valueField.querySelector('label') as HTMLLabelElement;
  const describe = () => {
    const lookup = LOOKUPS[by.value as Lookup];
    value.type = lookup.type;
    value.placeholder = lookup.placeholder;
    label.textContent =
      by.value === 'id' ? 'Their customer id' : `Their ${lookup.label.toLowerCase()}`;
  };
  describe();
  const preview = h('div', { class: 'merge-preview', 'aria-live': 'polite' });
  /** The record previewed, with this customer as read for the preview; none until shown. */
  let previewed: { survivor: Customer; other: Customer } | undefined;
  const forget = () => {
    if (previewed) replace(preview);
    previewed = undefined;
  };
  by.addEventListener('change', () => {
    describe();
    forget();
  });
  value.addEventListener('input', forget);

  const show = async () => {
    forget();
    const wanted = value.value.trim();
    if (!wanted) {
      replace(preview, h('p', { class: 'error' }, `Enter ${label.textContent?.toLowerCase()}.`));
      return;
    }
    replace(preview, h('p', { class: 'muted', 'aria-busy': 'true' }, 'Looking them up…'));
    const lookup = by.value as Lookup;
    try {
      const [again, found] = await Promise.all([
        ok(api.GET('/v1/customers/{id}', { params: { path: { id: survivor.id } } })),
        lookup === 'id'
          ? ok(api.GET('/v1/customers/{id}', { params: { path: { id: wanted } } }))
          : ok(api.GET('/v1/customers', { params: { query: { [lookup]: wanted } } })),
      ]);
      if (value.value.trim() !== wanted || by.value !== lookup) return; // changed meanwhile
      if (again.status === 'erased') {
        replace(preview, h('p', { class: 'error' }, `${survivorName} was erased on request.`));
        return;
      }
      const notMergeable = (words: string) => replace(preview, h('p', { class: 'error' }, words));
      if (found.status === 'erased')
        return notMergeable(`${found.id} was erased on request: nothing is left to merge.`);
      if (found.id === survivor.id)
        return notMergeable(
          lookup === 'id' && wanted !== survivor.id
            ? `${wanted} was merged into ${survivorName} already.`
            : `That is ${survivorName}: find the other record, the one to merge into this one.`,
        );
      if (lookup === 'id' && found.id !== wanted)
        return notMergeable(`${wanted} was merged into ${nameOf(found)} (${found.id}) already.`);
      previewed = { survivor: again, other: found };
      replace(preview, previewOf(again, found, locale));
    } catch (error) {
      if (value.value.trim() !== wanted) return;
      replace(
        preview,
        h(
          'p',
          { class: 'error' },
          error instanceof ApiProblem && error.code === 'not-found'
            ? `No customer has the ${LOOKUPS[lookup].label.toLowerCase()} ${wanted}.`
            : describeProblem(error),
        ),
      );
    } finally {
      inputChanged(preview);
    }
  };
  const previewButton = h('button', { type: 'button', onclick: () => void show() }, 'Preview');
  // Enter in the field previews (the merge itself waits for the preview).
  value.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    void show();
  });

  // One key per merge: a retry after the API went unanswered merges once; a new record
  // previewed, or an answer (a refusal the merchant may then resolve), takes a fresh one.
  let key = idempotencyKey('merge');
  let keyFor: string | undefined;
  let result: { survivor: Customer; merged: string } | undefined;
  await openDialog({
    title: `Merge another record into ${survivorName}`,
    intro: [
      h(
        'p',
        {},
        `For one person enrolled twice (by phone at the till, by email in the app): everything of the other record moves to ${survivorName}, and the other record keeps nothing.`,
      ),
    ],
    fields: [
      h('div', { class: 'merge-find' }, field('Find it by', by), valueField, previewButton),
      preview,
    ],
    submitLabel: 'Merge',
    ready: () => previewed !== undefined,
    submit: async () => {
      const other = previewed?.other;
      if (!other) return;
      if (keyFor !== other.id) {
        key = idempotencyKey('merge');
        keyFor = other.id;
      }
      try {
        const merged = await ok(
          api.POST('/v1/customers/{id}/merge', {
            params: { path: { id: survivor.id }, header: { 'Idempotency-Key': key } },
            body: { from: other.id },
          }),
        );
        result = { survivor: merged, merged: nameOf(other) };
      } catch (error) {
        if (!(error instanceof ApiProblem && error.status === 0)) keyFor = undefined;
        throw mergeProblem(error, nameOf(other));
      }
    },
  });
  return result;
}

function previewOf(survivor: Customer, other: Customer, locale: string | undefined): HTMLElement {
  const after = mergePreview(survivor, other);
  const points = (n: number) => formatPoints(n, locale);
  const row = (name: string, title: string, mine: Child, theirs: Child, result: Child) =>
    h(
      'tr',
      { 'data-row': name },
      h('th', { scope: 'row' }, title),
      h('td', { 'data-field': 'survivor', 'data-label': 'This customer' }, mine),
      h('td', { 'data-field': 'other', 'data-label': 'Other record' }, theirs),
      h('td', { 'data-field': 'result', 'data-label': 'After' }, result),
    );
  const identifier = (key: 'email' | 'phone' | 'externalId') => {
    const own = survivor[key];
    const theirs = other[key];
    return own ? own : theirs ? `${theirs} (taken over)` : '–';
  };
  const list = (title: string, items: string[], name: string) =>
    items.length > 0 ? h('li', { 'data-field': name }, `${title}: ${items.join(', ')}.`) : null;
  return h(
    'div',
    {},
    h('h3', {}, 'What the merge does'),
    h(
      'div',
      { class: 'merge-scroll' },
      h(
        'table',
        { class: 'merge-table' },
        h('caption', { class: 'visually-hidden' }, 'The two records and the result, side by side'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, ''),
            h('th', { scope: 'col' }, 'This customer', h('small', {}, survivor.id)),
            h('th', { scope: 'col' }, 'Other record', h('small', {}, other.id)),
            h('th', { scope: 'col' }, 'After'),
          ),
        ),
        h(
          'tbody',
          {},
          row('name', 'Name', survivor.name ?? '–', other.name ?? '–', after.name ?? '–'),
          row('email', 'Email', survivor.email ?? '–', other.email ?? '–', identifier('email')),
          row('phone', 'Phone', survivor.phone ?? '–', other.phone ?? '–', identifier('phone')),
          row(
            'externalId',
            'External id',
            survivor.externalId ?? '–',
            other.externalId ?? '–',
            identifier('externalId'),
          ),
          row(
            'available',
            'Available points',
            points(survivor.points.available),
            points(other.points.available),
            points(after.available),
          ),
          row(
            'pending',
            'Pending points',
            points(survivor.points.pending),
            points(other.points.pending),
            points(after.pending),
          ),
          row(
            'lifetimeEarned',
            'Earned in all',
            points(survivor.points.lifetimeEarned),
            points(other.points.lifetimeEarned),
            points(after.lifetimeEarned),
          ),
          row(
            'tier',
            'Tier',
            survivor.tier.name,
            other.tier.name,
            survivor.tier.id === other.tier.id
              ? `${survivor.tier.name} or higher`
              : `The higher of ${survivor.tier.name} and ${other.tier.name}, or higher`,
          ),
        ),
      ),
    ),
    h(
      'ul',
      { class: 'merge-summary' },
      list(`${nameOf(survivor)} keeps`, after.keeps, 'keeps'),
      list('It takes over', after.takesOver, 'takesOver'),
      list('Kept as lookups that find it', after.findsToo, 'findsToo'),
      h(
        'li',
        { 'data-field': 'tierNote' },
        'The tier is worked out again from the spend of both records together: it can only go up, never down.',
      ),
      h(
        'li',
        {},
        `The other record (${other.id}) keeps nothing: every later purchase, refund or lookup naming it acts on ${nameOf(survivor)}.`,
      ),
    ),
    other.points.held > 0
      ? h(
          'p',
          { class: 'error' },
          `${nameOf(other)} has ${points(other.points.held)} points held by a redemption in progress: the merge will be refused until it is used or released.`,
        )
      : null,
  );
}

/**
 * Erases `customer` on request, once the merchant has read what it does and typed the
 * confirmation word. Resolves what the erase did, if it was done.
 */
export async function eraseOnRequest(
  api: Api,
  customer: Customer,
  locale: string | undefined,
): Promise<Erasure | undefined> {
  const name = nameOf(customer);
  const confirm = h('input', {
    name: 'confirmErase',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'characters',
  });
  const key = idempotencyKey('erase');
  let erased: Erasure | undefined;
  await openDialog({
    title: `Erase ${name} on request?`,
    intro: [
      h(
        'ul',
        { class: 'consequences' },
        h(
          'li',
          {},
          'Their personal data is gone everywhere: name, email, phone, external id and birth date, from this record, from lookups (they may enrol again as someone new), from the records kept of past requests, and any export of their data.',
        ),
        h(
          'li',
          {},
          `Their points are forfeited: ${formatPoints(customer.points.available, locale)} available and ${formatPoints(customer.points.pending, locale)} pending, with any held by a redemption in progress; unused redemption codes are cancelled.`,
        ),
        h(
          'li',
          {},
          `The financial record is kept: purchases, refunds, redemptions and the ledger stay under the bare id ${customer.id}, so reports and accounts do not change.`,
        ),
        h('li', {}, h('strong', {}, 'This cannot be undone.')),
      ),
    ],
    fields: [field(`Type ${ERASE_WORD} to confirm`, confirm, 'In capitals')],
    submitLabel: 'Erase for good',
    danger: true,
    ready: () => confirm.value.trim() === ERASE_WORD,
    submit: async () => {
      erased = await ok(
        api.POST('/v1/customers/{id}/erase', {
          params: { path: { id: customer.id }, header: { 'Idempotency-Key': key } },
        }),
      );
    },
  });
  return erased;
}

const POLL_MS = 1500;
/** How long the page waits for the document before saying so (the job runs every minute in AWS). */
const EXPORT_PATIENCE_MS = 3 * 60_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * "Export their data" and, beside it, how the export is going: Preparing… while the exports
 * job writes the document, then a link to it with when the link expires.
 */
export function dataExport(
  api: Api,
  customer: Customer,
  signal: AbortSignal,
): { button: HTMLButtonElement; status: HTMLElement } {
  const status = h('p', { role: 'status', class: 'export-status' });
  const button = h('button', { type: 'button' }, 'Export their data');
  /** Stops when the merchant leaves the page or the customer is drawn again. */
  const gone = () => signal.aborted || !status.isConnected;

  const follow = async (exportId: string) => {
    status.dataset.export = exportId;
    replace(status, h('span', { 'aria-busy': 'true' }, 'Preparing their data…'));
    const until = Date.now() + EXPORT_PATIENCE_MS;
    let answer: DataExport | undefined;
    try {
      do {
        await pause(POLL_MS);
        if (gone()) return;
        answer = await ok(api.GET('/v1/exports/{id}', { params: { path: { id: exportId } } }));
      } while (answer.status === 'running' && Date.now() < until);
    } catch (error) {
      if (!gone()) later(exportId, `Could not check the export: ${describeProblem(error)}`);
      return;
    }
    if (gone()) return;
    if (answer.status === 'ready' && answer.url) {
      replace(
        status,
        'Ready: ',
        h(
          'a',
          { href: answer.url, download: `${customer.id}.json`, 'data-field': 'exportLink' },
          `download ${nameOf(customer)}’s data (JSON)`,
        ),
        answer.expiresAt
          ? h(
              'span',
              { 'data-field': 'exportExpires' },
              `. The link works until ${utcMinute(answer.expiresAt)}.`,
            )
          : '.',
      );
    } else if (answer.status === 'failed') {
      replace(
        status,
        h(
          'span',
          { class: 'error' },
          `The export failed after 3 attempts (${exportId}). Request it again, or give support its id.`,
        ),
      );
    } else {
      later(
        exportId,
        'Still preparing after 3 minutes: the export goes on, and can be checked again later.',
      );
    }
  };
  const later = (exportId: string, words: string) =>
    replace(
      status,
      h('span', { class: 'error' }, words),
      ' ',
      h('button', { type: 'button', onclick: () => void follow(exportId) }, 'Check again'),
    );

  button.addEventListener('click', async () => {
    button.disabled = true;
    replace(status, 'Requesting the export…');
    try {
      const requested = await ok(
        api.POST('/v1/customers/{id}/exports', {
          params: {
            path: { id: customer.id },
            header: { 'Idempotency-Key': idempotencyKey('export') },
          },
        }),
      );
      await follow(requested.id);
    } catch (error) {
      if (!gone())
        replace(
          status,
          h('span', { class: 'error' }, `Could not request the export: ${describeProblem(error)}`),
        );
    } finally {
      button.disabled = false;
    }
  });
  return { button, status };
}
