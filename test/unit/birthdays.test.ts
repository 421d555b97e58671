import { describe, expect, it } from 'vitest';
import {
  birthdayIn,
  birthdayStillDue,
  isBirthDate,
  nextBirthdayAt,
} from '../../lib/domain/birthdays.ts';

describe('birthdays', () => {
  it('accepts real dates, with or without a year', () => {
    for (const ok of ['1990-06-15', '--06-15', '2000-02-29', '--02-29', '1990-12-31']) {
      expect(isBirthDate(ok), ok).toBe(true);
    }
    for (const bad of [
      '1990-02-30',
      '2001-02-29',
      '--13-01',
      '--00-10',
      '1990-1-01',
      '0990-01-01',
      'x',
    ]) {
      expect(isBirthDate(bad), bad).toBe(false);
    }
  });

  it('keeps 29 February on 28 February in other years', () => {
    expect(birthdayIn('--02-29', 2028).toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(birthdayIn('2000-02-29', 2027).toISOString()).toBe('2027-02-28T00:00:00.000Z');
  });

  it('is due first on the first birthday from the day of enrolment, then yearly', () => {
    expect(nextBirthdayAt('--06-15', undefined, '2026-06-15T23:00:00Z')).toBe(
      '2026-06-15T00:00:00.000Z',
    );
    expect(nextBirthdayAt('--06-15', undefined, '2026-06-16T00:00:00Z')).toBe(
      '2027-06-15T00:00:00.000Z',
    );
    expect(nextBirthdayAt('--06-15', 2026, '2020-01-01T00:00:00Z')).toBe(
      '2027-06-15T00:00:00.000Z',
    );
  });

  it('is credited up to 7 days late, not later', () => {
    const at = '2026-06-15T00:00:00.000Z';
    expect(birthdayStillDue(at, new Date('2026-06-21T23:59:59Z'))).toBe(true);
    expect(birthdayStillDue(at, new Date('2026-06-22T00:00:00Z'))).toBe(false);
  });
});
