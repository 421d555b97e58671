/**
 * Erasing a customer on request (the right to be forgotten): their personal data goes,
 * their points are forfeited, and the financial record stays under the bare id. What is
 * personal is the profile a customer is enrolled with and what is learned of them in
 * words (a lapse reason's note), and whatever joins them to a person: identifiers kept
 * from merges, the purchase days. What stays is money: the ledger, purchases, refunds and
 * redemptions, keyed by the id alone.
 */
import type { CustomerState } from './customer.ts';
import type { LedgerEntry } from './ledger.ts';
import type { PointsChange } from './pointsChange.ts';

/** The fields of a customer that identify a person. */
export const PERSONAL_FIELDS = ['name', 'email', 'phone', 'externalId', 'birthDate'] as const;

/** An erased customer as every reader sees it: nothing but that it was. */
export interface ErasedCustomerView {
  id: string;
  status: 'erased';
  erasedAt: string;
}

/**
 * The customer once erased: no personal field, no points (the caller records the `erase`
 * entry of what was forfeited), no tier window, cadence or lapse state to act on; kept are
 * the id, when they joined, the version, and what the counts by day need.
 */
export function erasedState(c: CustomerState, at: Date): CustomerState {
  return {
    id: c.id,
    createdAt: c.createdAt,
    tierId: c.tierId,
    available: 0,
    pending: 0,
    held: 0,
    lifetimeEarned: c.lifetimeEarned,
    spend: {},
    purchases: c.purchases,
    status: 'erased',
    erasedAt: at.toISOString(),
    lots: {},
    pendingLots: {},
    ...(c.counted !== undefined && { counted: c.counted }),
    ...(c.memberSince !== undefined && { memberSince: c.memberSince }),
    ...(c.referredBy !== undefined && { referredBy: c.referredBy }),
    version: c.version,
  };
}

/**
 * `value` (an answer kept for a replay) without the personal fields of any object that is
 * one of the customers `ids` (`{id, email, ...}`, wherever it sits).
 */
export function withoutPersonalData(value: unknown, ids: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutPersonalData(v, ids));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const isCustomer = typeof object.id === 'string' && ids.has(object.id);
  const kept: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(object)) {
    if (isCustomer && (PERSONAL_FIELDS as readonly string[]).includes(key)) continue;
    kept[key] = withoutPersonalData(v, ids);
  }
  return kept;
}

/**
 * The erase applied to the customer's change (after its open holds went back): one
 * `erase` entry forfeits every available and pending point; they count as a customer no
 * more; event `customer.erased`.
 */
export function eraseChange(change: PointsChange, at: Date): LedgerEntry {
  const c = change.customer;
  return change.becomes(
    erasedState(c, at),
    { type: 'erase', points: -c.available, pendingPoints: -c.pending || undefined },
    { leaves: true, event: ['customer.erased', {}] },
  );
}
