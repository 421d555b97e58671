import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  bucketRange,
  bucketsOf,
  SETTLEMENT_MAX_MS,
  type SettlementPiece,
  settlementPieces,
} from '../../lib/domain/settlement.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);

/** A deterministic pseudo-random sequence (the test fails the same way every run). */
function lcg(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('settlementPieces', () => {
  it('cuts a range into whole days, then hours, then minutes, then the captures', () => {
    const pieces = settlementPieces(at('2026-03-01T22:58:30.250Z'), at('2026-03-04T01:02:10.000Z'));
    expect(pieces).toEqual([
      { from: at('2026-03-01T22:58:30.250Z'), to: at('2026-03-01T22:59:00.000Z') },
      { level: 'M', from: at('2026-03-01T22:59:00.000Z'), to: at('2026-03-01T23:00:00.000Z') },
      { level: 'H', from: at('2026-03-01T23:00:00.000Z'), to: at('2026-03-02T00:00:00.000Z') },
      { level: 'D', from: at('2026-03-02T00:00:00.000Z'), to: at('2026-03-04T00:00:00.000Z') },
      { level: 'H', from: at('2026-03-04T00:00:00.000Z'), to: at('2026-03-04T01:00:00.000Z') },
      { level: 'M', from: at('2026-03-04T01:00:00.000Z'), to: at('2026-03-04T01:02:00.000Z') },
      { from: at('2026-03-04T01:02:00.000Z'), to: at('2026-03-04T01:02:10.000Z') },
    ]);
    // Whole days read one piece of totals and no captures.
    expect(settlementPieces(at('2026-03-01T00:00:00Z'), at('2026-04-01T00:00:00Z'))).toEqual([
      { level: 'D', from: at('2026-03-01T00:00:00Z'), to: at('2026-04-01T00:00:00Z') },
    ]);
    // Within one minute: the captures only.
    expect(settlementPieces(at('2026-03-01T10:00:01Z'), at('2026-03-01T10:00:02Z'))).toEqual([
      { from: at('2026-03-01T10:00:01Z'), to: at('2026-03-01T10:00:02Z') },
    ]);
  });

  it('covers every range exactly once, with bounded buckets and captures', () => {
    const random = lcg(27);
    const base = at('2026-01-01T00:00:00Z');
    for (let i = 0; i < 2_000; i++) {
      const from = base + Math.floor(random() * 400 * DAY);
      const length = Math.max(1, Math.floor(random() ** 3 * SETTLEMENT_MAX_MS));
      const to = from + length;
      const pieces = settlementPieces(from, to);
      // Contiguous, in order, from `from` to `to`: nothing twice, nothing left out.
      expect(pieces[0]?.from).toBe(from);
      expect(pieces.at(-1)?.to).toBe(to);
      for (let p = 1; p < pieces.length; p++) {
        expect(pieces[p]?.from).toBe(pieces[p - 1]?.to);
      }
      const units = (level: string, ms: number) =>
        pieces
          .filter((p) => p.level === level)
          .reduce((n, p) => {
            // A piece of totals is whole units of its level.
            expect(p.from % ms).toBe(0);
            expect(p.to % ms).toBe(0);
            return n + (p.to - p.from) / ms;
          }, 0);
      expect(units('D', DAY)).toBeLessThanOrEqual(366);
      expect(units('H', HOUR)).toBeLessThanOrEqual(46);
      expect(units('M', MINUTE)).toBeLessThanOrEqual(118);
      // The captures read one by one lie within the partial minutes at the ends.
      const captures = pieces.filter((p) => p.level === undefined);
      expect(captures.length).toBeLessThanOrEqual(2);
      for (const c of captures) expect(c.to - c.from).toBeLessThan(MINUTE);
    }
  });
});

describe('buckets', () => {
  it('names a capture by its UTC day, hour and minute', () => {
    expect(bucketsOf('2026-03-01T23:59:59.999Z')).toEqual([
      { level: 'D', bucket: '2026-03-01' },
      { level: 'H', bucket: '2026-03-01T23' },
      { level: 'M', bucket: '2026-03-01T23:59' },
    ]);
    expect(bucketOf('D', at('2026-03-02T00:00:00.000Z'))).toBe('2026-03-02');
  });

  it('gives a piece its first and last bucket, both included', () => {
    const piece: SettlementPiece & { level: 'H' } = {
      level: 'H',
      from: at('2026-03-01T05:00:00Z'),
      to: at('2026-03-02T00:00:00Z'),
    };
    expect(bucketRange(piece)).toEqual({ first: '2026-03-01T05', last: '2026-03-01T23' });
  });
});
