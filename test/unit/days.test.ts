import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  dayKey,
  dayStart,
  isKeepableInstant,
  occurredAtProblem,
  yearBefore,
} from '../../lib/domain/days.ts';

describe('UTC days and instants', () => {
  it('names a day by its UTC date, whatever the hour', () => {
    expect(dayKey(new Date('2026-03-02T23:59:59Z'))).toBe('20260302');
    expect(dayKey(new Date('2026-03-03T00:00:00Z'))).toBe('20260303');
    expect(new Date(dayStart('20260302')).toISOString()).toBe('2026-03-02T00:00:00.000Z');
  });

  it('keeps instants from 1970 to the end of 9999 only', () => {
    expect(isKeepableInstant(Date.parse('1970-01-01T00:00:00Z'))).toBe(true);
    expect(isKeepableInstant(Date.parse('9999-12-31T23:59:59.999Z'))).toBe(true);
    expect(isKeepableInstant(Date.parse('1969-12-31T23:59:59Z'))).toBe(false);
    expect(isKeepableInstant(Date.UTC(10_000, 0, 1))).toBe(false);
    expect(isKeepableInstant(Number.NaN)).toBe(false);
  });
});

describe('a trailing year', () => {
  it('starts at the same instant a calendar year earlier, and never before 1970', () => {
    expect(yearBefore(new Date('2026-03-02T10:11:12.013Z')).toISOString()).toBe(
      '2025-03-02T10:11:12.013Z',
    );
    // 29 February has no twin: the day after 28 February.
    expect(yearBefore(new Date('2028-02-29T00:00:00Z')).toISOString()).toBe(
      '2027-03-01T00:00:00.000Z',
    );
    expect(yearBefore(new Date('1970-06-01T00:00:00Z')).getTime()).toBe(0);
  });
});

describe('when a purchase may have occurred', () => {
  const now = new Date('2026-03-02T12:00:00Z');
  const at = (ms: number) => new Date(now.getTime() + ms);

  it('allows up to 5 minutes ahead of the clock, and no more', () => {
    expect(occurredAtProblem(at(5 * 60_000), now, 30)).toBeUndefined();
    expect(occurredAtProblem(at(5 * 60_000 + 1), now, 30)).toMatch(/future/);
    expect(occurredAtProblem(at(5 * 60_000 + 1), now, undefined)).toMatch(/future/);
  });

  it('allows maxBackdateDays back, and any time back without a limit (imports)', () => {
    expect(occurredAtProblem(at(-30 * DAY_MS), now, 30)).toBeUndefined();
    expect(occurredAtProblem(at(-30 * DAY_MS - 1), now, 30)).toMatch(/maxBackdateDays \(30\)/);
    expect(occurredAtProblem(at(-3000 * DAY_MS), now, undefined)).toBeUndefined();
  });
});
