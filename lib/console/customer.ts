/**
 * Customer: find one by email, phone or external id (GET /v1/customers?...), then their
 * balance and its cash value, tier and progress, purchase rhythm, and ledger page by page.
 */
import { givenMessage, givePoints, recordReason, type Someone } from './actions.ts';
import { nameOf } from './calls.ts';
import { ApiProblem, type Customer, type Erasure, ok } from './client.ts';
import { dataExport, eraseOnRequest, mergeRecord } from './dataRights.ts';
import { announce, describeProblem, failure, field, h, loading, replace } from './dom.ts';
import {
  formatDays,
  formatMoney,
  formatNumber,
  formatPercent,
  formatPoints,
  formatSignedPoints,
  purchaseLabel,
  reasonLabel,
  utcDay,
  utcMinute,
} from './format.ts';
import { heading, type ViewContext } from './view.ts';

const LEDGER_PAGE = 10;
type Lookup = 'email' | 'phone' | 'externalId';

const LOOKUPS: Record<Lookup, { label: string; type: string; placeholder: string; hint: string }> =
  {
    email: { label: 'Email', type: 'email', placeholder: 'ada@example.com', hint: 'Any case' },
    phone: {
      label: 'Phone',
      type: 'tel',
      placeholder: '+14155550123',
      hint: 'E.164: + and the country code',
    },
    externalId: {
      label: 'External id',
      type: 'text',
      placeholder: 'CRM-1042',
      hint: 'Your own id, exactly',
    },
  };

/** The last search, so coming back to the page shows it again. */
let lastSearch: { by: Lookup; value: string } = { by: 'email', value: '' };

const fact = (term: string, value: string | Node, name?: string) => [
  h('dt', {}, term),
  h('dd', name ? { 'data-figure': name } : {}, value),
];

function summary(customer: Customer, locale: string | undefined): HTMLElement {
  const { points, tier, nextTier, cadence } = customer;
  const progress = nextTier
    ? h(
        'div',
        { class: 'progress' },
        h('progress', {
          max: customer.qualifyingSpend.amount + nextTier.spendNeeded.amount,
          value: customer.qualifyingSpend.amount,
          'aria-label': `Progress to ${nextTier.name}`,
        }),
        h(
          'p',
          {},
          h('span', { 'data-figure': 'spendNeeded' }, formatMoney(nextTier.spendNeeded, locale)),
          ` more qualifying spend to ${nextTier.name} (`,
          h(
            'span',
            { 'data-figure': 'qualifyingSpend' },
            formatMoney(customer.qualifyingSpend, locale),
          ),
          ' so far).',
        ),
      )
    : h(
        'p',
        {},
        'Top tier (qualifying spend ',
        h(
          'span',
          { 'data-figure': 'qualifyingSpend' },
          formatMoney(customer.qualifyingSpend, locale),
        ),
        ').',
      );
  return h(
    'div',
    { class: 'cards' },
    h(
      'article',
      { class: 'card' },
      h('h3', {}, 'Balance'),
      h(
        'p',
        { class: 'figure' },
        h('span', { 'data-figure': 'available' }, formatPoints(points.available, locale)),
        ' points',
      ),
      h(
        'p',
        {},
        'Worth ',
        h('strong', { 'data-figure': 'cashValue' }, formatMoney(customer.cashValue, locale)),
        '.',
      ),
      h(
        'dl',
        { class: 'facts' },
        fact('Pending', formatPoints(points.pending, locale), 'pending'),
        fact('Held', formatPoints(points.held, locale), 'held'),
        fact('Earned in all', formatPoints(points.lifetimeEarned, locale), 'lifetimeEarned'),
        points.expiringSoon
          ? fact(
              'Expiring soon',
              `${formatPoints(points.expiringSoon.points, locale)} on ${utcDay(points.expiringSoon.expiresAt)}`,
              'expiringSoon',
            )
          : [],
      ),
    ),
    h(
      'article',
      { class: 'card' },
      h('h3', {}, 'Tier'),
      h('p', { class: 'figure', 'data-figure': 'tier' }, tier.name),
      h('p', { class: 'muted' }, `Earns ${formatNumber(tier.multiplier, locale, 4)}× points.`),
      progress,
    ),
    h(
      'article',
      { class: 'card' },
      h('h3', {}, 'How they buy'),
      h(
        'dl',
        { class: 'facts' },
        fact('Purchases', formatPoints(cadence.purchases, locale), 'purchases'),
        fact(
          'Usual gap',
          cadence.typicalGapDays === null ? '–' : formatDays(cadence.typicalGapDays, locale),
          'typicalGapDays',
        ),
        fact(
          'Last purchase',
          customer.lastPurchaseAt ? utcDay(customer.lastPurchaseAt) : '–',
          'lastPurchaseAt',
        ),
        fact(
          'Next expected by',
          cadence.expectedNextPurchaseBy ? utcDay(cadence.expectedNextPurchaseBy) : '–',
          'expectedNextPurchaseBy',
        ),
        fact(
          'P(alive)',
          cadence.pAlive === null ? '–' : formatPercent(cadence.pAlive, locale),
          'pAlive',
        ),
        fact(
          'Expected purchases, 90 days',
          cadence.expectedPurchases90d === null
            ? '–'
            : formatNumber(cadence.expectedPurchases90d, locale),
          'expectedPurchases90d',
        ),
      ),
    ),
  );
}

/** The merchant's store names by id (an empty map if they cannot be read: ids are shown). */
async function storeNames({ api, signal }: ViewContext): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  try {
    let cursor: string | undefined;
    do {
      const page = await ok(
        api.GET('/v1/stores', { params: { query: { limit: 100, ...(cursor && { cursor }) } } }),
      );
      for (const store of page.items) names.set(store.id, store.name);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && !signal.aborted);
  } catch {
    // The ledger still shows, with store ids.
  }
  return names;
}

/** The ledger, newest first, a page at a time (Newer / Older). */
function ledger(context: ViewContext, customerId: string): HTMLElement {
  const { api, locale, signal } = context;
  const section = h('section', { class: 'ledger', 'aria-labelledby': 'ledger' });
  /** The cursor of each page shown so far: [first page, second, ...]. */
  const cursors: (string | undefined)[] = [undefined];
  let page = 0;
  /** The merchant's stores by id, read once, for naming where each purchase was made. */
  const stores = storeNames(context);

  const show = async () => {
    replace(section, h('h3', { id: 'ledger' }, 'Ledger'), loading('the ledger'));
    try {
      const cursor = cursors[page];
      const result = await ok(
        api.GET('/v1/customers/{id}/activity', {
          params: {
            path: { id: customerId },
            query: { limit: LEDGER_PAGE, ...(cursor && { cursor }) },
          },
        }),
      );
      const names = await stores;
      if (signal.aborted) return;
      if (result.nextCursor) cursors[page + 1] = result.nextCursor;
      const older = h('button', { type: 'button', disabled: !result.nextCursor }, 'Older');
      const newer = h('button', { type: 'button', disabled: page === 0 }, 'Newer');
      older.addEventListener('click', () => {
        page += 1;
        void show();
      });
      newer.addEventListener('click', () => {
        page -= 1;
        void show();
      });
      replace(
        section,
        h('h3', { id: 'ledger' }, 'Ledger'),
        result.items.length === 0
          ? h('p', { class: 'muted' }, 'No entries yet.')
          : h(
              'div',
              { class: 'table-scroll' },
              h(
                'table',
                { class: 'ledger-table' },
                h(
                  'caption',
                  { class: 'visually-hidden' },
                  `Ledger, page ${page + 1}, newest first`,
                ),
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    ['When (UTC)', 'Entry', 'Points', 'Balance after', 'Details'].map((t) =>
                      h('th', { scope: 'col' }, t),
                    ),
                  ),
                ),
                h(
                  'tbody',
                  {},
                  result.items.map((entry) =>
                    h(
                      'tr',
                      { 'data-entry': entry.id },
                      // A purchase recorded late or imported was bought long before it
                      // was recorded: both are shown.
                      entry.occurredAt === undefined
                        ? h('td', {}, h('span', { 'data-field': 'at' }, utcMinute(entry.at)))
                        : h(
                            'td',
                            {},
                            h(
                              'span',
                              { 'data-field': 'bought' },
                              `bought ${utcMinute(entry.occurredAt)}`,
                            ),
                            h('br', {}),
                            h(
                              'span',
                              { 'data-field': 'at', class: 'muted' },
                              `recorded ${utcMinute(entry.at)}`,
                            ),
                          ),
                      h('td', { 'data-field': 'type' }, entry.type),
                      h(
                        'td',
                        { 'data-field': 'points', class: 'number' },
                        formatSignedPoints(entry.points, locale),
                      ),
                      h(
                        'td',
                        { 'data-field': 'balanceAfter', class: 'number' },
                        formatPoints(entry.balanceAfter, locale),
                      ),
                      h(
                        'td',
                        { 'data-field': 'details' },
                        entry.reason ??
                          (entry.purchaseId
                            ? purchaseLabel(entry, entry.storeId && names.get(entry.storeId))
                            : entry.redemptionId
                              ? `Redemption ${entry.redemptionId}`
                              : entry.campaignId
                                ? `Campaign ${entry.campaignId}`
                                : ''),
                      ),
                    ),
                  ),
                ),
              ),
            ),
        h(
          'div',
          { class: 'pager' },
          newer,
          h('span', { class: 'muted' }, `Page ${page + 1}`),
          older,
        ),
      );
    } catch (error) {
      if (!signal.aborted)
        replace(section, h('h3', { id: 'ledger' }, 'Ledger'), failure('the ledger', error));
    }
  };
  void show();
  return section;
}

const readCustomer = (api: ViewContext['api'], id: string) =>
  ok(api.GET('/v1/customers/{id}', { params: { path: { id } } }));

/** Draws customer `id` in `area`; `erased`: what an erase just did, said under the erased state. */
async function showCustomer(
  context: ViewContext,
  area: HTMLElement,
  id: string,
  erased?: Erasure,
): Promise<void> {
  const { api, locale, signal } = context;
  replace(area, loading('the customer'));
  let read: Awaited<ReturnType<typeof readCustomer>>;
  try {
    read = await readCustomer(api, id);
  } catch (error) {
    if (!signal.aborted) replace(area, failure('the customer', error));
    return;
  }
  if (signal.aborted) return;
  if (read.status === 'erased') {
    // The API's UTC day, whatever the browser's time zone.
    const when = new Date(read.erasedAt).toLocaleDateString(locale, {
      dateStyle: 'long',
      timeZone: 'UTC',
    });
    replace(
      area,
      h('h2', { id: 'customer-name', tabindex: -1 }, read.id),
      h(
        'p',
        { class: 'erased', 'data-figure': 'erased' },
        `Erased on request on ${when}: nothing but their id is kept.`,
      ),
      erased
        ? h(
            'p',
            { 'data-figure': 'pointsForfeited' },
            `${formatPoints(erased.pointsForfeited, locale)} points forfeited; the financial record (purchases, refunds, redemptions, ledger) stays under this id.`,
          )
        : null,
    );
    return;
  }
  const customer: Customer = read;
  const who: Someone = { id: customer.id, name: nameOf(customer) };
  const give = h('button', { type: 'button', class: 'primary' }, 'Give points');
  give.addEventListener('click', async () => {
    const entry = await givePoints(api, who);
    if (!entry) return;
    announce(givenMessage(who, entry, locale));
    await showCustomer(context, area, id);
    area.querySelector<HTMLElement>('button.primary')?.focus();
  });
  const reason =
    customer.status === 'lapsed'
      ? h(
          'button',
          {
            type: 'button',
            onclick: async () => {
              const recorded = await recordReason(api, who);
              if (recorded) announce(`Recorded “${reasonLabel(recorded)}” for ${who.name}.`);
            },
          },
          'Record why they left',
        )
      : null;
  const merge = h('button', { type: 'button' }, 'Merge another record into this one');
  merge.addEventListener('click', async () => {
    const merged = await mergeRecord(api, customer, locale);
    if (!merged) return;
    announce(
      `Merged ${merged.merged} into ${nameOf(merged.survivor)}: ${formatPoints(merged.survivor.points.available, locale)} points available now.`,
    );
    await showCustomer(context, area, merged.survivor.id);
    area.querySelector<HTMLElement>('#customer-name')?.focus();
  });
  const erase = h('button', { type: 'button', class: 'danger' }, 'Erase on request');
  erase.addEventListener('click', async () => {
    const erasure = await eraseOnRequest(api, customer, locale);
    if (!erasure) return;
    announce(
      `Erased ${who.name} on request: ${formatPoints(erasure.pointsForfeited, locale)} points forfeited.`,
    );
    await showCustomer(context, area, id, erasure);
    area.querySelector<HTMLElement>('#customer-name')?.focus();
  });
  const exporting = dataExport(api, customer, signal);
  replace(
    area,
    h(
      'section',
      { class: 'customer', 'data-customer': customer.id, 'aria-labelledby': 'customer-name' },
      h('h2', { id: 'customer-name', tabindex: -1 }, who.name),
      h(
        'p',
        {},
        customer.status === 'lapsed'
          ? h(
              'span',
              { class: 'badge lapsed', 'data-figure': 'status' },
              `Lapsed since ${customer.lapsedAt ? utcDay(customer.lapsedAt) : '?'}`,
            )
          : h('span', { class: 'badge active', 'data-figure': 'status' }, 'Active'),
      ),
      h(
        'dl',
        { class: 'facts contact' },
        fact('Customer id', customer.id, 'id'),
        customer.email
          ? fact('Email', h('a', { href: `mailto:${customer.email}` }, customer.email), 'email')
          : [],
        customer.phone
          ? fact('Phone', h('a', { href: `tel:${customer.phone}` }, customer.phone), 'phone')
          : [],
        customer.externalId ? fact('External id', customer.externalId, 'externalId') : [],
        fact('Enrolled', utcDay(customer.createdAt), 'createdAt'),
      ),
      h('div', { class: 'actions' }, give, reason),
      summary(customer, locale),
      ledger(context, customer.id),
      h(
        'section',
        { class: 'data-rights', 'aria-labelledby': 'data-rights' },
        h('h3', { id: 'data-rights' }, 'Their records and personal data'),
        h(
          'p',
          { class: 'muted' },
          'One person enrolled twice, a request to see their data, a request to be forgotten.',
        ),
        h('div', { class: 'actions' }, merge, exporting.button, erase),
        exporting.status,
      ),
    ),
  );
}

export async function customerPage(context: ViewContext): Promise<void> {
  const { api, main, param, signal } = context;
  const by = h(
    'select',
    { name: 'by' },
    (Object.keys(LOOKUPS) as Lookup[]).map((key) =>
      h('option', { value: key, selected: key === lastSearch.by }, LOOKUPS[key].label),
    ),
  );
  const value = h('input', {
    name: 'value',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  value.value = lastSearch.value;
  const valueField = field('Value', value, LOOKUPS[lastSearch.by].hint);
  const hint = valueField.querySelector('small') as HTMLElement;
  const label = valueField.querySelector('label') as HTMLLabelElement;
  const describe = () => {
    const lookup = LOOKUPS[by.value as Lookup];
    value.type = lookup.type;
    value.placeholder = lookup.placeholder;
    label.textContent = lookup.label;
    hint.textContent = lookup.hint;
  };
  describe();
  by.addEventListener('change', describe);
  const message = h('p', { role: 'status', class: 'search-result' });
  const area = h('div', {});
  const form = h(
    'form',
    { class: 'search', role: 'search', 'aria-label': 'Find a customer' },
    field('Find by', by),
    valueField,
    h('button', { type: 'submit', class: 'primary' }, 'Find'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = by.value as Lookup;
    lastSearch = { by: key, value: value.value.trim() };
    message.textContent = 'Searching…';
    try {
      const found = await ok(
        api.GET('/v1/customers', { params: { query: { [key]: lastSearch.value } } }),
      );
      if (signal.aborted) return;
      message.textContent = `Found ${nameOf(found)}.`;
      // The address names the customer (back and reload work), without drawing the page again.
      history.pushState(null, '', `#/customer/${encodeURIComponent(found.id)}`);
      await showCustomer(context, area, found.id);
    } catch (error) {
      if (signal.aborted) return;
      replace(area);
      message.textContent =
        error instanceof ApiProblem && error.code === 'not-found'
          ? `No customer has the ${LOOKUPS[key].label.toLowerCase()} ${lastSearch.value}.`
          : describeProblem(error);
    }
  });
  replace(main, heading('Customer'), form, message, area);
  if (param) await showCustomer(context, area, decodeURIComponent(param));
}
