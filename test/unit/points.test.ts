import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cashValueOf } from '../../lib/domain/money.ts';
import { earnedPoints, hasAtMostFourDecimals } from '../../lib/domain/points.ts';

describe('earnedPoints', () => {
  it('floors the base points before applying the multiplier', () => {
    // floor(199/100) = 1, then floor(1 x 1.5) = 1 (not floor(1.99 x 1.5) = 2).
    expect(earnedPoints(199, { points: 1, per: 100 }, 1.5)).toBe(1);
    expect(earnedPoints(99, { points: 1, per: 100 }, 1)).toBe(0);
    expect(earnedPoints(0, { points: 1, per: 100 }, 1.5)).toBe(0);
  });

  it('applies decimal multipliers exactly where floating point would lose a point', () => {
    expect(Math.floor(100 * 1.15)).toBe(114);
    expect(earnedPoints(10_000, { points: 1, per: 100 }, 1.15)).toBe(115);
    expect(earnedPoints(100, { points: 1, per: 1 }, 1.0001)).toBe(100);
    expect(earnedPoints(10_000, { points: 1, per: 1 }, 1.0001)).toBe(10_001);
  });

  it('stays exact for amounts up to the largest safe integer', () => {
    expect(earnedPoints(Number.MAX_SAFE_INTEGER, { points: 1, per: 1 }, 1)).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('equals the exact rational floor for any amount, rate and 4-decimal multiplier', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 12 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 10_000, max: 100_000 }),
        (amount, points, per, scaledMultiplier) => {
          const base = (BigInt(amount) * BigInt(points)) / BigInt(per);
          const exact = (base * BigInt(scaledMultiplier)) / 10_000n;
          expect(earnedPoints(amount, { points, per }, scaledMultiplier / 10_000)).toBe(
            Number(exact),
          );
        },
      ),
    );
  });

  it('recognises multipliers with at most four decimals', () => {
    expect(hasAtMostFourDecimals(1.25)).toBe(true);
    expect(hasAtMostFourDecimals(1.0001)).toBe(true);
    expect(hasAtMostFourDecimals(1.00001)).toBe(false);
  });
});

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
