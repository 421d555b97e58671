/**
 * The arithmetic of a customer's lots as PointsChange keeps them: the lots (points by the
 * UTC day they became available, lots.ts) always add up to the positive available balance.
 * Here are the pure steps on them: the lots brought in line with the balance when a
 * customer is read (normalisedLots), a credit that adds lots only for what lifts the
 * balance above 0, a debit from a preferred lot and then the oldest, the lots kept at most
 * MAX_LOTS (compact), the lots that expired, the pending lots that fell due, and the lots
 * expiring soon that are still to be reminded. The ledger entries and events that go with
 * each step stay in pointsChange.ts.
 */
import type { CustomerState } from './customer.ts';
import { dayKey } from './days.ts';
import { type Lots, lotExpiresAt, MAX_LOTS } from './lots.ts';

export const sortedDays = (lots: Lots) => Object.keys(lots).sort();

/**
 * Lots always add up to the positive balance. A customer stored before lots existed (or
 * with any difference) gets the difference as a lot dated today.
 */
export function normalisedLots(customer: CustomerState, asOf: Date): Lots {
  const lots: Lots = { ...(customer.lots ?? {}) };
  const sum = Object.values(lots).reduce((a, b) => a + b, 0);
  const target = Math.max(0, customer.available);
  if (sum < target) {
    const day = dayKey(asOf);
    lots[day] = (lots[day] ?? 0) + target - sum;
  } else if (sum > target) {
    let extra = sum - target;
    for (const day of sortedDays(lots)) {
      const n = Math.min(extra, lots[day] as number);
      lots[day] = (lots[day] as number) - n;
      if (lots[day] === 0) delete lots[day];
      extra -= n;
      if (extra === 0) break;
    }
  }
  return lots;
}

/** Keeps at most MAX_LOTS lots by moving the oldest into the next one (a later expiry). */
export function compact(lots: Lots): void {
  const days = sortedDays(lots);
  for (let i = 0; days.length - i > MAX_LOTS; i++) {
    const [oldest, next] = [days[i] as string, days[i + 1] as string];
    lots[next] = (lots[next] as number) + (lots[oldest] as number);
    delete lots[oldest];
  }
}

/** Adds to available; whatever first pays off a negative balance takes the oldest days. */
export function credit(c: CustomerState, points: number, days: Lots): void {
  const before = Math.max(0, c.available);
  c.available += points;
  let toAdd = Math.max(0, c.available) - before;
  const lots = c.lots as Lots;
  for (const day of sortedDays(days).reverse()) {
    if (toAdd === 0) break;
    const n = Math.min(toAdd, days[day] as number);
    lots[day] = (lots[day] ?? 0) + n;
    toAdd -= n;
  }
  compact(lots);
}

/** Takes from available: from `preferDay`'s lot first, then the oldest. */
export function debit(c: CustomerState, points: number, preferDay?: string): Lots {
  const before = Math.max(0, c.available);
  c.available -= points;
  let toTake = before - Math.max(0, c.available);
  const lots = c.lots as Lots;
  const taken: Lots = {};
  const order = sortedDays(lots);
  if (preferDay !== undefined && lots[preferDay] !== undefined) {
    order.splice(order.indexOf(preferDay), 1);
    order.unshift(preferDay);
  }
  for (const day of order) {
    if (toTake === 0) break;
    const n = Math.min(toTake, lots[day] as number);
    lots[day] = (lots[day] as number) - n;
    if (lots[day] === 0) delete lots[day];
    taken[day] = n;
    toTake -= n;
  }
  return taken;
}

/**
 * Takes out of `lots` the pending lots due at `asOf` (keyed by the moment they become
 * available): their total, and the points to credit by the day each became available;
 * undefined when none is due.
 */
export function takeDuePending(lots: Lots, asOf: Date): { total: number; days: Lots } | undefined {
  const bound = asOf.toISOString();
  const due = Object.keys(lots)
    .filter((at) => at <= bound)
    .sort();
  if (due.length === 0) return undefined;
  let total = 0;
  const credit: Lots = {};
  for (const at of due) {
    const points = lots[at] as number;
    total += points;
    const day = dayKey(new Date(at));
    credit[day] = (credit[day] ?? 0) + points;
    delete lots[at];
  }
  return { total, days: credit };
}

/** Takes out of `lots` those expired at `asOf`, `days` after they became available: the points they held. */
export function takeExpired(lots: Lots, days: number, asOf: Date): number {
  const asOfMs = asOf.getTime();
  let total = 0;
  for (const day of sortedDays(lots)) {
    if (lotExpiresAt(day, days).getTime() > asOfMs) break;
    total += lots[day] as number;
    delete lots[day];
  }
  return total;
}

/**
 * The lots that expire (`expireAfter` days after they became available) within `days` of
 * `asOf` and have not yet, oldest first, leaving out the days already `reminded`.
 */
export function expiringLots(
  lots: Lots,
  expireAfter: number,
  asOfDate: Date,
  days: number,
  reminded: readonly string[],
): { day: string; points: number; expiresAt: string }[] {
  const asOf = asOfDate.getTime();
  const horizon = asOf + days * 86_400_000;
  const expiring: { day: string; points: number; expiresAt: string }[] = [];
  for (const day of sortedDays(lots)) {
    const expiresAt = lotExpiresAt(day, expireAfter).getTime();
    if (expiresAt > horizon) break;
    if (expiresAt <= asOf || reminded.includes(day)) continue;
    expiring.push({
      day,
      points: lots[day] as number,
      expiresAt: new Date(expiresAt).toISOString(),
    });
  }
  return expiring;
}
