import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.api.stop());

/** A plain GET without a credential, as a browser sends it. */
const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${t.api.url}${path}`, { headers });

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('GET /console: the merchant console', () => {
  it('serves one page, with its script and styles in it, at /console/ and /console', async () => {
    for (const path of ['/console/', '/console']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const html = await res.text();
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toMatch(/<style>[^<]*\.uplot/);
      expect(html).toContain('<script type="module">');
      // Nothing from elsewhere: no CDN, no font, no second request.
      const markup = html.replace(/<script[\s\S]*?<\/script>|<style>[\s\S]*?<\/style>/g, '');
      expect(markup).not.toMatch(/\b(src|href)="(?!data:)/);
    }
  });

  it('lets the browser run exactly its own script and styles, and call only this API', async () => {
    const res = await get('/console/');
    const html = await res.text();
    const script = /<script type="module">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    expect(script).toContain('x-api-key');
    expect(script).toContain('sessionStorage');
    expect(script).not.toContain('localStorage');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp.split('; ')).toEqual([
      "default-src 'none'",
      `script-src ${sha256(script)}`,
      `style-src ${sha256(style)}`,
      "img-src 'self' data:",
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('needs no credential and ignores one; other paths below it are 404 problem+json', async () => {
    expect((await get('/console/', { 'x-api-key': 'lk_unknown' })).status).toBe(200);
    for (const path of ['/console//', '/console/app.js', '/console/index.html', '/consoles']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});
