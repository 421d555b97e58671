import { describe, expect, it } from 'vitest';
import { inParallel } from '../../lib/usecases/parallel.ts';

/** inParallel (lib/usecases/parallel.ts): every item once, never more than the limit at a time. */
const tick = () => new Promise((r) => setTimeout(r, 1));

describe('inParallel', () => {
  it('works every item once, at most `limit` at a time, and using the limit', async () => {
    const items = Array.from({ length: 23 }, (_, i) => i);
    const seen: number[] = [];
    let running = 0;
    let most = 0;
    await inParallel(items, 4, async (i) => {
      running++;
      most = Math.max(most, running);
      await tick();
      seen.push(i);
      running--;
    });
    expect([...seen].sort((a, b) => a - b)).toEqual(items);
    expect(most).toBe(4);
  });

  it('does nothing for no items, and runs fewer workers than the limit for fewer items', async () => {
    let calls = 0;
    await inParallel([], 4, async () => {
      calls++;
    });
    expect(calls).toBe(0);
    let running = 0;
    let most = 0;
    await inParallel([1, 2], 8, async () => {
      running++;
      most = Math.max(most, running);
      await tick();
      running--;
    });
    expect(most).toBe(2);
  });

  it('rejects with the first error a piece of work throws', async () => {
    await expect(
      inParallel([1, 2, 3], 2, async (i) => {
        if (i === 2) throw new Error('boom 2');
      }),
    ).rejects.toThrow('boom 2');
  });
});
