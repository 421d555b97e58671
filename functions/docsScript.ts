import { readAsset } from '../lib/http/assets.ts';
import { httpHandler } from '../lib/http/handler.ts';
import { REDOC_SCRIPT } from '../lib/routes.ts';

/** Redoc's browser bundle (about 1.1 MB), for GET /docs; cached by browsers for an hour. */
export const handler = httpHandler('GET /docs/redoc.standalone.js', async () => ({
  status: 200,
  contentType: 'text/javascript; charset=utf-8',
  body: readAsset(REDOC_SCRIPT),
  headers: { 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' },
}));
