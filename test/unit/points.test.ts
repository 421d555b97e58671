import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  earnedPoints,
  hasAtMostFourDecimals,
  pointsReversedFor,
  pointsToRedeem,
} from '../../lib/domain/points.ts';

describe('earnedPoints', () => {
  it('floors the base points before applying the multiplier', () => {
    // floor(199/100) = 1, then floor(1 x 1.5) = 1 (not floor(1.99 x 1.5) = 2).
    expect(earnedPoints(199, { points: 1, per: 100 }, 1.5)).toBe(1);
    expect(earnedPoints(99, { points: 1, per: 100 }, 1)).toBe(0);
    expect(earnedPoints(0, { points: 1, per: 100 }, 1.5)).toBe(0);
  });

  it('applies decimal multipliers exactly where floating point would lose a point', () => {
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

describe('pointsToRedeem', () => {
  it('rounds up so the customer never pays less than the amount', () => {
    // 3 points are worth 2 cents: 1 cent needs 1.5 points, so 2.
    expect(pointsToRedeem(1, { points: 3, amount: 2 })).toBe(2);
    expect(pointsToRedeem(2, { points: 3, amount: 2 })).toBe(3);
    expect(pointsToRedeem(1_234, { points: 100, amount: 100 })).toBe(1_234);
  });

  it('is the smallest p with p x amount >= points needed, for any rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 ** 9 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (amount, points, cash) => {
          const p = BigInt(pointsToRedeem(amount, { points, amount: cash }));
          const need = BigInt(amount) * BigInt(points);
          expect(p * BigInt(cash) >= need).toBe(true);
          expect((p - 1n) * BigInt(cash) < need).toBe(true);
        },
      ),
    );
  });
});

describe('pointsReversedFor', () => {
  it('reverses cumulatively, so partial refunds add up to exactly one full refund', () => {
    // A 100.07 purchase earning 100 points, refunded 50.03 then the rest: 49 + 51.
    expect(pointsReversedFor(100, 5003, 10007)).toBe(49);
    expect(pointsReversedFor(100, 10007, 10007) - pointsReversedFor(100, 5003, 10007)).toBe(51);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 9 }),
        fc.integer({ min: 1, max: 10 ** 12 }),
        fc.array(fc.integer({ min: 1, max: 10 ** 6 }), { maxLength: 20 }),
        (earned, total, parts) => {
          let refunded = 0;
          let reversed = 0;
          for (const part of parts) {
            const after = Math.min(total, refunded + part);
            reversed +=
              pointsReversedFor(earned, after, total) - pointsReversedFor(earned, refunded, total);
            refunded = after;
          }
          expect(reversed).toBe(pointsReversedFor(earned, refunded, total));
          expect(reversed).toBeLessThanOrEqual(earned);
        },
      ),
    );
  });
});
