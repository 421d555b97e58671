import { httpHandler } from '../lib/http/handler.ts';
import { programSchema } from '../lib/schemas/program.ts';
import { replaceProgram } from '../lib/usecases/program.ts';

export const handler = httpHandler('PUT /v1/program', async (req) => ({
  status: 200,
  body: await replaceProgram(req.body(programSchema)),
}));
