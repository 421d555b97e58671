/** Every problem code of lib/errors.ts with what it means (tsc insists on all). */
import type { ErrorCode } from '../errors.ts';
import { IMPORT_BODY_BYTES, MAX_BODY_BYTES } from '../routes.ts';

export const problemCodeNotes: Record<ErrorCode, string> = {
  'validation-failed':
    'The body, query or a header is not valid; `errors` lists each field as `{path, message}`.',
  unauthorized: 'The API key is missing, unknown or revoked.',
  forbidden:
    "The key's role may not call this route (see `x-roles`), or it acts outside its scope.",
  'not-found': 'The resource does not exist or belongs to another principal; or no such route.',
  conflict: 'Conflicts with an existing resource.',
  'payload-too-large': `The request body is over ${MAX_BODY_BYTES} bytes (64 KiB), or ${IMPORT_BODY_BYTES} bytes (1 MiB) on the import routes.`,
  'idempotency-key-required': 'The route requires an `Idempotency-Key` header.',
  'idempotency-key-reused': 'The `Idempotency-Key` was already used for a different request.',
  'idempotency-key-in-use':
    'An import batch with this `Idempotency-Key` is still running: retry after `Retry-After` seconds for its answer.',
  'currency-mismatch': "A money amount is not in the program's currency.",
  'insufficient-points': 'Not enough available points.',
  'invalid-redemption-code': 'The redemption code is unknown, already used or expired.',
  'refund-exceeds-purchase': 'The refunds of a purchase would add up to more than its total.',
  'merge-blocked':
    'The customer to merge (`from`) has points held by an authorized redemption, or a redemption code not yet used or expired: capture or void the redemption, or let the code expire (10 minutes), then merge.',
  'customer-erased':
    'The customer was erased on request: nothing about them may change any more (their financial record stays, under the bare id).',
  'unsupported-media-type':
    'A body was sent with a content type that is not JSON (`application/json` or `*/*+json`); a body without one is read as JSON.',
  'invalid-as-of':
    'A job run with `asOf` more than 5 minutes ahead would act on the future (release live holds, expire points early): send `"dryRun": true` to only count.',
  'rate-limited':
    'Ten wrong redemption codes this minute from this credential: every authorization by it, right code or not, gets 429 until the minute ends; retry after `Retry-After` seconds.',
  'invalid-state':
    'The redemption is not authorized any more: capture or void only an authorized, unexpired one.',
  'internal-error': 'An unexpected error; it was logged. Nothing internal is in the body.',
  'service-unavailable':
    'The database is throttling or the customer is changing too fast; retry after `Retry-After` seconds.',
};

export const problemCodes = Object.keys(problemCodeNotes) as [ErrorCode, ...ErrorCode[]];
