import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.api.stop());

/** A plain GET without a credential, as a browser sends it. */
const get = (path: string) => fetch(`${t.api.url}${path}`);

describe('GET /docs: the API reference, rendered from the OpenAPI document', () => {
  it('serves an HTML page that loads the document and the renderer from this API only', async () => {
    const res = await get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<redoc spec-url="v1/openapi.json"');
    expect(html).toContain('<script src="docs/redoc.standalone.js"></script>');
    // Relative URLs only: nothing from a CDN.
    expect(html).not.toMatch(/https?:\/\//);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
  });

  it('serves the renderer as JavaScript, and the page URLs resolve to what is served', async () => {
    const page = new URL('/docs', t.api.url);
    const script = await get(new URL('docs/redoc.standalone.js', page).pathname);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=3600');
    const js = await script.text();
    expect(js.length).toBeGreaterThan(500_000);
    expect(js).toContain('spec-url');
    const spec = await get(new URL('v1/openapi.json', page).pathname);
    expect(spec.status).toBe(200);
    const document = (await spec.json()) as { paths: Record<string, any> };
    expect(document.paths['/docs']?.get.operationId).toBe('docsPage');
  });

  it('needs no credential, and ignores one', async () => {
    const res = await fetch(`${t.api.url}/docs`, { headers: { 'x-api-key': 'lk_unknown' } });
    expect(res.status).toBe(200);
  });
});
