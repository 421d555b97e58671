import { httpHandler } from '../lib/http/handler.ts';
import { openApiDocument } from '../lib/openapi.ts';

/** Built once per container: the document only changes with a deployment. */
let document: object | undefined;

export const handler = httpHandler('GET /v1/openapi.json', async () => {
  document ??= openApiDocument();
  return { status: 200, body: document };
});
