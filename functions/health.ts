import { httpHandler } from '../lib/http/handler.ts';

export const handler = httpHandler('GET /v1/health', async () => ({
  status: 200,
  body: { status: 'ok' },
}));
