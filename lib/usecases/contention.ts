import { ProblemError } from '../errors.ts';

/** Optimistic retries ran out: the item kept changing under us. Safe to retry later. */
export const tooContended = (what: 'customer' | 'purchase') =>
  new ProblemError('service-unavailable', `Too many concurrent changes to this ${what}`, {
    headers: { 'retry-after': '1' },
  });
