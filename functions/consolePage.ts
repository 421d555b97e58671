import type { ConsoleHashes } from '../lib/console/bundle.ts';
import { readConsoleFile } from '../lib/http/assets.ts';
import { httpHandler } from '../lib/http/handler.ts';

/**
 * The merchant console: one page with its script and styles in it (lib/console/bundle.ts).
 * Its policy lets the browser run exactly that script and those styles, and call nothing
 * but this API: no CDN, no fonts, no other origin.
 */
function contentSecurityPolicy(): string {
  const hashes = JSON.parse(readConsoleFile('hashes.json')) as ConsoleHashes;
  return [
    "default-src 'none'",
    `script-src '${hashes.script}'`,
    `style-src '${hashes.style}'`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const handler = httpHandler('GET /console', async () => ({
  status: 200,
  contentType: 'text/html; charset=utf-8',
  body: readConsoleFile('index.html'),
  headers: {
    'content-security-policy': contentSecurityPolicy(),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Revalidated on each visit: a new deployment's page is seen at once.
    'cache-control': 'no-cache',
  },
}));
