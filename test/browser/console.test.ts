/**
 * The merchant console (lib/console/) in a real browser: Debian's Chromium driven by
 * playwright-core, against the real local API over DynamoDB Local. Every figure the page
 * shows is checked against what the API answers, formatted by the console's own format.ts
 * in the locale the browser runs in. Screenshots land in test/browser/screenshots/, which
 * the README shows.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  flagQualitySentence,
  formatDays,
  formatMoney,
  formatPercent,
  formatPoints,
  formatSignedPoints,
  reasonLabel,
  utcDay,
  utcMinute,
} from '../../lib/console/format.ts';
import { trustProblem } from '../../lib/domain/lapseQuality.ts';
import { putLapseQuality } from '../../lib/store/model.ts';
import { ADMIN_KEY, redemptionCodeFor, startTestApi, type TestApi } from '../support/api.ts';
import { launchChromium } from './chromium.ts';

// A browser test waits on a page that waits on the API: slower than the others on a busy machine.
vi.setConfig({ testTimeout: 90_000 });

const LOCALE = 'en-US';
const DAY = 86_400_000;
const SCREENSHOTS = fileURLToPath(new URL('screenshots/', import.meta.url));
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };

let t: TestApi;
/**
 * The browser, launched once for the file. Without Chromium every test fails with the
 * launcher's message (how to install it), rather than the file being skipped.
 */
let browser: Promise<Browser>;
let storeId: string;
let posKey: string;
let n = 0;
const usd = (amount: number) => ({ amount, currency: 'USD' });

/** A customer who bought `amount` on each of `daysAgo` (days before now). */
async function customerWho(
  profile: { name: string; email?: string; phone?: string; externalId?: string },
  daysAgo: number[],
  amount: number,
): Promise<string> {
  const created = await t.call('POST', '/v1/customers', { body: profile });
  expect(created.status).toBe(201);
  for (const days of daysAgo) {
    const bought = await t.call('POST', '/v1/purchases', {
      body: {
        customerId: created.body.id,
        storeId,
        total: usd(amount),
        occurredAt: new Date(Date.now() - days * DAY).toISOString(),
      },
      headers: { 'idempotency-key': `console-buy-${++n}` },
    });
    expect(bought.status).toBe(201);
  }
  return created.body.id;
}

const ids = {} as Record<
  'ada' | 'grace' | 'alan' | 'katherine' | 'edsger' | 'edsgerBack' | 'marie' | 'hedy',
  string
>;

beforeAll(async () => {
  browser = launchChromium();
  browser.catch(() => {}); // reported by each test that opens a page
  t = await startTestApi();
  mkdirSync(SCREENSHOTS, { recursive: true });
  storeId = (await t.call('POST', '/v1/stores', { body: { name: 'High street' } })).body.id;
  posKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'pos', storeId } })).body.key;
  // A win-back offer running before anyone lapsed, so one comes back through it.
  const offer = await t.call('POST', '/v1/campaigns', {
    body: { name: 'Come back bonus', type: 'bonus', points: 300, audience: { status: 'lapsed' } },
    headers: { 'idempotency-key': 'console-offer' },
  });
  expect(offer.status).toBe(201);
  // Regulars who stopped: three purchases 10 days apart, the last 55 days ago, so each is
  // lapsed 20 days after it (twice the gap), whatever the hour the tests run.
  const lapsing = [45, 55, 65];
  ids.ada = await customerWho(
    {
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      phone: '+14155550101',
      externalId: 'CRM-1001',
    },
    lapsing,
    48_000,
  );
  ids.grace = await customerWho(
    { name: 'Grace Hopper', email: 'grace@example.com', phone: '+14155550102' },
    lapsing,
    31_500,
  );
  ids.alan = await customerWho({ name: 'Alan Turing', phone: '+442079460103' }, lapsing, 12_345);
  ids.katherine = await customerWho(
    { name: 'Katherine Johnson', email: 'katherine@example.com' },
    lapsing,
    7_550,
  );
  ids.edsger = await customerWho(
    { name: 'Edsger Dijkstra', email: 'edsger@example.com' },
    lapsing,
    5_000,
  );
  // Customers still coming.
  ids.marie = await customerWho(
    { name: 'Marie Curie', email: 'marie@example.com', externalId: 'CRM-2002' },
    [1, 8, 15],
    9_900,
  );
  // Twelve purchase days: a ledger of more than one page.
  ids.hedy = await customerWho(
    { name: 'Hedy Lamarr', phone: '+14155550107' },
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    2_500,
  );
  const scan = await t.call('POST', '/v1/jobs/lapse-scan', { body: {} });
  expect(scan.status).toBe(200);
  expect(scan.body.flagged).toBe(5);
  // Edsger comes back today, through the win-back offer.
  ids.edsgerBack = await t
    .call('POST', '/v1/purchases', {
      body: { customerId: ids.edsger, storeId, total: usd(6_000) },
      headers: { 'idempotency-key': 'console-back' },
    })
    .then((r) => r.body.id);
  // One reason already recorded, so the report has more than "not recorded".
  await t.call('PUT', `/v1/customers/${ids.katherine}/lapse-reason`, {
    body: { reason: 'moved', note: 'Moved to Lisbon' },
  });
}, 180_000);

afterAll(async () => {
  await browser?.then((b) => b.close()).catch(() => {});
  await t?.api.stop();
});

/** A fresh browser context (its own sessionStorage) and page, recording what the console logs. */
async function open(
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await (await browser).newContext({
    viewport,
    locale: LOCALE,
    // Far from UTC: the console's days must still be the API's UTC days.
    timezoneId: 'Pacific/Auckland',
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.goto(`${t.api.url}/console/`);
  return { context, page, errors };
}

async function signIn(page: Page, key = ADMIN_KEY): Promise<void> {
  await page.getByLabel('Admin API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signedIn(viewport = DESKTOP) {
  const opened = await open(viewport);
  await signIn(opened.page);
  await opened.page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  return opened;
}

const text = async (page: Page, selector: string) =>
  ((await page.locator(selector).first().textContent()) ?? '').trim();

/** Figures of rows keyed by `key` attribute: {rowKey: {field: text}}. */
function cellsOf(page: Page, rows: string, key: string) {
  return page.$$eval(
    rows,
    (trs, k) =>
      Object.fromEntries(
        trs.map((tr) => [
          tr.getAttribute(k),
          Object.fromEntries(
            [...tr.querySelectorAll('[data-field]')].map((c) => [
              c.getAttribute('data-field'),
              (c.textContent ?? '').trim(),
            ]),
          ),
        ]),
      ),
    key,
  );
}

/**
 * A lapse-quality report as the nightly lapse-scan job stores it (lapse.ts
 * measureLapseQuality), measured at 23:30 UTC yesterday: already today in Auckland, where
 * the browser runs, so the day shown must be the API's UTC day.
 */
function storeQuality(flag: { precision: number | null; recall: number | null }, why?: string) {
  const yesterday = new Date(Date.now() - DAY).toISOString().slice(0, 10);
  const report = {
    asOf: `${yesterday}T23:30:00.000Z`,
    horizonDays: 90,
    evaluated: 1234,
    cameBack: 771,
    flag: { factor: 2, minDays: 14, ...flag },
    auc: why
      ? { silence: null, cadenceRatio: null, churnRisk: null }
      : { silence: 0.71, cadenceRatio: 0.74, churnRisk: 0.78 },
    ...(why && { insufficientData: why }),
  };
  return putLapseQuality(report).then(() => report);
}

/** The call list, drawn, with the page's note on the flag's accuracy (if any) settled. */
async function callListOf(page: Page) {
  await page.getByRole('link', { name: 'Call list' }).click();
  await page.locator('tr[data-customer]').first().waitFor();
  await page.locator('[data-figure="byReason"]').waitFor();
}

const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

describe('signing in', () => {
  it('takes an admin key and keeps it in the tab’s sessionStorage only', async () => {
    const { context, page } = await open();
    await signIn(page);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const stored = await page.evaluate(() => ({
      session: Object.values(sessionStorage),
      local: localStorage.length,
    }));
    expect(stored).toEqual({ session: [ADMIN_KEY], local: 0 });
    expect(await context.cookies()).toEqual([]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await context.close();
  });

  it('says clearly when a key is wrong, and when it is not an admin key', async () => {
    const { context, page } = await open();
    await signIn(page, 'lk_not-a-key-of-this-api');
    await expect
      .poll(() => text(page, '[role=alert]'))
      .toMatch(/^That key was not accepted: it is not a key of this API, or it was revoked/);

    await signIn(page, posKey);
    await expect.poll(() => text(page, '[role=alert]')).toMatch(/it is not an admin key/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.getByRole('heading', { name: 'Overview' }).count()).toBe(0);
    await context.close();
  });

  it('works from the keyboard alone', async () => {
    const { context, page } = await open();
    // The key field has the focus: type, Enter.
    await page.keyboard.type(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // The page's heading has the focus; back up to the header's link to the call list.
    const focus = page.locator(':focus');
    expect(await focus.evaluate((e) => `${e.tagName} ${e.textContent}`)).toBe('H1 Overview');
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'A Call list'; i++) {
      await page.keyboard.press('Shift+Tab');
      focused = await focus.evaluate((e) => `${e.tagName} ${e.textContent}`);
    }
    expect(focused).toBe('A Call list');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Call list' }).waitFor();
    // The first row's first action is a real button the keyboard reaches.
    const button = page.locator('tr[data-customer] button').first();
    await button.waitFor();
    await button.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await context.close();
  });
});

describe('the overview', () => {
  it("shows the retention report's figures and the daily report's, exactly", async () => {
    const { context, page } = await signedIn();
    await page.locator('[data-figure="lapsedLast12Months"]').waitFor();
    await expect
      .poll(() => page.locator('figure[data-chart] canvas').count())
      .toBeGreaterThanOrEqual(4);

    const report = (await t.call('GET', '/v1/reports/retention')).body;
    expect(report.lapsedLast12Months).toBe(5);
    expect(report.reactivatedLast12Months).toBe(1);
    const figures = Object.fromEntries(
      await page.$$eval('[data-figure]:not(table)', (els) =>
        els.map((e) => [e.getAttribute('data-figure'), (e.textContent ?? '').trim()]),
      ),
    );
    expect(figures).toMatchObject({
      lapsedLast12Months: formatPoints(report.lapsedLast12Months, LOCALE),
      reactivatedLast12Months: formatPoints(report.reactivatedLast12Months, LOCALE),
      lapsed: formatPoints(report.lapsed, LOCALE),
      active: formatPoints(report.active, LOCALE),
      customers: formatPoints(report.customers, LOCALE),
      valueAtRisk: formatMoney(report.valueAtRisk, LOCALE),
    });
    const byReason = await cellsOf(
      page,
      'table[data-figure="byReason"] tr[data-reason]',
      'data-reason',
    );
    expect(byReason).toEqual(
      Object.fromEntries(
        Object.entries(report.byReason as Record<string, any>).map(([reason, row]) => [
          reason,
          {
            customers: formatPoints(row.customers, LOCALE),
            valueAtRisk: formatMoney(row.valueAtRisk, LOCALE),
          },
        ]),
      ),
    );
    expect(await page.locator('tr[data-reason="moved"] th').textContent()).toBe(
      reasonLabel('moved'),
    );

    // The charts' tables: every day of the last 90 (today UTC as the page saw it, so a run
    // across midnight compares the same days), each figure as the daily report has it.
    const days = await page.$$eval('figure[data-chart] tr[data-date]', (trs) =>
      trs.map((tr) => tr.getAttribute('data-date') as string),
    );
    const to = days[0] as string;
    const from = days.at(-1) as string;
    expect(Date.now() - Date.parse(`${to}T00:00:00Z`)).toBeLessThan(2 * DAY);
    expect(Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)).toBe(89 * DAY);
    const daily = await t.call('GET', `/v1/reports/daily?from=${from}&to=${to}`);
    expect(daily.status).toBe(200);
    expect(daily.body.items).toHaveLength(90);
    const charts = await page.$$eval('figure[data-chart]', (figs) =>
      figs.map((f) => ({
        chart: f.getAttribute('data-chart'),
        rows: [...f.querySelectorAll('tr[data-date]')].map((tr) => ({
          date: tr.getAttribute('data-date'),
          ...Object.fromEntries(
            [...tr.querySelectorAll('[data-field]')].map((c) => [
              c.getAttribute('data-field'),
              c.textContent,
            ]),
          ),
        })),
      })),
    );
    const expected = (fields: string[]) =>
      [...daily.body.items].reverse().map((row: any) => ({
        date: row.date,
        ...Object.fromEntries(
          fields.map((f) => [
            f,
            typeof row[f] === 'number' ? formatPoints(row[f], LOCALE) : formatMoney(row[f], LOCALE),
          ]),
        ),
      }));
    expect(charts).toEqual([
      { chart: 'active-and-lapsed-customers', rows: expected(['active', 'lapsed']) },
      { chart: 'lost-and-won-back', rows: expected(['lapsedToday', 'reactivatedToday']) },
      { chart: 'points-liability', rows: expected(['liability', 'pointsOutstanding']) },
      { chart: 'purchases-and-spend', rows: expected(['purchases', 'spend']) },
    ]);
    await screenshot(page, 'overview');
    await context.close();
  });
});

describe('the call list', () => {
  it('lists lapsed customers by value at risk, with the API’s figures and their contacts', async () => {
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Call list' }).click();
    await page.locator('tr[data-customer]').first().waitFor();
    const lapsed = (await t.call('GET', '/v1/lapsed-customers?sort=valueAtRisk')).body.items;
    expect(lapsed.map((c: any) => c.customerId)).toEqual([
      ids.ada,
      ids.grace,
      ids.alan,
      ids.katherine,
    ]);
    const rows = await cellsOf(page, 'tr[data-customer]', 'data-customer');
    expect(Object.keys(rows)).toEqual(lapsed.map((c: any) => c.customerId));
    for (const c of lapsed) {
      expect(rows[c.customerId]).toEqual({
        contact: expect.any(String),
        valueAtRisk: formatMoney(c.valueAtRisk, LOCALE),
        annualSpend: formatMoney(c.annualSpend, LOCALE),
        typicalGapDays: formatDays(c.typicalGapDays, LOCALE),
        daysSinceLastPurchase: formatPoints(c.daysSinceLastPurchase, LOCALE),
        pAlive: c.pAlive === undefined ? '–' : formatPercent(c.pAlive, LOCALE),
        reason: c.reason ? `${reasonLabel(c.reason)}${c.note ?? ''}` : 'Not recorded',
      });
    }
    expect(rows[ids.ada]?.contact).toBe('+14155550101ada@example.com');
    expect(
      await page.locator(`tr[data-customer="${ids.alan}"] a[href^="tel:"]`).getAttribute('href'),
    ).toBe('tel:+442079460103');
    await context.close();
  });

  it("says why the flag's accuracy can't be measured yet, in the report's words", async () => {
    const why = trustProblem({ repeatCustomers: 312, historyDays: 400 }) as string;
    await storeQuality({ precision: null, recall: null }, why);
    const report = (await t.call('GET', '/v1/reports/lapse-quality')).body;
    expect(report.insufficientData).toBe(why);

    const { context, page, errors } = await signedIn();
    await callListOf(page);
    const note = '[data-figure="lapseQuality"]';
    await expect
      .poll(() => text(page, note))
      .toBe(
        "The flag's accuracy can't be measured yet: only 312 customers with 2 or more " +
          'purchase days (500 needed).',
      );
    expect(await text(page, note)).toBe(flagQualitySentence(report, LOCALE));
    expect(await text(page, note)).not.toMatch(/%/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows nothing about the flag when its report cannot be had, and the list still works', async () => {
    const { context, page, errors } = await signedIn();
    let asked = 0;
    await page.route('**/v1/reports/lapse-quality', (route) => {
      asked++;
      return route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        body: JSON.stringify({ title: 'Unavailable', status: 503, code: 'unavailable' }),
      });
    });
    await callListOf(page);
    expect(asked).toBe(1);
    expect(await page.locator('[data-figure="lapseQuality"]').count()).toBe(0);
    expect(await page.locator('main [role=alert]').count()).toBe(0);
    const lapsed = (await t.call('GET', '/v1/lapsed-customers?sort=valueAtRisk')).body.items;
    expect(await page.locator('tr[data-customer]').count()).toBe(lapsed.length);
    // The refused request itself is the only thing the browser logs; no page error.
    expect(errors.filter((e) => !/status of 503/.test(e))).toEqual([]);
    await context.close();
  });

  it('says, next to the list, how often the flag was right 90 days ago', async () => {
    // Stored last here, so the screenshots below show it.
    const stored = await storeQuality({ precision: 0.6371, recall: 0.3712 });
    const report = (await t.call('GET', '/v1/reports/lapse-quality')).body;
    expect(report).toMatchObject(stored);
    const expected =
      'Of the customers this flag would have called 90 days ago, 64% did not come back ' +
      `(it finds 37% of those who left). Measured ${utcDay(stored.asOf)} on 1,234 customers.`;
    expect(flagQualitySentence(report, LOCALE)).toBe(expected);

    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page, errors } = await signedIn(viewport);
      await callListOf(page);
      const note = page.locator('[data-figure="lapseQuality"]');
      await expect.poll(() => text(page, '[data-figure="lapseQuality"]')).toBe(expected);
      expect(await note.isVisible()).toBe(true);
      // Under the page's heading, above the list, and within the screen's width.
      const [heading, box, table] = await Promise.all([
        page.getByRole('heading', { level: 1, name: 'Call list' }).boundingBox(),
        note.boundingBox(),
        page.locator('table.calls').boundingBox(),
      ]);
      if (!heading || !box || !table) throw new Error('not drawn');
      expect(box.y).toBeGreaterThan(heading.y);
      expect(box.y + box.height).toBeLessThanOrEqual(table.y);
      expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
      expect(
        await page.locator('html').evaluate((html) => html.scrollWidth - html.clientWidth),
      ).toBeLessThanOrEqual(0);
      expect(errors).toEqual([]);
      await context.close();
    }
  });

  it('records why a customer left, and the count by reason changes', async () => {
    const { context, page } = await signedIn();
    const before = (await t.call('GET', '/v1/reports/retention')).body.byReason;
    const priceBefore = before.price?.customers ?? 0;
    await page.getByRole('link', { name: 'Call list' }).click();
    await page.locator('[data-figure="byReason"]').waitFor();
    expect(await page.locator('.reasons [data-reason="price"]').count()).toBe(
      priceBefore > 0 ? 1 : 0,
    );

    await page.getByRole('button', { name: 'Record why Grace Hopper left' }).click();
    const dialog = page.getByRole('dialog', { name: 'Why did Grace Hopper leave?' });
    await dialog.getByLabel('Reason').selectOption('price');
    await dialog.getByLabel('Note (optional)').fill('Found it cheaper at the market');
    await dialog.getByRole('button', { name: 'Record reason' }).click();
    await expect.poll(() => dialog.count()).toBe(0);

    // The list and the counts by reason show it, and so does the API.
    await expect
      .poll(() => text(page, '.reasons [data-reason="price"] [data-field="customers"]'))
      .toBe(formatPoints(priceBefore + 1, LOCALE));
    await expect
      .poll(() => text(page, `tr[data-customer="${ids.grace}"] [data-field="reason"]`))
      .toBe('PriceFound it cheaper at the market');
    await expect.poll(() => text(page, '#status')).toBe('Recorded “Price” for Grace Hopper.');
    const after = (await t.call('GET', '/v1/reports/retention')).body.byReason;
    expect(after.price.customers).toBe(priceBefore + 1);
    const summary = await page.$$eval('.reasons [data-reason]', (spans) =>
      Object.fromEntries(
        spans.map((s) => [
          s.getAttribute('data-reason'),
          s.querySelector('[data-field]')?.textContent,
        ]),
      ),
    );
    expect(summary).toEqual(
      Object.fromEntries(
        Object.entries(after as Record<string, any>).map(([r, row]) => [
          r,
          formatPoints(row.customers, LOCALE),
        ]),
      ),
    );
    // The overview's table by reason says the same.
    await page.getByRole('link', { name: 'Overview' }).click();
    await expect
      .poll(() =>
        text(
          page,
          'table[data-figure="byReason"] tr[data-reason="price"] [data-field="customers"]',
        ),
      )
      .toBe(formatPoints(priceBefore + 1, LOCALE));
    await page.getByRole('link', { name: 'Call list' }).click();
    await page.locator('tr[data-customer]').first().waitFor();
    await screenshot(page, 'call-list');
    await context.close();
  });

  it('gives goodwill points, and the customer page shows the new balance and ledger entry', async () => {
    const { context, page } = await signedIn();
    const before = (await t.call('GET', `/v1/customers/${ids.ada}`)).body;
    await page.getByRole('link', { name: 'Call list' }).click();
    await page.getByRole('button', { name: 'Give Ada Lovelace points' }).click();
    const dialog = page.getByRole('dialog', { name: 'Give Ada Lovelace points' });
    await dialog.getByLabel('Points').fill('250');
    await dialog.getByLabel('Reason').fill('Complaint #4411: cold coffee');
    await dialog.getByRole('button', { name: 'Give points' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    await expect
      .poll(() => text(page, '#status'))
      .toBe(
        `Gave Ada Lovelace 250 points: ${formatPoints(before.points.available + 250, LOCALE)} available now.`,
      );

    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { level: 2, name: 'Ada Lovelace' }).waitFor();
    const after = (await t.call('GET', `/v1/customers/${ids.ada}`)).body;
    expect(after.points.available).toBe(before.points.available + 250);
    await expect
      .poll(() => text(page, '[data-figure="available"]'))
      .toBe(formatPoints(after.points.available, LOCALE));
    expect(await text(page, '[data-figure="cashValue"]')).toBe(
      formatMoney(after.cashValue, LOCALE),
    );
    expect(after.cashValue.amount).toBeGreaterThan(before.cashValue.amount);

    await page.locator('tr[data-entry]').first().waitFor();
    const [entry] = (await t.call('GET', `/v1/customers/${ids.ada}/activity?limit=1`)).body.items;
    expect(entry).toMatchObject({
      type: 'adjust',
      points: 250,
      reason: 'Complaint #4411: cold coffee',
    });
    const firstRow = (await cellsOf(page, 'tr[data-entry]', 'data-entry'))[entry.id];
    expect(firstRow).toMatchObject({
      type: 'adjust',
      points: formatSignedPoints(250, LOCALE),
      balanceAfter: formatPoints(after.points.available, LOCALE),
      details: 'Complaint #4411: cold coffee',
    });
    await screenshot(page, 'customer');
    await context.close();
  });
});

describe('the customer page', () => {
  it('finds a customer by email, phone or external id, and says when nobody matches', async () => {
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Customer', exact: true }).click();
    const find = async (by: string, value: string) => {
      await page.getByLabel('Find by').selectOption(by);
      await page.locator('form.search input[name="value"]').fill(value);
      await page.getByRole('button', { name: 'Find' }).click();
    };
    await find('email', 'Marie@Example.com');
    await page.getByRole('heading', { level: 2, name: 'Marie Curie' }).waitFor();
    const marie = (await t.call('GET', `/v1/customers/${ids.marie}`)).body;
    expect(await text(page, '[data-figure="id"]')).toBe(ids.marie);
    expect(await text(page, '[data-figure="tier"]')).toBe(marie.tier.name);
    expect(await text(page, '[data-figure="purchases"]')).toBe(
      formatPoints(marie.cadence.purchases, LOCALE),
    );
    expect(await text(page, '[data-figure="typicalGapDays"]')).toBe(
      formatDays(marie.cadence.typicalGapDays, LOCALE),
    );
    expect(await text(page, '[data-figure="qualifyingSpend"]')).toBe(
      formatMoney(marie.qualifyingSpend, LOCALE),
    );
    expect(await text(page, '[data-figure="spendNeeded"]')).toBe(
      formatMoney(marie.nextTier.spendNeeded, LOCALE),
    );
    expect(page.url()).toMatch(new RegExp(`#/customer/${ids.marie}$`));

    await find('phone', '+14155550107');
    await page.getByRole('heading', { level: 2, name: 'Hedy Lamarr' }).waitFor();
    await find('externalId', 'CRM-1001');
    await page.getByRole('heading', { level: 2, name: 'Ada Lovelace' }).waitFor();
    expect(await text(page, '[data-figure="status"]')).toMatch(/^Lapsed since \d{4}-\d{2}-\d{2}$/);

    await find('email', 'nobody@example.com');
    await expect
      .poll(() => text(page, '.search-result'))
      .toBe('No customer has the email nobody@example.com.');
    expect(await page.locator('section.customer').count()).toBe(0);
    await context.close();
  });

  it('pages through the ledger, newest first', async () => {
    const { context, page } = await signedIn();
    await page.goto(`${t.api.url}/console/#/customer/${ids.hedy}`);
    await page.locator('tr[data-entry]').first().waitFor();
    const all = (await t.call('GET', `/v1/customers/${ids.hedy}/activity?limit=100`)).body.items;
    expect(all).toHaveLength(12);
    const shown = () =>
      page.$$eval('tr[data-entry]', (trs) => trs.map((tr) => tr.getAttribute('data-entry')));
    expect(await shown()).toEqual(all.slice(0, 10).map((e: any) => e.id));
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(shown).toEqual(all.slice(10).map((e: any) => e.id));
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(shown).toEqual(all.slice(0, 10).map((e: any) => e.id));
    await context.close();
  });
});

describe('the ledger of imported history', () => {
  it('shows when each purchase was bought beside when it was recorded, and its store and receipt', async () => {
    // A year-old purchase brought in today (an import), with its receipt.
    const customerId = await customerWho(
      { name: 'Rosalind Franklin', email: 'rosalind@example.com' },
      [],
      0,
    );
    const bought = new Date(Date.now() - 365 * DAY).toISOString();
    const imported = await t.call('POST', '/v1/imports/purchases', {
      body: {
        items: [
          { customerId, storeId, receiptId: 'T-2025-881', total: usd(4_200), occurredAt: bought },
        ],
      },
      headers: { 'idempotency-key': 'console-import-rosalind' },
    });
    expect(imported.body.imported).toBe(1);
    const { context, page, errors } = await signedIn();
    await page.goto(`${t.api.url}/console/#/customer/${customerId}`);
    await page.locator('tr[data-entry]').first().waitFor();
    const [entry] = (await t.call('GET', `/v1/customers/${customerId}/activity`)).body.items;
    expect(entry).toMatchObject({ type: 'earn', occurredAt: bought, receiptId: 'T-2025-881' });
    await expect
      .poll(async () => (await cellsOf(page, 'tr[data-entry]', 'data-entry'))[entry.id])
      .toMatchObject({
        bought: `bought ${utcMinute(bought)}`,
        at: `recorded ${utcMinute(entry.at)}`,
        type: 'earn',
        details: 'Purchase at High street, receipt T-2025-881',
      });
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('campaigns', () => {
  it('lists campaigns with their stats, and starts a win-back offer', async () => {
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.locator('tr[data-campaign]').first().waitFor();
    const listed = (await t.call('GET', '/v1/campaigns?limit=100')).body.items;
    const comeBack = listed.find((c: any) => c.name === 'Come back bonus');
    expect(comeBack.stats).toEqual({ purchases: 1, customers: 1, pointsAwarded: 300 });
    expect((await cellsOf(page, 'tr[data-campaign]', 'data-campaign'))[comeBack.id]).toEqual({
      purchases: '1',
      customers: '1',
      pointsAwarded: '300',
    });

    // A multiplier takes no minimum spend: the form offers it for a bonus only.
    await page.getByLabel('Offer', { exact: true }).selectOption('multiplier');
    expect(await page.getByLabel('Minimum spend (USD, optional)').isVisible()).toBe(false);
    await page.getByLabel('Offer', { exact: true }).selectOption('bonus');
    await page.getByLabel('Name', { exact: true }).fill('400 points to come back');
    await page.getByLabel('Bonus points', { exact: true }).fill('400');
    await page.getByLabel('Minimum spend (USD, optional)').fill('25.50');
    await page.getByLabel('Hold out (%)').fill('20');
    await page.getByRole('button', { name: 'Start the offer' }).click();
    await expect.poll(() => text(page, '#status')).toMatch(/^Started “400 points to come back”/);
    const created = (await t.call('GET', '/v1/campaigns?limit=100')).body.items.find(
      (c: any) => c.name === '400 points to come back',
    );
    expect(created).toMatchObject({
      type: 'bonus',
      points: 400,
      minSpend: { amount: 2550, currency: 'USD' },
      audience: { status: 'lapsed' },
      holdout: 0.2,
      status: 'active',
      endsAt: null,
    });
    await page.locator(`tr[data-campaign="${created.id}"]`).waitFor();
    // An offer without a holdout can't say what it brought back, and says so.
    const plain = page.locator(`[data-uplift="${comeBack.id}"]`);
    await plain.waitFor();
    expect(await plain.locator('[data-field="uplift-summary"]').textContent()).toMatch(
      /^Not enough to tell yet: .*holdout 0/,
    );
    await context.close();
  });

  it("says what a win-back offer with a holdout brought back, in the API's figures", async () => {
    const DAYS_AGO = (d: number) => new Date(Date.now() - d * DAY).toISOString();
    const offer = await t.call('POST', '/v1/campaigns', {
      body: {
        name: 'Half held out',
        type: 'bonus',
        points: 200,
        audience: { status: 'lapsed' },
        holdout: 0.5,
        startsAt: DAYS_AGO(400),
      },
      headers: { 'idempotency-key': 'console-holdout-offer' },
    });
    expect(offer.status, JSON.stringify(offer.body)).toBe(201);
    // 120 customers who bought every 10 days from 160 to 130 days ago (lapsed from 110 days
    // ago), flagged by a scan as of 100 days ago; every third came back 20 days after.
    const people = await t.call('POST', '/v1/imports/customers', {
      body: { items: Array.from({ length: 120 }, (_, i) => ({ externalId: `wb-${i}` })) },
      headers: { 'idempotency-key': 'console-holdout-people' },
    });
    expect(people.status, JSON.stringify(people.body)).toBe(200);
    const ids: string[] = people.body.createdCustomers.map((c: any) => c.customerId);
    const history = ids.flatMap((customerId, i) =>
      [160, 150, 140, 130].map((d) => ({
        customerId,
        storeId,
        receiptId: `wb-${i}-${d}`,
        occurredAt: DAYS_AGO(d),
        total: usd(4_000),
      })),
    );
    for (let i = 0; i < history.length; i += 400) {
      const res = await t.call('POST', '/v1/imports/purchases', {
        body: { items: history.slice(i, i + 400) },
        headers: { 'idempotency-key': `console-holdout-history-${i}` },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const scan = await t.call('POST', '/v1/jobs/lapse-scan', { body: { asOf: DAYS_AGO(100) } });
    expect(scan.status, JSON.stringify(scan.body)).toBe(200);
    const returns = ids
      .filter((_, i) => i % 3 === 0)
      .map((customerId, i) => ({
        customerId,
        storeId,
        receiptId: `wb-back-${i}`,
        occurredAt: DAYS_AGO(90),
        total: usd(6_000),
      }));
    const back = await t.call('POST', '/v1/imports/purchases', {
      body: { items: returns },
      headers: { 'idempotency-key': 'console-holdout-returns' },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    const uplift = (await t.call('GET', `/v1/campaigns/${offer.body.id}/uplift?windowDays=90`))
      .body;
    expect(uplift.groups.offer.lapsed + uplift.groups.holdout.lapsed).toBe(120);
    expect(uplift.uplift).not.toBeNull();

    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Campaigns' }).click();
    const card = page.locator(`[data-uplift="${offer.body.id}"]`);
    await card.locator('[data-field="uplift-summary"]').waitFor();
    const n = uplift.groups.offer.lapsed;
    const [lo, hi] = uplift.uplift.ci95;
    const about = (x: number) => String(Math.round(x));
    const summary = await card.locator('[data-field="uplift-summary"]').textContent();
    expect(summary).toContain(
      uplift.incrementalCustomers >= 0
        ? `The offer brought back about ${about(uplift.incrementalCustomers)} customers who would not have come back (between ${about(Math.max(0, lo * n))} and ${about(Math.max(0, hi * n))}), for ${formatMoney(uplift.cost, LOCALE)} of points`
        : 'No sign that the offer brought anyone back who would not have come anyway',
    );
    const row = card.locator('tr[data-window="90"]');
    expect(await row.locator('[data-field="offer"]').textContent()).toBe(
      `${Math.round(uplift.groups.offer.rate * 100)}% of ${n}`,
    );
    expect(await row.locator('[data-field="holdout"]').textContent()).toBe(
      `${Math.round(uplift.groups.holdout.rate * 100)}% of ${uplift.groups.holdout.lapsed}`,
    );
    await screenshot(page, 'campaigns');
    await context.close();
  });
});

describe('every page', () => {
  it('loads without a console error', async () => {
    const { context, page, errors } = await signedIn();
    await page.locator('figure[data-chart] canvas').first().waitFor();
    await page.getByRole('link', { name: 'Call list' }).click();
    await page.locator('tr[data-customer]').first().waitFor();
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.locator('tr[data-entry]').first().waitFor();
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.locator('tr[data-campaign]').first().waitFor();
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator('figure[data-chart] canvas').first().waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('fits a phone’s 375 px screen', async () => {
    const { context, page, errors } = await signedIn(PHONE);
    // How far the page is wider than the screen (a phone would scroll sideways).
    const overflow = () =>
      page.locator('html').evaluate((html) => html.scrollWidth - html.clientWidth);
    await page.locator('figure[data-chart] canvas').first().waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    for (const [link, ready] of [
      ['Campaigns', 'tr[data-campaign]'],
      ['Customer', 'form.search'],
      ['Call list', 'tr[data-customer]'],
    ] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.locator(ready).first().waitFor();
      expect(await overflow(), link).toBeLessThanOrEqual(0);
    }
    await screenshot(page, 'phone');
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('a customer’s records and personal data', () => {
  /** The customer page of `id`, drawn. */
  async function customerPage(id: string, viewport = DESKTOP) {
    const opened = await signedIn(viewport);
    await opened.page.goto(`${t.api.url}/console/#/customer/${id}`);
    await opened.page.locator(`section.customer[data-customer="${id}"]`).waitFor();
    return opened;
  }

  it('merges another record after a preview that adds both up, and shows the survivor', async () => {
    // One person enrolled twice: by email in the app, by phone at the till.
    const survivorId = await customerWho(
      { name: 'Mary Jackson', email: 'mary@example.com', externalId: 'CRM-3003' },
      [3, 17],
      6_400,
    );
    const otherId = await customerWho(
      { name: 'M. Jackson', phone: '+14155550131', externalId: 'TILL-77' },
      [5, 9, 30],
      2_150,
    );
    const [survivor, other] = [
      (await t.call('GET', `/v1/customers/${survivorId}`)).body,
      (await t.call('GET', `/v1/customers/${otherId}`)).body,
    ];
    expect(other.points.available).toBeGreaterThan(0);
    const { context, page, errors } = await customerPage(survivorId);

    await page.getByRole('button', { name: 'Merge another record into this one' }).click();
    const dialog = page.getByRole('dialog', { name: 'Merge another record into Mary Jackson' });
    const confirm = dialog.getByRole('button', { name: 'Merge', exact: true });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Find it by').selectOption('phone');
    await dialog.getByLabel('Their phone').fill('+14155550131');
    await dialog.getByRole('button', { name: 'Preview' }).click();
    await dialog.locator('table.merge-table').waitFor();
    expect(await confirm.isEnabled()).toBe(true);

    const rows = await cellsOf(page, 'dialog tr[data-row]', 'data-row');
    const figures = (field: 'available' | 'pending' | 'lifetimeEarned') => ({
      survivor: formatPoints(survivor.points[field], LOCALE),
      other: formatPoints(other.points[field], LOCALE),
      result: formatPoints(survivor.points[field] + other.points[field], LOCALE),
    });
    expect(rows).toEqual({
      name: { survivor: 'Mary Jackson', other: 'M. Jackson', result: 'Mary Jackson' },
      email: { survivor: 'mary@example.com', other: '–', result: 'mary@example.com' },
      phone: { survivor: '–', other: '+14155550131', result: '+14155550131 (taken over)' },
      externalId: { survivor: 'CRM-3003', other: 'TILL-77', result: 'CRM-3003' },
      available: figures('available'),
      pending: figures('pending'),
      lifetimeEarned: figures('lifetimeEarned'),
      tier: {
        survivor: survivor.tier.name,
        other: other.tier.name,
        result: `${survivor.tier.name} or higher`,
      },
    });
    expect(await text(page, 'dialog [data-field="keeps"]')).toBe(
      'Mary Jackson keeps: email mary@example.com, external id CRM-3003.',
    );
    expect(await text(page, 'dialog [data-field="takesOver"]')).toBe(
      'It takes over: phone +14155550131.',
    );
    expect(await text(page, 'dialog [data-field="findsToo"]')).toBe(
      'Kept as lookups that find it: external id TILL-77.',
    );
    expect(await text(page, 'dialog [data-field="tierNote"]')).toMatch(
      /can only go up, never down/,
    );
    // Another value drops the preview: the merge waits for a new one.
    await dialog.getByLabel('Their phone').fill('+14155550132');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Their phone').press('Enter');
    await expect
      .poll(() => text(page, 'dialog .merge-preview'))
      .toBe('No customer has the phone +14155550132.');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Their phone').fill('+14155550131');
    await dialog.getByLabel('Their phone').press('Enter');
    await dialog.locator('table.merge-table').waitFor();

    await confirm.click();
    await expect.poll(() => dialog.count()).toBe(0);
    const after = (await t.call('GET', `/v1/customers/${survivorId}`)).body;
    expect(after.points.available).toBe(survivor.points.available + other.points.available);
    expect(after.points.lifetimeEarned).toBe(
      survivor.points.lifetimeEarned + other.points.lifetimeEarned,
    );
    expect(after.phone).toBe('+14155550131');
    await expect
      .poll(() => text(page, '[data-figure="available"]'))
      .toBe(figures('available').result);
    expect(await text(page, '[data-figure="lifetimeEarned"]')).toBe(
      figures('lifetimeEarned').result,
    );
    expect(await text(page, '[data-figure="phone"]')).toBe('+14155550131');
    expect(await text(page, '#status')).toBe(
      `Merged M. Jackson into Mary Jackson: ${figures('available').result} points available now.`,
    );
    // The merged record now reads as the survivor.
    expect((await t.call('GET', `/v1/customers/${otherId}`)).body.id).toBe(survivorId);
    // The browser logs the lookup that found nobody (a 404), and nothing else.
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    await context.close();
  });

  it('says in words why a merge is refused while the other record has a usable code', async () => {
    const appKey = (await t.call('POST', '/v1/api-keys', { body: { role: 'app' } })).body.key;
    const survivorId = await customerWho(
      { name: 'Dorothy Vaughan', email: 'dorothy@example.com' },
      [4],
      3_000,
    );
    const otherId = await customerWho({ name: 'D. Vaughan', phone: '+14155550151' }, [6], 50_000);
    await redemptionCodeFor(t, otherId, appKey);
    const before = (await t.call('GET', `/v1/customers/${survivorId}`)).body;
    // On a phone: the preview fits the screen too.
    const { context, page } = await customerPage(survivorId, PHONE);

    await page.getByRole('button', { name: 'Merge another record into this one' }).click();
    const dialog = page.getByRole('dialog', { name: 'Merge another record into Dorothy Vaughan' });
    await dialog.getByLabel('Their customer id').fill(otherId);
    await dialog.getByRole('button', { name: 'Preview' }).click();
    await dialog.locator('table.merge-table').waitFor();
    const box = await dialog.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= PHONE.width).toBe(true);
    expect(
      await page.locator('html').evaluate((html) => html.scrollWidth - html.clientWidth),
    ).toBeLessThanOrEqual(0);
    await dialog.getByRole('button', { name: 'Merge', exact: true }).click();
    await expect
      .poll(() => text(page, 'dialog .error[role=alert]'))
      .toMatch(
        /^D\. Vaughan cannot be merged yet: .*redemption code not yet used\..*\[409 merge-blocked\]\)$/,
      );
    // The dialog stays open, nothing changed.
    expect(await dialog.count()).toBe(1);
    expect((await t.call('GET', `/v1/customers/${survivorId}`)).body.points).toEqual(before.points);
    expect((await t.call('GET', `/v1/customers/${otherId}`)).body.id).toBe(otherId);
    await context.close();
  });

  it('erases a customer once the word is typed, and shows the points forfeited', async () => {
    const id = await customerWho(
      { name: 'Annie Easley', email: 'annie@example.com', phone: '+14155550141' },
      [2, 12],
      4_000,
    );
    const before = (await t.call('GET', `/v1/customers/${id}`)).body;
    expect(before.points.available).toBeGreaterThan(0);
    const { context, page, errors } = await customerPage(id);

    await page.getByRole('button', { name: 'Erase on request' }).click();
    const dialog = page.getByRole('dialog', { name: 'Erase Annie Easley on request?' });
    expect(await text(page, 'dialog .consequences')).toMatch(/This cannot be undone\.$/);
    const erase = dialog.getByRole('button', { name: 'Erase for good' });
    const word = dialog.getByLabel('Type ERASE to confirm');
    expect(await erase.isDisabled()).toBe(true);
    await word.fill('erase');
    expect(await erase.isDisabled()).toBe(true);
    await word.press('Enter'); // a disabled button submits nothing
    expect((await t.call('GET', `/v1/customers/${id}`)).body.status).toBe('active');
    await word.fill('ERASE');
    expect(await erase.isEnabled()).toBe(true);
    await erase.click();
    await expect.poll(() => dialog.count()).toBe(0);

    const forfeited = formatPoints(before.points.available + before.points.pending, LOCALE);
    await expect
      .poll(() => text(page, '[data-figure="erased"]'))
      .toMatch(/^Erased on request on .+: nothing but their id is kept\.$/);
    expect(await text(page, '[data-figure="pointsForfeited"]')).toMatch(
      new RegExp(`^${forfeited} points forfeited`),
    );
    expect(await text(page, '#status')).toBe(
      `Erased Annie Easley on request: ${forfeited} points forfeited.`,
    );
    const read = await t.call('GET', `/v1/customers/${id}`);
    expect(read.body).toEqual({ id, status: 'erased', erasedAt: expect.any(String) });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('exports their data: Preparing… until the job has run, then a link to the document', async () => {
    const id = await customerWho(
      { name: 'Christine Darden', email: 'christine@example.com' },
      [1, 20],
      3_300,
    );
    const { context, page, errors } = await customerPage(id);
    await page.getByRole('button', { name: 'Export their data' }).click();
    await expect.poll(() => text(page, '.export-status')).toBe('Preparing their data…');
    // The local server of the tests runs no job by itself: run the exports job now.
    const run = await t.call('POST', '/v1/jobs/exports', { body: {} });
    expect(run.status).toBe(200);
    expect(run.body.exported).toBeGreaterThanOrEqual(1);

    const link = page.locator('.export-status a[data-field="exportLink"]');
    await link.waitFor();
    expect(await link.textContent()).toBe('download Christine Darden’s data (JSON)');
    const exportId = await page.locator('.export-status').getAttribute('data-export');
    const ready = (await t.call('GET', `/v1/exports/${exportId}`)).body;
    expect(ready).toMatchObject({ id: exportId, status: 'ready' });
    expect(await text(page, '[data-field="exportExpires"]')).toBe(
      `. The link works until ${utcMinute(ready.expiresAt)}.`,
    );
    const href = (await link.getAttribute('href')) as string;
    const document = await fetch(new URL(href, t.api.url));
    expect(document.status).toBe(200);
    const exported = (await document.json()) as { format: string; customer: { id: string } };
    expect(exported.format).toBe('loyalty-export/1');
    expect(exported.customer.id).toBe(id);
    expect(errors).toEqual([]);
    await context.close();
  });
});
