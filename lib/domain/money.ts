/** Money is an integer count of minor units in one ISO 4217 currency. */
export interface Money {
  amount: number;
  currency: string;
}

export const money = (amount: number, currency: string): Money => ({ amount, currency });

/** How many minor units `points` are worth at the program's rate, rounded down; never negative. */
export function cashValueOf(
  points: number,
  rate: { points: number; amount: number },
  currency: string,
): Money {
  if (points <= 0) return money(0, currency);
  return money(Number((BigInt(points) * BigInt(rate.amount)) / BigInt(rate.points)), currency);
}
