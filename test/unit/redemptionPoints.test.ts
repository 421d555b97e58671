import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pointsFor } from '../../lib/usecases/redemptions.ts';

describe('pointsFor', () => {
  it('rounds up so the customer never pays less than the amount', () => {
    // 3 points are worth 2 cents: 1 cent needs 1.5 points, so 2.
    expect(pointsFor(1, { points: 3, amount: 2 })).toBe(2);
    expect(pointsFor(2, { points: 3, amount: 2 })).toBe(3);
    expect(pointsFor(1_234, { points: 100, amount: 100 })).toBe(1_234);
  });

  it('is the smallest p with p x amount >= points needed, for any rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 ** 9 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (amount, points, cash) => {
          const p = BigInt(pointsFor(amount, { points, amount: cash }));
          const need = BigInt(amount) * BigInt(points);
          expect(p * BigInt(cash) >= need).toBe(true);
          expect((p - 1n) * BigInt(cash) < need).toBe(true);
        },
      ),
    );
  });
});
