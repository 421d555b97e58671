import { describe, expect, it } from 'vitest';
import { cashValueOf } from '../../lib/domain/money.ts';

describe('cashValueOf', () => {
  it('converts points to minor units at the program rate, rounding down', () => {
    expect(cashValueOf(1_200, { points: 100, amount: 100 }, 'USD')).toEqual({
      amount: 1_200,
      currency: 'USD',
    });
    expect(cashValueOf(199, { points: 200, amount: 100 }, 'EUR')).toEqual({
      amount: 99,
      currency: 'EUR',
    });
  });

  it('is never negative, even for a negative balance', () => {
    expect(cashValueOf(-50, { points: 1, amount: 1 }, 'USD').amount).toBe(0);
  });
});
