import { httpHandler, replyWith } from '../lib/http/handler.ts';
import { captureOrVoidRedemption } from '../lib/usecases/redemptions.ts';

export const handler = httpHandler('POST /v1/redemptions/{id}/capture', async (req) =>
  replyWith(
    200,
    await captureOrVoidRedemption(req.principal, req.param('id'), 'capture', req.idempotency()),
  ),
);
