import { describe, expect, it } from 'vitest';
import { AGAIN, optimistic } from '../../lib/store/transactions.ts';

const conflict = () =>
  Object.assign(new Error('conflict'), {
    name: 'TransactionCanceledException',
    CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
  });
const conflictAndCondition = () =>
  Object.assign(new Error('conflict and condition'), {
    name: 'TransactionCanceledException',
    CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'TransactionConflict' }],
  });

describe('optimistic', () => {
  it('answers the first outcome, running the attempt again after each AGAIN', async () => {
    const seen: number[] = [];
    const outcome = await optimistic(async (n) => {
      seen.push(n);
      return n < 2 ? AGAIN : 'saved';
    });
    expect(outcome).toBe('saved');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('throws exhausted() after `attempts` AGAINs, and no more attempts', async () => {
    let runs = 0;
    const run = optimistic(
      async () => {
        runs++;
        return AGAIN;
      },
      { attempts: 3, wait: false, exhausted: () => new Error('gave up') },
    );
    await expect(run).rejects.toThrow('gave up');
    expect(runs).toBe(3);
  });

  it('tries a lost transaction race again, and throws the race itself when the last is lost', async () => {
    let runs = 0;
    const won = await optimistic(async () => {
      runs++;
      if (runs < 3) throw conflict();
      return 'saved';
    });
    expect([won, runs]).toEqual(['saved', 3]);

    runs = 0;
    const lost = optimistic(
      async () => {
        runs++;
        throw conflict();
      },
      { attempts: 4, wait: false },
    );
    await expect(lost).rejects.toMatchObject({ message: 'conflict' });
    expect(runs).toBe(4);
  });

  it('throws at once a race that also failed a condition, any other error, and races when told not to retry them', async () => {
    for (const [error, options] of [
      [conflictAndCondition(), {}],
      [new Error('ValidationException'), {}],
      [conflict(), { conflicts: false }],
    ] as const) {
      let runs = 0;
      const run = optimistic(async () => {
        runs++;
        throw error;
      }, options);
      await expect(run).rejects.toBe(error);
      expect(runs).toBe(1);
    }
  });

  it('does not try again what a loop inside it gave up with', async () => {
    let inner = 0;
    let outer = 0;
    const run = optimistic(
      async () => {
        outer++;
        return optimistic(
          async () => {
            inner++;
            throw conflict();
          },
          { attempts: 3, wait: false },
        );
      },
      { wait: false },
    );
    await expect(run).rejects.toMatchObject({ message: 'conflict' });
    expect([outer, inner]).toEqual([1, 3]);
  });
});
