import { httpHandler } from '../lib/http/handler.ts';
import { exportStatus } from '../lib/usecases/exports.ts';

export const handler = httpHandler('GET /v1/exports/{id}', async (req) => ({
  status: 200,
  body: await exportStatus(req.principal, req.param('id')),
}));
