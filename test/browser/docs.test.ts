/**
 * The API reference page (GET /docs) in a real browser: Redoc renders the document from
 * the API itself, and the page asks nothing of any other origin (its content security
 * policy would refuse it, with a console error).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';
import { launchChromium } from './chromium.ts';

vi.setConfig({ testTimeout: 90_000 });

let t: TestApi;
let browser: Promise<Browser>;

beforeAll(async () => {
  browser = launchChromium();
  browser.catch(() => {}); // reported by the test
  t = await startTestApi();
});

afterAll(async () => {
  await browser?.then((b) => b.close()).catch(() => {});
  await t?.api.stop();
});

it('renders the reference without a console error or a request to another origin', async () => {
  const context = await (await browser).newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  const elsewhere: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(t.api.url) && !/^(data|blob):/.test(r.url())) elsewhere.push(r.url());
  });
  await page.goto(`${t.api.url}/docs`);
  await page.getByRole('heading', { level: 1, name: /Loyalty/ }).waitFor();
  // The menu's footer (where Redoc puts its logo) is drawn with the menu.
  await page.getByText('API docs by Redocly').waitFor();
  await page.waitForLoadState('networkidle');
  expect(elsewhere).toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
});
