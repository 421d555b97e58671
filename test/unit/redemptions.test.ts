import { describe, expect, it } from 'vitest';
import {
  codeFailureMinute,
  holdExpiresAt,
  holdLapsed,
  secondsToNextMinute,
} from '../../lib/domain/redemptions.ts';

describe('holds', () => {
  const now = new Date('2026-03-02T12:00:00.000Z');

  it('last holdMinutes, and lapse at their expiry, not a millisecond before', () => {
    const expiresAt = holdExpiresAt(now, 15).toISOString();
    expect(expiresAt).toBe('2026-03-02T12:15:00.000Z');
    const r = { status: 'authorized', expiresAt };
    expect(holdLapsed(r, new Date(Date.parse(expiresAt) - 1))).toBe(false);
    expect(holdLapsed(r, new Date(expiresAt))).toBe(true);
  });

  it('lapse only while authorized', () => {
    const expiresAt = now.toISOString();
    for (const status of ['captured', 'voided', 'expired']) {
      expect(holdLapsed({ status, expiresAt }, new Date(now.getTime() + 60_000))).toBe(false);
    }
  });
});

describe('the wrong-code limit', () => {
  it('counts per minute and tells the seconds to the next one (1..60)', () => {
    const minute = Date.parse('2026-03-02T12:00:00.000Z');
    expect(codeFailureMinute(new Date(minute + 59_999))).toBe(codeFailureMinute(new Date(minute)));
    expect(codeFailureMinute(new Date(minute + 60_000))).toBe(
      codeFailureMinute(new Date(minute)) + 1,
    );
    expect(secondsToNextMinute(new Date(minute))).toBe(60);
    expect(secondsToNextMinute(new Date(minute + 17_000))).toBe(43);
    expect(secondsToNextMinute(new Date(minute + 59_500))).toBe(1);
  });
});
