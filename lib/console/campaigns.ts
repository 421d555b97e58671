/**
 * Campaigns: every campaign with its exact stats (GET /v1/campaigns), and a form that starts
 * a win-back offer: a bonus or a multiplier on the purchase that brings a lapsed customer
 * back (POST /v1/campaigns with `audience: {status: "lapsed"}`).
 */
import {
  type Campaign,
  type CampaignUplift,
  type CreateCampaign,
  idempotencyKey,
  ok,
} from './client.ts';
import { announce, describeProblem, failure, field, h, loading, replace } from './dom.ts';
import {
  decimalToMinor,
  formatMoney,
  formatNumber,
  formatPercent,
  formatPoints,
  utcDay,
} from './format.ts';
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
  const holdout = h('input', {
    name: 'holdout',
    type: 'number',
    inputmode: 'numeric',
    min: 0,
    max: 50,
    step: 1,
    value: 10,
  });
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
      field(
        'Hold out (%)',
        holdout,
        'This share of lapsed customers does not get the offer, so you can see what it really brought back (0 to 50)',
      ),
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
    const held = Number(holdout.value || 0);
    if (!Number.isFinite(held) || held < 0 || held > 50) {
      error.textContent = 'The share held out is a percentage from 0 to 50.';
      holdout.focus();
      return;
    }
    if (held > 0) body.holdout = held / 100;
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

const WINDOWS = [30, 60, 90, 180] as const;

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/** A difference in customers in words: "15 fewer", "5 more". */
const signed = (n: number) => `${Math.abs(Math.round(n))} ${Math.round(n) < 0 ? 'fewer' : 'more'}`;

/**
 * What a win-back offer brought back, in a shop owner's words, from its uplift over 90
 * days, and the two groups' return rates at each window after the flag.
 */
async function upliftCard(context: ViewContext, campaign: Campaign): Promise<HTMLElement> {
  const { api, locale } = context;
  const byWindow = await Promise.all(
    WINDOWS.map((windowDays) =>
      ok(
        api.GET('/v1/campaigns/{id}/uplift', {
          params: { path: { id: campaign.id }, query: { windowDays } },
        }),
      ),
    ),
  );
  const main = byWindow[2] as CampaignUplift;
  const rate = (r: number | null) => (r === null ? '–' : formatPercent(r, locale));
  const about = (n: number) => formatNumber(Math.round(n), locale, 0);
  let summary: HTMLElement;
  if (main.uplift === null || main.incrementalCustomers === null) {
    summary = h(
      'p',
      { 'data-field': 'uplift-summary' },
      `Not enough to tell yet: ${lowerFirst(main.insufficientData ?? 'too few customers in a group')}.`,
    );
  } else {
    const [lo, hi] = main.uplift.ci95 as [number, number];
    const n = main.groups.offer.lapsed;
    const more = main.incrementalCustomers;
    const spend = main.incrementalSpend;
    summary = h(
      'p',
      { 'data-field': 'uplift-summary' },
      more >= 0
        ? `The offer brought back about ${about(more)} customers who would not have come back ` +
            `(between ${about(Math.max(0, lo * n))} and ${about(Math.max(0, hi * n))}), ` +
            `for ${formatMoney(main.cost, locale)} of points`
        : `No sign that the offer brought anyone back who would not have come anyway: ` +
            `between ${signed(lo * n)} and ${signed(hi * n)} customers than without it, ` +
            `for ${formatMoney(main.cost, locale)} of points`,
      spend && spend.amount > 0
        ? `, and about ${formatMoney(spend, locale)} of spend they would not have made, within 90 days of lapsing.`
        : ', within 90 days of lapsing.',
    );
  }
  return h(
    'article',
    { class: 'card uplift', 'data-uplift': campaign.id },
    h('h3', {}, campaign.name),
    summary,
    h(
      'table',
      { class: 'uplift-windows' },
      h('caption', {}, 'Came back within … days of lapsing'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Days', 'Offered', 'Held out', 'Difference (95% range)'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        byWindow.map((u) =>
          h(
            'tr',
            { 'data-window': String(u.windowDays) },
            h('th', { scope: 'row' }, String(u.windowDays)),
            h(
              'td',
              { 'data-field': 'offer' },
              `${rate(u.groups.offer.rate)} of ${formatPoints(u.groups.offer.lapsed, locale)}`,
            ),
            h(
              'td',
              { 'data-field': 'holdout' },
              `${rate(u.groups.holdout.rate)} of ${formatPoints(u.groups.holdout.lapsed, locale)}`,
            ),
            h(
              'td',
              { 'data-field': 'difference' },
              u.uplift
                ? `${formatNumber(u.uplift.rate * 100, locale, 1)} percentage points ` +
                    `(${formatNumber((u.uplift.ci95[0] as number) * 100, locale, 1)} to ` +
                    `${formatNumber((u.uplift.ci95[1] as number) * 100, locale, 1)})`
                : 'not enough yet',
            ),
          ),
        ),
      ),
    ),
  );
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
  const effects = h('div', { class: 'uplifts' });
  replace(
    main,
    heading('Campaigns'),
    formArea,
    h(
      'section',
      { 'aria-labelledby': 'win-back-effect' },
      h('h2', { id: 'win-back-effect' }, 'What the win-back offers brought back'),
      h(
        'p',
        { class: 'muted' },
        'Customers held out of an offer show how many would have come back anyway; the ' +
          'difference is what the offer did.',
      ),
      effects,
    ),
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
      const winBacks = shown.filter(
        (c) => c.audience?.status === 'lapsed' && (c.type === 'bonus' || c.type === 'multiplier'),
      );
      const cards = await Promise.all(
        winBacks.map((c) =>
          upliftCard(context, c).catch((e) => failure(`the effect of ${c.name}`, e)),
        ),
      );
      if (signal.aborted) return;
      replace(
        effects,
        cards.length > 0 ? cards : h('p', { class: 'empty' }, 'No win-back offer yet.'),
      );
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
