import { httpHandler } from '../lib/http/handler.ts';

/**
 * The API reference page: Redoc renders /v1/openapi.json in the browser. Both the
 * document and the renderer come from this API (relative URLs, so a base path still
 * works), and the page's content security policy lets the browser fetch nothing else:
 * no CDN, no fonts, no telemetry.
 */
const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Loyalty API reference</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; }</style>
</head>
<body>
<redoc spec-url="v1/openapi.json" required-props-first="true" expand-responses="200,201,204"></redoc>
<script src="docs/redoc.standalone.js"></script>
</body>
</html>
`;

/** Redoc styles with inline styles and searches in a blob: worker; nothing else is allowed. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  'worker-src blob:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const handler = httpHandler('GET /docs', async () => ({
  status: 200,
  contentType: 'text/html; charset=utf-8',
  body: page,
  headers: {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
  },
}));
