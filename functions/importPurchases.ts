import { countIf, httpHandler, replyWith } from '../lib/http/handler.ts';
import { importBatchSchema } from '../lib/schemas/imports.ts';
import { importPurchases } from '../lib/usecases/importPurchases.ts';

export const handler = httpHandler('POST /v1/imports/purchases', async (req) => {
  const idempotency = req.idempotency();
  const { items } = req.body(importBatchSchema);
  const answer = await importPurchases(req.principal, items, idempotency);
  countIf(answer, 'PurchasesImported', answer.value.imported);
  return replyWith(200, answer);
});
