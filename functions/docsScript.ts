import { readAsset, withoutRedoclyLogo } from '../lib/http/assets.ts';
import { httpHandler } from '../lib/http/handler.ts';
import { REDOC_SCRIPT } from '../lib/routes.ts';

let script: string | undefined;

/**
 * Redoc's browser bundle (about 1.1 MB), for GET /docs, without the logo it would fetch
 * from Redocly's CDN; cached by browsers for an hour.
 */
export const handler = httpHandler('GET /docs/redoc.standalone.js', async () => {
  script ??= withoutRedoclyLogo(readAsset(REDOC_SCRIPT));
  return {
    status: 200,
    contentType: 'text/javascript; charset=utf-8',
    body: script,
    headers: { 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' },
  };
});
