import { describe, expect, it } from 'vitest';
import { expiringSoon, lastExpiredDay, lotExpiresAt } from '../../lib/domain/lots.ts';

const at = (iso: string) => new Date(iso);

describe('lots and their expiry', () => {
  it('expire at the end of the UTC day pointsExpireAfterDays later', () => {
    expect(lotExpiresAt('20260131', 30).toISOString()).toBe('2026-03-03T00:00:00.000Z');
    expect(lastExpiredDay(at('2026-03-03T00:00:00Z'), 30)).toBe('20260131');
    expect(lastExpiredDay(at('2026-03-02T23:59:59Z'), 30)).toBe('20260130');
  });

  it('show the oldest lot as expiring soon only within 30 days, and never without expiry', () => {
    const lots = { '20260210': 30, '20260201': 100 };
    // The oldest lot (1 Feb) expires at the end of 3 Mar with a 30-day expiry.
    expect(expiringSoon(lots, 30, at('2026-02-02T00:00:00Z'))).toEqual({
      points: 100,
      expiresAt: '2026-03-04T00:00:00.000Z',
    });
    expect(expiringSoon(lots, 60, at('2026-02-02T00:00:00Z'))).toBeNull();
    expect(expiringSoon(lots, null, at('2026-02-02T00:00:00Z'))).toBeNull();
    expect(expiringSoon({}, 30, at('2026-02-02T00:00:00Z'))).toBeNull();
  });
});
