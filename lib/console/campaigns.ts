/**
 * Campaigns: every campaign with its exact stats (GET /v1/campaigns), and a form that starts
 * a win-back offer: a bonus or a multiplier on the purchase that brings a lapsed customer
 * back (POST /v1/campaigns with `audience: {status: "lapsed"}`).
 */
import { type Campaign, type CreateCampaign, idempotencyKey, ok } from './client.ts';
import { announce, describeProblem, failure, field, h, loading, replace } from './dom.ts';
import { decimalToMinor, formatMoney, formatNumber, formatPoints, utcDay } from './format.ts';
import { heading, type ViewContext } from './view.ts';

const DAY = 86_400_000;
type Status = 'active' | 'scheduled' | 'ended';

const TYPE_LABELS: Record<Campaign['type'], string> = {
  multiplier: 'Multiplier',
  bonus: 'Bonus',
  enrolment: 'Enrolment',
  birthday: 'Birthday',
  referral: 'Referral',
};

function offerOf(c: Campaign, locale: string | undefined): string {
  const parts: string[] = [];
  if (c.multiplier !== undefined) parts.push(`${formatNumber(c.multiplier, locale, 4)}× points`);
  if (c.points !== undefined) parts.push(`${formatPoints(c.points, locale)} points`);
  if (c.refereePoints !== undefined)
    parts.push(`${formatPoints(c.refereePoints, locale)} to the new customer`);
  if (c.minSpend) parts.push(`from ${formatMoney(c.minSpend, locale)}`);
  if (c.firstPurchaseOnly) parts.push('first purchase only');
  if (c.match?.categories?.length) parts.push(`on ${c.match.categories.join(', ')}`);
  if (c.match?.skus?.length) parts.push(`on SKUs ${c.match.skus.join(', ')}`);
  return parts.join('; ');
}

function audienceOf(c: Campaign): string {
  if (c.audience?.status === 'lapsed') return 'Lapsed customers (win-back)';
  if (c.audience?.tiers?.length) return `Tiers ${c.audience.tiers.join(', ')}`;
  return 'Everyone';
}

const windowOf = (c: Campaign) =>
  `${utcDay(c.startsAt)} → ${c.endsAt ? utcDay(c.endsAt) : 'until ended'}`;

function winBackForm(
  context: ViewContext,
  currency: string,
  created: () => Promise<void>,
): HTMLElement {
  const { api, locale } = context;
  const name = h('input', { name: 'name', required: true, maxlength: 200, value: 'We missed you' });
  const kind = h(
    'select',
    { name: 'type' },
    h('option', { value: 'bonus' }, 'Bonus points'),
    h('option', { value: 'multiplier' }, 'Points multiplier'),
  );
  const points = h('input', {
    name: 'points',
    type: 'number',
    inputmode: 'numeric',
    min: 1,
    max: 1_000_000,
    step: 1,
    value: 500,
  });
  const multiplier = h('input', {
    name: 'multiplier',
    type: 'number',
    min: 1,
    max: 10,
    step: 'any',
    value: 2,
  });
  const minSpend = h('input', { name: 'minSpend', inputmode: 'decimal', placeholder: '0.00' });
  const until = h('input', { name: 'until', type: 'date' });
  const pointsField = field('Bonus points', points, 'Added to the purchase that brings them back');
  const multiplierField = field(
    'Multiplier',
    multiplier,
    'That purchase earns this many times its points (up to 10)',
  );
  const minSpendField = field(
    `Minimum spend (${currency}, optional)`,
    minSpend,
    'Only a purchase of at least this much earns the bonus',
  );
  // The API takes a minimum spend on a bonus only.
  const showKind = () => {
    const bonus = kind.value === 'bonus';
    pointsField.hidden = !bonus;
    points.required = bonus;
    minSpendField.hidden = !bonus;
    multiplierField.hidden = bonus;
    multiplier.required = !bonus;
  };
  kind.addEventListener('change', showKind);
  showKind();
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start the offer');
  // One key per offer: a double click or a retry starts one campaign; a new one after success.
  let key = idempotencyKey('campaign');
  const form = h(
    'form',
    { class: 'win-back', 'aria-labelledby': 'win-back' },
    h('h2', { id: 'win-back' }, 'Start a win-back offer'),
    h(
      'p',
      { class: 'muted' },
      'For lapsed customers only: it applies to the purchase that brings one back, from now on.',
    ),
    h(
      'div',
      { class: 'form-grid' },
      field('Name', name),
      field('Offer', kind),
      pointsField,
      multiplierField,
      minSpendField,
      field('Last day (UTC, optional)', until, 'Runs until you end it if left empty'),
    ),
    error,
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const body: CreateCampaign = {
      name: name.value.trim(),
      type: kind.value as 'bonus' | 'multiplier',
      audience: { status: 'lapsed' },
    };
    if (body.type === 'bonus') body.points = Number(points.value);
    else body.multiplier = Number(multiplier.value);
    if (body.type === 'bonus' && minSpend.value.trim() !== '') {
      const amount = decimalToMinor(minSpend.value, currency);
      if (amount === undefined) {
        error.textContent = `The minimum spend is not an amount in ${currency} (e.g. 25 or 25.50).`;
        minSpend.focus();
        return;
      }
      body.minSpend = { amount, currency };
    }
    if (until.value) {
      // The last day is included: the offer ends when the next UTC day starts.
      body.endsAt = new Date(Date.parse(`${until.value}T00:00:00Z`) + DAY).toISOString();
    }
    submit.disabled = true;
    try {
      const campaign = await ok(
        api.POST('/v1/campaigns', { params: { header: { 'Idempotency-Key': key } }, body }),
      );
      key = idempotencyKey('campaign');
      announce(
        `Started “${campaign.name}”: ${offerOf(campaign, locale)} for lapsed customers who come back.`,
      );
      await created();
    } catch (e) {
      error.textContent = describeProblem(e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function campaignsPage(context: ViewContext): Promise<void> {
  const { api, main, signal, locale } = context;
  const formArea = h('div', {}, loading('the program'));
  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'All'),
    h('option', { value: 'active' }, 'Active'),
    h('option', { value: 'scheduled' }, 'Scheduled'),
    h('option', { value: 'ended' }, 'Ended'),
  );
  const list = h('div', {}, loading('the campaigns'));
  replace(
    main,
    heading('Campaigns'),
    formArea,
    h(
      'section',
      { 'aria-labelledby': 'all-campaigns' },
      h(
        'div',
        { class: 'section-head' },
        h('h2', { id: 'all-campaigns' }, 'Campaigns and what they did'),
        field('Show', status),
      ),
      list,
    ),
  );

  let shown: Campaign[] = [];
  let nextCursor: string | null = null;
  const render = () => {
    if (shown.length === 0) {
      replace(list, h('p', { class: 'empty' }, 'No campaigns here yet.'));
      return;
    }
    const headings = [
      'Campaign',
      'Type',
      'Status',
      'Runs (UTC)',
      'For',
      'Offer',
      'Purchases',
      'Customers',
      'Points awarded',
    ];
    replace(
      list,
      h(
        'table',
        { class: 'campaigns' },
        h('caption', { class: 'visually-hidden' }, 'Campaigns, newest first, with their stats'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            headings.map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          shown.map((c) =>
            h(
              'tr',
              { 'data-campaign': c.id },
              h('th', { scope: 'row', 'data-label': 'Campaign' }, c.name),
              h('td', { 'data-label': 'Type' }, TYPE_LABELS[c.type]),
              h(
                'td',
                { 'data-label': 'Status' },
                h('span', { class: `badge ${c.status}` }, c.status),
              ),
              h('td', { 'data-label': 'Runs' }, windowOf(c)),
              h('td', { 'data-label': 'For' }, audienceOf(c)),
              h('td', { 'data-label': 'Offer' }, offerOf(c, locale)),
              h(
                'td',
                { 'data-label': 'Purchases', 'data-field': 'purchases', class: 'number' },
                formatPoints(c.stats.purchases, locale),
              ),
              h(
                'td',
                { 'data-label': 'Customers', 'data-field': 'customers', class: 'number' },
                formatPoints(c.stats.customers, locale),
              ),
              h(
                'td',
                { 'data-label': 'Points awarded', 'data-field': 'pointsAwarded', class: 'number' },
                formatPoints(c.stats.pointsAwarded, locale),
              ),
            ),
          ),
        ),
      ),
      nextCursor
        ? h(
            'button',
            { type: 'button', class: 'more', onclick: () => void load(false) },
            'Show more',
          )
        : null,
    );
  };

  const load = async (fromTop: boolean) => {
    try {
      const page = await ok(
        api.GET('/v1/campaigns', {
          params: {
            query: {
              limit: 50,
              ...(status.value && { status: status.value as Status }),
              ...(!fromTop && nextCursor && { cursor: nextCursor }),
            },
          },
        }),
      );
      if (signal.aborted) return;
      shown = fromTop ? page.items : [...shown, ...page.items];
      nextCursor = page.nextCursor ?? null;
      render();
    } catch (error) {
      if (!signal.aborted) replace(list, failure('the campaigns', error));
    }
  };
  status.addEventListener('change', () => void load(true));

  await Promise.all([
    (async () => {
      try {
        const program = await ok(api.GET('/v1/program'));
        if (!signal.aborted)
          replace(
            formArea,
            winBackForm(context, program.currency, () => load(true)),
          );
      } catch (error) {
        if (!signal.aborted) replace(formArea, failure('the program', error));
      }
    })(),
    load(true),
  ]);
}
