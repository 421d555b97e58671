import { httpHandler } from '../lib/http/handler.ts';
import { readProgram } from '../lib/usecases/program.ts';

export const handler = httpHandler('GET /v1/program', async () => ({
  status: 200,
  body: await readProgram(),
}));
