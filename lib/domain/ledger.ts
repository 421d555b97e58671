import type { BreakdownItem } from './earning.ts';

/**
 * One line of a customer's ledger. `points` is always the entry's effect on available
 * points, so available = the sum of `points` and `balanceAfter` is its running total.
 * `pendingPoints` is the effect on pending points, where there is one (a purchase whose
 * points are pending, their activation, a refund inside the pending window).
 */
export interface LedgerEntry {
  id: string;
  type:
    | 'earn'
    | 'refund'
    | 'hold'
    | 'release'
    | 'redeem'
    | 'expire'
    | 'adjust'
    | 'pending'
    | 'activate'
    | 'bonus'
    | 'merge-in'
    | 'merge-out'
    | 'erase';
  points: number;
  pendingPoints?: number;
  balanceAfter: number;
  at: string;
  purchaseId?: string;
  /**
   * On an entry of a purchase (`earn`, `pending`, `refund`): when it was bought, which is
   * not `at` (when the entry was written) for a purchase recorded late or imported.
   */
  occurredAt?: string;
  /** On an entry of a purchase: the store it was bought at, and its receipt if it had one. */
  storeId?: string;
  receiptId?: string;
  refundId?: string;
  redemptionId?: string;
  reason?: string;
  /** A `merge-in` entry's source (merged into this customer); a `merge-out` entry's survivor. */
  mergedFrom?: string;
  mergedInto?: string;
  /** A `bonus` entry's campaign. */
  campaignId?: string;
  /** An `earn` (or `pending`) entry's points by source: base, then each campaign's. */
  breakdown?: BreakdownItem[];
}

/** Every type of event the outbox records (and a webhook endpoint may subscribe to). */
export const EVENT_TYPES = [
  'tier.changed',
  'customer.lapsed',
  'customer.reactivated',
  'points.expiring',
  // Another record of the customer was merged into them (merge.ts).
  'customer.merged',
  // The customer's personal data was erased on request (erase.ts).
  'customer.erased',
  // The lapse thresholds in force changed with calibration (no customer: customerId null).
  'program.lapse-calibrated',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** What the outbox records, in the same transaction as the change it reports. */
export interface DomainEvent {
  id: string;
  type: EventType;
  at: string;
  /** Null on programme events (program.lapse-calibrated). */
  customerId: string | null;
  data: Record<string, unknown>;
}

/** The event an outbox item holds: its own fields, in this order, without the table's keys. */
export const eventOfItem = ({ id, type, at, customerId, data }: Record<string, unknown>) =>
  ({ id, type, at, customerId, data }) as DomainEvent;
