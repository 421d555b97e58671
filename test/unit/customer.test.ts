import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_CUSTOMER_POINTS,
  MAX_CUSTOMER_SPEND,
  newCustomer,
  totalOutOfBounds,
} from '../../lib/domain/customer.ts';
import { defaultProgram } from '../../lib/domain/program.ts';

const base = newCustomer('cus_1', { externalId: 'x' }, defaultProgram, new Date(0));

describe('the bounds on what a customer keeps', () => {
  it('takes points up to the bound, counting available (either sign), pending and held together', () => {
    expect(totalOutOfBounds({ ...base, available: MAX_CUSTOMER_POINTS })).toBeUndefined();
    expect(totalOutOfBounds({ ...base, available: MAX_CUSTOMER_POINTS + 1 })).toBe('points');
    expect(totalOutOfBounds({ ...base, available: -MAX_CUSTOMER_POINTS - 1 })).toBe('points');
    const split = { available: MAX_CUSTOMER_POINTS / 2, pending: MAX_CUSTOMER_POINTS / 2 };
    expect(totalOutOfBounds({ ...base, ...split })).toBeUndefined();
    expect(totalOutOfBounds({ ...base, ...split, held: 1 })).toBe('points');
    expect(totalOutOfBounds({ ...base, lifetimeEarned: MAX_CUSTOMER_POINTS + 1 })).toBe(
      'lifetime points',
    );
  });

  it('bounds the spend of the whole window, not each month', () => {
    const half = MAX_CUSTOMER_SPEND / 2;
    expect(
      totalOutOfBounds({ ...base, spend: { '202601': half, '202602': half } }),
    ).toBeUndefined();
    expect(totalOutOfBounds({ ...base, spend: { '202601': half, '202602': half + 1 } })).toBe(
      'qualifying spend',
    );
  });

  it('is never crossed by moving points between available, pending and held', () => {
    // Activation (pending -> available) and release (held -> available) never raise the
    // measure, so a job or a read never trips on a bound a client's change respected.
    const points = fc.integer({ min: 0, max: MAX_CUSTOMER_POINTS });
    fc.assert(
      fc.property(
        fc.integer({ min: -MAX_CUSTOMER_POINTS, max: MAX_CUSTOMER_POINTS }),
        points,
        points,
        fc.boolean(),
        (available, pending, held, fromPending) => {
          const before = { ...base, available, pending, held };
          fc.pre(totalOutOfBounds(before) === undefined);
          const moved = fromPending
            ? { ...before, available: available + pending, pending: 0 }
            : { ...before, available: available + held, held: 0 };
          expect(totalOutOfBounds(moved)).toBeUndefined();
        },
      ),
    );
  });
});
