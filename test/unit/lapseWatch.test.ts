import { describe, expect, it } from 'vitest';
import { addPurchaseDay, type Cadence, lapseDueAt } from '../../lib/domain/cadence.ts';
import { DAY_MS } from '../../lib/domain/days.ts';
import {
  BAND_FLOORS,
  bandOf,
  bandRange,
  lapseWatchOf,
  parseLapseWatch,
  watchedLapsed,
} from '../../lib/domain/lapseWatch.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';

/**
 * The LapseWatch key keeps the thresholds out of the index: a band Query with the
 * thresholds in its bound, then the key's own gap and purchases, must find exactly the
 * customers lapseDueAt says are lapsed, for any thresholds.
 */

/** A seeded generator, so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const T0 = Date.UTC(2026, 0, 1);

function customer(rand: () => number) {
  let cadence: Cadence | undefined;
  let day = T0 - Math.floor(rand() * 2000) * DAY_MS;
  const days = 1 + Math.floor(rand() * 8);
  const step = [1, 2, 3, 7, 10, 30, 45, 90, 200, 700][Math.floor(rand() * 10)] as number;
  let last = day;
  for (let i = 0; i < days; i++) {
    cadence = addPurchaseDay(cadence, new Date(day));
    last = day;
    day += (1 + Math.floor(rand() * step)) * DAY_MS;
  }
  const lastPurchaseAt = new Date(last + Math.floor(rand() * DAY_MS)).toISOString();
  const purchases = (cadence as Cadence).dayCount + Math.floor(rand() * 3);
  return { cadence, lastPurchaseAt, purchases };
}

describe('LapseWatch keys', () => {
  it('puts every gap in the band whose floor is the largest at or below it', () => {
    expect(bandOf(null)).toBe(0);
    for (let gap2 = 2; gap2 <= 20_000; gap2++) {
      const gap = gap2 / 2;
      const band = bandOf(gap);
      expect(BAND_FLOORS[band] as number).toBeLessThanOrEqual(gap);
      if (band + 1 < BAND_FLOORS.length)
        expect(BAND_FLOORS[band + 1] as number).toBeGreaterThan(gap);
    }
    // A quarter-octave: 7 and 7.5 days share a band (6.73 to 8), 7.5 and 8 do not.
    expect(bandOf(7)).toBe(bandOf(7.5));
    expect(bandOf(8)).toBe(bandOf(7.5) + 1);
    expect(bandOf(2)).not.toBe(bandOf(2.5));
    expect(BAND_FLOORS.length).toBe(50);
  });

  it('holds the last purchase, the gap and the purchases, and no threshold', () => {
    const cadence = ['20260101', '20260111', '20260121'].reduce<Cadence | undefined>(
      (c, d) => addPurchaseDay(c, new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}`)),
      undefined,
    );
    const key = lapseWatchOf(3, '2026-01-21T10:00:00.000Z', cadence, 3);
    expect(key).toBe('14#2026-01-21T10:00:00.000Z#20#3');
    expect(parseLapseWatch(key as string)).toEqual({
      lastPurchaseAt: '2026-01-21T10:00:00.000Z',
      gap: 10,
      purchases: 3,
    });
    expect(lapseWatchOf(2, '2026-01-21T10:00:00.000Z', cadence, 3)).toBeUndefined();
    expect(lapseWatchOf(3, undefined, cadence, 3)).toBeUndefined();
    expect(
      lapseWatchOf(1, '2026-01-21T10:00:00.000Z', addPurchaseDay(undefined, new Date()), 1),
    ).toMatch(/^00#.*#0#1$/);
  });

  it('finds exactly whom lapseDueAt says is lapsed, for any thresholds (10,000 cases)', () => {
    const rand = random(16);
    const rules = [
      { factor: 2, minDays: 14 },
      { factor: 1, minDays: 0 },
      { factor: 1.5, minDays: 120 },
      { factor: 6, minDays: 14 },
      { factor: 2.37, minDays: 45 },
      { factor: 100, minDays: 3650 },
    ];
    let lapsed = 0;
    for (let i = 0; i < 10_000; i++) {
      const c = customer(rand);
      const rule = rules[i % rules.length] as (typeof rules)[number];
      const minPurchases = 2 + Math.floor(rand() * 3);
      const program: Program = {
        ...defaultProgram,
        lapse: { ...defaultProgram.lapse, ...rule, minPurchases },
      };
      // The key is written under one minPurchases; the rule may have been raised since.
      const key = lapseWatchOf(c.purchases, c.lastPurchaseAt, c.cadence, 2);
      const asOf = new Date(Date.parse(c.lastPurchaseAt) + Math.floor(rand() * 900) * DAY_MS);
      // Sometimes exactly at the due instant, and 1 ms after it.
      const due = lapseDueAt(c.purchases, c.lastPurchaseAt, c.cadence, program);
      const at = due && i % 5 === 0 ? new Date(Date.parse(due) + (i % 10 === 0 ? 0 : 1)) : asOf;
      const expected = due !== undefined && due < at.toISOString();
      if (key === undefined) {
        expect(expected).toBe(false);
        continue;
      }
      const band = Number(key.slice(0, 2));
      const range = bandRange(band, at, rule);
      const inRange = range !== null && key >= range.from && key <= range.to;
      const found = inRange && watchedLapsed(parseLapseWatch(key) as never, at, program.lapse);
      expect(found, `${key} at ${at.toISOString()} under ${JSON.stringify(rule)}`).toBe(expected);
      // The Query's bound alone never leaves out anyone lapsed.
      if (expected) expect(inRange).toBe(true);
      if (expected) lapsed++;
    }
    expect(lapsed).toBeGreaterThan(1_000);
  });

  it("a band's range starts after 1970 or is null", () => {
    expect(bandRange(49, new Date(1_000), { factor: 100, minDays: 3650 })).toBeNull();
    expect(bandRange(0, new Date(T0), { factor: 2, minDays: 14 })).toEqual({
      from: '00#',
      to: `00#${new Date(T0 - 14 * DAY_MS - 1).toISOString()}#~`,
    });
  });
});
