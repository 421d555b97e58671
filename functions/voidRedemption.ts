import { httpHandler, replyWith } from '../lib/http/handler.ts';
import { captureOrVoidRedemption } from '../lib/usecases/redemptions.ts';

export const handler = httpHandler('POST /v1/redemptions/{id}/void', async (req) =>
  replyWith(
    200,
    await captureOrVoidRedemption(req.principal, req.param('id'), 'void', req.idempotency()),
  ),
);
