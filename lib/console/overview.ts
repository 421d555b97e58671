/**
 * Overview: the retention report's three questions (how many did we lose in 12 months, why,
 * what did it cost) and the daily report's history as charts.
 */
import { COLORS, type DaySeries, dayChart } from './charts.ts';
import { type DailyRow, ok, type RetentionReport } from './client.ts';
import { failure, field, h, loading, replace } from './dom.ts';
import {
  formatMoney,
  formatMoneyShort,
  formatNumber,
  formatPoints,
  minorDigits,
  reasonLabel,
  utcMinute,
} from './format.ts';
import { heading, type ViewContext } from './view.ts';

const DAY = 86_400_000;
const RANGES = [30, 90, 182, 365] as const;
/** The range shown until the merchant picks another (kept for the tab's session). */
let days: number = 90;

const figure = (name: string, text: string) =>
  h('p', { class: 'figure', 'data-figure': name }, text);

function questions(report: RetentionReport, locale: string | undefined): HTMLElement[] {
  const reasons = Object.entries(report.byReason).sort(
    ([a, x], [b, y]) => y.customers - x.customers || (a < b ? -1 : 1),
  );
  return [
    h(
      'article',
      { class: 'card' },
      h('h2', {}, 'Lost in the last 12 months'),
      figure('lapsedLast12Months', formatPoints(report.lapsedLast12Months, locale)),
      h(
        'p',
        { class: 'muted' },
        'customers lapsed; ',
        h(
          'span',
          { 'data-figure': 'reactivatedLast12Months' },
          formatPoints(report.reactivatedLast12Months, locale),
        ),
        ' came back. Lapsed now: ',
        h('span', { 'data-figure': 'lapsed' }, formatPoints(report.lapsed, locale)),
        ' of ',
        h('span', { 'data-figure': 'customers' }, formatPoints(report.customers, locale)),
        ' customers (',
        h('span', { 'data-figure': 'active' }, formatPoints(report.active, locale)),
        ' active).',
      ),
    ),
    h(
      'article',
      { class: 'card' },
      h('h2', {}, 'What it costs'),
      figure('valueAtRisk', formatMoney(report.valueAtRisk, locale)),
      h(
        'p',
        { class: 'muted' },
        'a year of spend by the customers lapsed now, at risk unless they come back.',
      ),
    ),
    h(
      'article',
      { class: 'card' },
      h('h2', {}, 'Why they left'),
      reasons.length === 0
        ? h('p', { class: 'muted', 'data-figure': 'byReason' }, 'Nobody is lapsed now.')
        : h(
            'table',
            { class: 'compact', 'data-figure': 'byReason' },
            h(
              'caption',
              { class: 'visually-hidden' },
              'Customers lapsed now, by the reason recorded',
            ),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Reason'),
                h('th', { scope: 'col' }, 'Customers'),
                h('th', { scope: 'col' }, 'Value at risk'),
              ),
            ),
            h(
              'tbody',
              {},
              reasons.map(([reason, row]) =>
                h(
                  'tr',
                  { 'data-reason': reason },
                  h('th', { scope: 'row' }, reasonLabel(reason)),
                  h('td', { 'data-field': 'customers' }, formatPoints(row.customers, locale)),
                  h('td', { 'data-field': 'valueAtRisk' }, formatMoney(row.valueAtRisk, locale)),
                ),
              ),
            ),
          ),
      h('p', { class: 'muted' }, h('a', { href: '#/calls' }, 'Call them and record why'), '.'),
    ),
  ];
}

/** The chart of each question over time, from the daily report's rows. */
function charts(rows: DailyRow[], locale: string | undefined, signal: AbortSignal): HTMLElement[] {
  const dates = rows.map((r) => r.date);
  const count = (
    label: string,
    field: keyof DailyRow,
    color: string,
    dash?: number[],
  ): DaySeries => ({
    label,
    field,
    values: rows.map((r) => r[field] as number),
    cells: rows.map((r) => formatPoints(r[field] as number, locale)),
    format: (v) => formatPoints(v, locale),
    color,
    ...(dash && { dash }),
  });
  const currency = rows[0]?.liability.currency ?? 'USD';
  const unit = 10 ** minorDigits(currency);
  const money = (
    label: string,
    field: 'liability' | 'spend',
    color: string,
    dash?: number[],
  ): DaySeries => ({
    label,
    field,
    values: rows.map((r) => r[field].amount / unit),
    cells: rows.map((r) => formatMoney(r[field], locale)),
    format: (v) => formatMoney({ amount: Math.round(v * unit), currency }, locale),
    color,
    ...(dash && { dash }),
  });
  const compact = (v: number) => formatNumber(v, locale, 0);
  const moneyAxis = (v: number) => formatMoneyShort(v, currency, locale);
  return [
    dayChart(
      {
        title: 'Active and lapsed customers',
        description: 'At the end of each day.',
        days: dates,
        series: [
          count('Active', 'active', COLORS.blue),
          count('Lapsed', 'lapsed', COLORS.orange, [6, 4]),
        ],
        leftAxis: compact,
        leftCounts: true,
      },
      signal,
    ),
    dayChart(
      {
        title: 'Lost and won back',
        description: 'Customers who lapsed, and lapsed customers who bought again, each day.',
        days: dates,
        series: [
          count('Lapsed that day', 'lapsedToday', COLORS.orange),
          count('Came back that day', 'reactivatedToday', COLORS.green, [6, 4]),
        ],
        leftAxis: compact,
        leftCounts: true,
      },
      signal,
    ),
    dayChart(
      {
        title: 'Points liability',
        description: 'What the points customers hold are worth: what the programme owes them.',
        days: dates,
        series: [
          money('Liability', 'liability', COLORS.purple),
          { ...count('Points outstanding', 'pointsOutstanding', COLORS.blue), tableOnly: true },
        ],
        leftAxis: moneyAxis,
      },
      signal,
    ),
    dayChart(
      {
        title: 'Purchases and spend',
        description: 'Purchases recorded each day (left axis) and what they came to (right axis).',
        days: dates,
        series: [
          count('Purchases', 'purchases', COLORS.blue),
          { ...money('Spend', 'spend', COLORS.orange, [6, 4]), axis: 'right' },
        ],
        leftAxis: compact,
        leftCounts: true,
        rightAxis: moneyAxis,
      },
      signal,
    ),
  ];
}

/** The last `n` UTC days, today included. */
function lastDays(n: number): { from: string; to: string } {
  const today = Date.now();
  return {
    from: new Date(today - (n - 1) * DAY).toISOString().slice(0, 10),
    to: new Date(today).toISOString().slice(0, 10),
  };
}

export async function overview({ api, main, signal, locale }: ViewContext): Promise<void> {
  const asOf = h('p', { class: 'muted' }, 'The last 12 months, as of now.');
  const cards = h(
    'section',
    { class: 'cards', 'aria-label': 'The last 12 months' },
    loading('the retention report'),
  );
  const range = h(
    'select',
    { name: 'days' },
    RANGES.map((n) => h('option', { value: n, selected: n === days }, `Last ${n} days`)),
  );
  const chartArea = h('div', { class: 'charts' }, loading('the daily report'));
  replace(
    main,
    heading('Overview'),
    asOf,
    cards,
    h(
      'section',
      { class: 'over-time', 'aria-labelledby': 'over-time' },
      h(
        'div',
        { class: 'section-head' },
        h('h2', { id: 'over-time' }, 'Over time'),
        field('Show', range),
      ),
      chartArea,
    ),
  );

  let chartsDrawn = new AbortController();
  signal.addEventListener('abort', () => chartsDrawn.abort());
  const drawCharts = async () => {
    chartsDrawn.abort();
    chartsDrawn = new AbortController();
    const drawing = chartsDrawn.signal;
    replace(chartArea, loading('the daily report'));
    try {
      const { items } = await ok(
        api.GET('/v1/reports/daily', { params: { query: lastDays(days) } }),
      );
      if (!drawing.aborted) replace(chartArea, charts(items, locale, drawing));
    } catch (error) {
      if (!drawing.aborted) replace(chartArea, failure('the daily report', error));
    }
  };
  range.addEventListener('change', () => {
    days = Number(range.value);
    void drawCharts();
  });

  await Promise.all([
    (async () => {
      try {
        const report = await ok(api.GET('/v1/reports/retention'));
        if (signal.aborted) return;
        replace(asOf, `The last 12 months, as of ${utcMinute(report.asOf)}.`);
        replace(cards, questions(report, locale));
      } catch (error) {
        if (!signal.aborted) replace(cards, failure('the retention report', error));
      }
    })(),
    drawCharts(),
  ]);
}
