import { countIf, httpHandler, replyWith } from '../lib/http/handler.ts';
import { importBatchSchema } from '../lib/schemas/imports.ts';
import { importCustomers } from '../lib/usecases/importCustomers.ts';

export const handler = httpHandler('POST /v1/imports/customers', async (req) => {
  const idempotency = req.idempotency();
  const { items } = req.body(importBatchSchema);
  const answer = await importCustomers(items, idempotency);
  countIf(answer, 'CustomersImported', answer.value.created);
  return replyWith(200, answer);
});
