/** API keys: their roles and what a key of each role names (store, partner). */
import * as z from 'zod/mini';
import { id, line } from './common.ts';

export const roles = ['admin', 'pos', 'partner', 'app'] as const;

const apiKeyFields = z.object({
  role: z.enum(roles),
  storeId: z.optional(id),
  partnerId: z.optional(id),
  name: z.optional(line(200)),
});

export const createApiKeySchema = apiKeyFields.check(
  z.superRefine((k: z.output<typeof apiKeyFields>, ctx) => {
    if (k.role === 'pos' && !k.storeId) {
      ctx.addIssue({ code: 'custom', path: ['storeId'], message: 'a pos key needs a storeId' });
    }
    if (k.role !== 'pos' && k.storeId) {
      ctx.addIssue({ code: 'custom', path: ['storeId'], message: 'only a pos key has a storeId' });
    }
    if (k.role === 'partner' && !k.partnerId) {
      ctx.addIssue({
        code: 'custom',
        path: ['partnerId'],
        message: 'a partner key needs a partnerId',
      });
    }
    if (k.role !== 'partner' && k.partnerId) {
      ctx.addIssue({
        code: 'custom',
        path: ['partnerId'],
        message: 'only a partner key has a partnerId',
      });
    }
  }),
  z.meta({ id: 'CreateApiKey' }),
);
export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
