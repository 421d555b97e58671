/**
 * Line charts over UTC days with uPlot, each with the table of the figures it draws (for
 * screen readers, keyboard users and anyone who wants the exact number). A chart follows
 * its container's width and is destroyed when the view that drew it goes away.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.ts';

export interface DaySeries {
  label: string;
  /** One value per day, in the chart's units (major currency units for money). */
  values: number[];
  /** The cell text of each day in the table: the API's exact figure. */
  cells: string[];
  /** The legend's value on hover. */
  format: (value: number) => string;
  color: string;
  dash?: number[];
  /** 'right': a second y axis on the right (purchases and spend). */
  axis?: 'left' | 'right';
  /** The table cell's data-field, so tests can read each figure. */
  field: string;
  /** In the table only, not drawn (the same curve as another at another scale). */
  tableOnly?: true;
}

export interface DayChart {
  title: string;
  /** What the chart answers, under its title. */
  description: string;
  /** YYYY-MM-DD, oldest first. */
  days: string[];
  series: DaySeries[];
  /** Axis labels: short ("$1.2K", "3.4K"). */
  leftAxis: (value: number) => string;
  /** The left axis counts (customers, purchases): ticks on whole numbers only. */
  leftCounts?: true;
  rightAxis?: (value: number) => string;
}

const HEIGHT = 220;
/** Tick steps for counts: 1, 2, 5, 10, 20, 50, ... (never 0.5 of a customer). */
const WHOLE_STEPS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].flatMap((e) =>
  [1, 2, 5].map((m) => m * 10 ** e),
);

const dayToSeconds = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/** A figure with the chart, its caption and its table; the chart is drawn once attached. */
export function dayChart(chart: DayChart, signal: AbortSignal): HTMLElement {
  const plot = h('div', { class: 'chart', 'aria-hidden': 'true' });
  const slug = chart.title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const figure = h(
    'figure',
    { class: 'chart-card', 'data-chart': slug },
    h('figcaption', {}, h('h3', {}, chart.title), h('p', { class: 'muted' }, chart.description)),
    plot,
    h(
      'details',
      {},
      h('summary', {}, `The figures, day by day (${chart.days.length} days)`),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'figures' },
          h('caption', { class: 'visually-hidden' }, chart.title),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Day (UTC)'),
              ...chart.series.map((s) => h('th', { scope: 'col' }, s.label)),
            ),
          ),
          h(
            'tbody',
            {},
            // Newest first in the table: the day a merchant looks for is usually today.
            [...chart.days.keys()]
              .reverse()
              .map((i) =>
                h(
                  'tr',
                  { 'data-date': chart.days[i] },
                  h('th', { scope: 'row' }, chart.days[i]),
                  ...chart.series.map((s) => h('td', { 'data-field': s.field }, s.cells[i])),
                ),
              ),
          ),
        ),
      ),
    ),
  );
  if (chart.days.length === 0) {
    plot.replaceWith(h('p', { class: 'muted' }, 'No days in this range.'));
    return figure;
  }

  const drawnSeries = chart.series.filter((s) => !s.tableOnly);
  const data: uPlot.AlignedData = [
    chart.days.map(dayToSeconds),
    ...drawnSeries.map((s) => s.values),
  ];
  const right = drawnSeries.some((s) => s.axis === 'right');
  const options = (width: number): uPlot.Options => ({
    width,
    height: HEIGHT,
    // The API's days are UTC days: label them so, whatever the browser's time zone.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, ...(right && { right: { auto: true } }) },
    series: [
      { label: 'Day', value: '{YYYY}-{MM}-{DD}' },
      ...drawnSeries.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          ...(s.dash && { dash: s.dash }),
          scale: s.axis === 'right' ? 'right' : 'y',
          value: (_u, v) => (v === null || v === undefined ? '–' : s.format(v)),
          points: { show: chart.days.length <= 45 },
        }),
      ),
    ],
    axes: [
      { stroke: '#444', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#e5e7eb' } },
      {
        scale: 'y',
        stroke: '#444',
        size: 64,
        grid: { stroke: '#e5e7eb' },
        ticks: { stroke: '#e5e7eb' },
        ...(chart.leftCounts && { incrs: WHOLE_STEPS }),
        values: (_u, splits) => splits.map((v) => chart.leftAxis(v)),
      },
      ...(right
        ? [
            {
              scale: 'right',
              side: 1 as const,
              stroke: '#444',
              size: 64,
              grid: { show: false },
              values: (_u: uPlot, splits: number[]) =>
                splits.map((v) => (chart.rightAxis ?? chart.leftAxis)(v)),
            },
          ]
        : []),
    ],
  });

  // Drawn once the figure is in the page (its width is known), redrawn at each new width.
  let drawn: uPlot | undefined;
  const observer = new ResizeObserver(() => {
    const width = Math.floor(plot.clientWidth);
    if (width <= 0) return;
    if (!drawn) drawn = new uPlot(options(width), data, plot);
    else if (Math.abs(drawn.width - width) >= 1) drawn.setSize({ width, height: HEIGHT });
  });
  observer.observe(plot);
  signal.addEventListener('abort', () => {
    observer.disconnect();
    drawn?.destroy();
  });
  return figure;
}

/** Colours that stay apart for colour-blind readers (Okabe-Ito), each series also dashed apart. */
export const COLORS = {
  blue: '#0072B2',
  orange: '#D55E00',
  green: '#009E73',
  purple: '#CC79A7',
};
