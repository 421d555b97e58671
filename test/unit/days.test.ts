import { describe, expect, it } from 'vitest';
import { dayKey, dayStart, isKeepableInstant } from '../../lib/domain/days.ts';

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
