/**
 * Call list: lapsed customers by value at risk (annual spend x (1 - P(alive))), how they used
 * to buy, how to reach them, and the two outcomes of a call: why they left, goodwill points.
 */
import { givenMessage, givePoints, recordReason, type Someone } from './actions.ts';
import {
  type Api,
  type Customer,
  type LapsedCustomer,
  type LapseQuality,
  ok,
  type RetentionReport,
} from './client.ts';
import { announce, failure, h, loading, replace } from './dom.ts';
import {
  flagQualitySentence,
  formatDays,
  formatMoney,
  formatPercent,
  formatPoints,
  reasonLabel,
  utcDay,
} from './format.ts';
import { heading, type ViewContext } from './view.ts';

const PAGE = 25;

/** Who a customer is to the merchant: name, else email, phone, external id, id. */
export const nameOf = (c: Pick<Customer, 'id' | 'name' | 'email' | 'phone' | 'externalId'>) =>
  c.name || c.email || c.phone || c.externalId || c.id;

/** Each lapsed customer's own record, for name and contact details (a few at a time). */
async function contactsOf(api: Api, ids: string[], known: Map<string, Customer>): Promise<void> {
  const wanted = ids.filter((id) => !known.has(id));
  for (let i = 0; i < wanted.length; i += 6) {
    const batch = wanted.slice(i, i + 6);
    const found = await Promise.all(
      batch.map((id) => ok(api.GET('/v1/customers/{id}', { params: { path: { id } } }))),
    );
    // An erased customer has no name or contact left: the list shows their id.
    for (const customer of found)
      if (customer.status !== 'erased') known.set(customer.id, customer);
  }
}

function reasonSummary(report: RetentionReport, locale: string | undefined): HTMLElement {
  const entries = Object.entries(report.byReason).sort(([, x], [, y]) => y.customers - x.customers);
  return h(
    'p',
    { class: 'reasons', 'data-figure': 'byReason' },
    h('strong', {}, 'Lapsed now, by reason: '),
    entries.length === 0
      ? 'nobody.'
      : entries.flatMap(([reason, row], i) => [
          i > 0 ? ', ' : '',
          h(
            'span',
            { 'data-reason': reason },
            `${reasonLabel(reason)} `,
            h('span', { 'data-field': 'customers' }, formatPoints(row.customers, locale)),
          ),
        ]),
  );
}

/** A cell with its column's name (shown beside it on a phone) and its content in one box. */
const cell = (label: string, field: string, ...content: (Node | string | null)[]) =>
  h('td', { 'data-label': label, ...(field && { 'data-field': field }) }, h('div', {}, ...content));

function contactCell(customer: Customer | undefined): HTMLElement {
  if (!customer) return cell('Contact', '', '–');
  return cell(
    'Contact',
    'contact',
    customer.phone ? h('a', { href: `tel:${customer.phone}` }, customer.phone) : null,
    customer.email ? h('a', { href: `mailto:${customer.email}` }, customer.email) : null,
    !customer.phone && !customer.email ? h('span', { class: 'muted' }, 'No phone or email') : null,
  );
}

/** How often the flag behind this list has been right (GET /v1/reports/lapse-quality). */
function flagQuality(report: LapseQuality, locale: string | undefined): HTMLElement | null {
  const sentence = flagQualitySentence(report, locale);
  return sentence ? h('p', { class: 'quality', 'data-figure': 'lapseQuality' }, sentence) : null;
}

export async function callList({ api, main, signal, locale }: ViewContext): Promise<void> {
  // Empty until the report answers, and left empty if it does not: the list works without it.
  const quality = h('div', {});
  const summary = h('div', {}, loading('the reasons'));
  const body = h('div', {}, loading('the lapsed customers'));
  replace(
    main,
    heading('Call list'),
    h(
      'p',
      { class: 'muted' },
      'Lapsed customers, the most valuable to win back first: value at risk is their spend over the last 12 months times the chance they are gone for good (1 − P(alive)), or all of it until the programme has the history to estimate that chance.',
    ),
    quality,
    summary,
    body,
  );

  const contacts = new Map<string, Customer>();
  let items: LapsedCustomer[] = [];
  let nextCursor: string | null = null;

  const refreshSummary = async () => {
    try {
      const report = await ok(api.GET('/v1/reports/retention'));
      if (!signal.aborted) replace(summary, reasonSummary(report, locale));
    } catch (error) {
      if (!signal.aborted) replace(summary, failure('the reasons', error));
    }
  };

  const showQuality = async () => {
    try {
      const report = await ok(api.GET('/v1/reports/lapse-quality'));
      if (!signal.aborted) replace(quality, flagQuality(report, locale));
    } catch {
      // Nothing rather than an error: the measure is a note beside the list, not the list.
    }
  };

  const someone = (item: LapsedCustomer): Someone => {
    const customer = contacts.get(item.customerId);
    return {
      id: item.customerId,
      name: customer ? nameOf(customer) : item.customerId,
      reason: item.reason,
      note: item.note,
    };
  };

  const render = () => {
    if (items.length === 0) {
      replace(body, h('p', { class: 'empty' }, 'Nobody is lapsed: nobody to call today.'));
      return;
    }
    const rows = items.map((item) => {
      const customer = contacts.get(item.customerId);
      const who = someone(item);
      return h(
        'tr',
        { 'data-customer': item.customerId },
        h(
          'th',
          { scope: 'row', 'data-label': 'Customer' },
          h('a', { href: `#/customer/${encodeURIComponent(item.customerId)}` }, who.name),
          h('small', { class: 'muted' }, `Lapsed ${utcDay(item.lapsedAt)}`),
        ),
        contactCell(customer),
        cell('Value at risk', 'valueAtRisk', formatMoney(item.valueAtRisk, locale)),
        cell('Annual spend', 'annualSpend', formatMoney(item.annualSpend, locale)),
        cell(
          'Usual gap',
          'typicalGapDays',
          item.typicalGapDays === null ? '–' : formatDays(item.typicalGapDays, locale),
        ),
        cell(
          'Days silent',
          'daysSinceLastPurchase',
          item.daysSinceLastPurchase === null
            ? '–'
            : formatPoints(item.daysSinceLastPurchase, locale),
        ),
        cell(
          'P(alive)',
          'pAlive',
          item.pAlive === undefined ? '–' : formatPercent(item.pAlive, locale),
        ),
        cell(
          'Reason',
          'reason',
          item.reason ? reasonLabel(item.reason) : h('span', { class: 'muted' }, 'Not recorded'),
          item.note ? h('small', { class: 'note' }, item.note) : null,
        ),
        h(
          'td',
          { 'data-label': 'Actions', class: 'row-actions' },
          h(
            'button',
            {
              type: 'button',
              'aria-label': `Record why ${who.name} left`,
              'data-action': 'reason',
              onclick: async () => {
                const reason = await recordReason(api, who);
                if (!reason) return;
                announce(`Recorded “${reasonLabel(reason)}” for ${who.name}.`);
                await Promise.all([reload(), refreshSummary()]);
                refocus(who.id, 'reason');
              },
            },
            'Record reason',
          ),
          h(
            'button',
            {
              type: 'button',
              'aria-label': `Give ${who.name} points`,
              'data-action': 'points',
              onclick: async () => {
                const entry = await givePoints(api, who);
                if (!entry) return;
                announce(givenMessage(who, entry, locale));
                await reload();
                refocus(who.id, 'points');
              },
            },
            'Give points',
          ),
        ),
      );
    });
    const headings = [
      'Customer',
      'Contact',
      'Value at risk',
      'Annual spend',
      'Usual gap',
      'Days silent',
      'P(alive)',
      'Reason',
      'Actions',
    ];
    replace(
      body,
      h(
        'table',
        { class: 'calls' },
        h(
          'caption',
          { class: 'visually-hidden' },
          'Lapsed customers by value at risk, highest first',
        ),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            headings.map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h('tbody', {}, rows),
      ),
      nextCursor
        ? h('button', { type: 'button', class: 'more', onclick: () => void more() }, 'Show more')
        : null,
    );
  };

  /** After the list is drawn again, the keyboard stays on the button it was on (or the heading). */
  const refocus = (customerId: string, action: string) => {
    const button = [...body.querySelectorAll<HTMLElement>('tr[data-customer]')]
      .find((row) => row.dataset.customer === customerId)
      ?.querySelector<HTMLElement>(`button[data-action="${action}"]`);
    (button ?? main.querySelector<HTMLElement>('h1'))?.focus();
  };

  /** The list again from the top, as long as it was (after an action, so it shows the change). */
  const reload = async () => {
    try {
      const limit = Math.min(100, Math.max(PAGE, items.length));
      const page = await ok(
        api.GET('/v1/lapsed-customers', { params: { query: { sort: 'valueAtRisk', limit } } }),
      );
      await contactsOf(
        api,
        page.items.map((i) => i.customerId),
        contacts,
      );
      if (signal.aborted) return;
      items = page.items;
      nextCursor = page.nextCursor ?? null;
      render();
    } catch (error) {
      if (!signal.aborted) replace(body, failure('the lapsed customers', error));
    }
  };

  const more = async () => {
    if (!nextCursor) return;
    try {
      const page = await ok(
        api.GET('/v1/lapsed-customers', {
          params: { query: { sort: 'valueAtRisk', limit: PAGE, cursor: nextCursor } },
        }),
      );
      await contactsOf(
        api,
        page.items.map((i) => i.customerId),
        contacts,
      );
      if (signal.aborted) return;
      items = [...items, ...page.items];
      nextCursor = page.nextCursor ?? null;
      render();
    } catch (error) {
      announce(`Could not load more: ${(error as Error).message}`);
    }
  };

  await Promise.all([reload(), refreshSummary(), showQuality()]);
}
