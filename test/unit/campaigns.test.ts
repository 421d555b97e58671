import { describe, expect, it } from 'vitest';
import {
  type Campaign,
  MAX_OVERLAPPING_CAMPAIGNS,
  roomFor,
  runsOnDay,
  WINDOW_CLASS_DAYS,
  windowClass,
} from '../../lib/domain/campaigns.ts';
import { newCustomer } from '../../lib/domain/customer.ts';
import { PointsChange } from '../../lib/domain/pointsChange.ts';
import { defaultProgram } from '../../lib/domain/program.ts';

const DAY = 86_400_000;
const t0 = Date.parse('2026-01-05T00:00:00.000Z'); // a Monday
const at = (days: number) => new Date(t0 + days * DAY).toISOString();
const campaign = (id: string, from: number, to: number | null, extra: Partial<Campaign> = {}) =>
  ({
    id,
    name: id,
    type: 'bonus',
    points: 1,
    startsAt: at(from),
    endsAt: to === null ? null : at(to),
    createdAt: at(0),
    ...extra,
  }) as Campaign;

describe('how many campaigns may run at once', () => {
  it('counts those running at one instant, not all that overlap the window', () => {
    // 30 back-to-back weekly promos: never more than one at a time.
    const weekly = Array.from({ length: 30 }, (_, i) => campaign(`w${i}`, i * 7, i * 7 + 7));
    expect(roomFor(campaign('year', 0, 365), weekly)).toBe(true);
    expect(roomFor(campaign('open', 0, null), weekly)).toBe(true);
  });

  it(`refuses the one that would run beside ${MAX_OVERLAPPING_CAMPAIGNS} others`, () => {
    const same = Array.from({ length: MAX_OVERLAPPING_CAMPAIGNS }, (_, i) =>
      campaign(`s${i}`, 10, 20),
    );
    expect(roomFor(campaign('x', 0, 11), same)).toBe(false);
    expect(roomFor(campaign('x', 0, 10), same)).toBe(true); // ends as they start: no overlap
    expect(roomFor(campaign('x', 20, null), same)).toBe(true);
    expect(roomFor(campaign('x', 0, 11), same.slice(1))).toBe(true);
    // Itself, as it was before a PATCH, is not one of the others.
    expect(roomFor(campaign('s0', 10, 30), same)).toBe(true);
  });
});

describe('the window class of a campaign', () => {
  it('is the first whose span holds its length; without an end, the last', () => {
    expect(windowClass(campaign('a', 0, 1))).toBe(0);
    expect(windowClass(campaign('b', 0, 1.5))).toBe(1);
    expect(windowClass(campaign('c', 0, 8))).toBe(1);
    expect(windowClass(campaign('d', 0, 9))).toBe(2);
    expect(windowClass(campaign('e', 0, 365))).toBe(3);
    expect(windowClass(campaign('f', 0, 3_650))).toBe(4);
    expect(windowClass(campaign('g', 0, null))).toBe(WINDOW_CLASS_DAYS.length - 1);
    // 1970 to 9999, the longest window an instant allows, has a class.
    const longest = { startsAt: '1970-01-01T00:00:00.000Z', endsAt: '9999-12-31T23:59:59.999Z' };
    expect(windowClass(longest)).toBe(WINDOW_CLASS_DAYS.length - 1);
  });
});

describe('a campaign on a UTC day', () => {
  it('runs on the day if its window touches any moment of it, on its weekdays', () => {
    const day = new Date(at(2)); // Wednesday
    expect(runsOnDay(campaign('a', 2.9, 5), day)).toBe(true);
    expect(runsOnDay(campaign('a', 0, 2), day)).toBe(false);
    expect(runsOnDay(campaign('a', 3, 5), day)).toBe(false);
    expect(runsOnDay(campaign('a', 0, null, { daysOfWeek: [3] }), day)).toBe(true);
    expect(runsOnDay(campaign('a', 0, null, { daysOfWeek: [1, 2] }), day)).toBe(false);
  });
});

describe('a birthday', () => {
  const born = () =>
    ({
      ...newCustomer('cus_b', { birthDate: '--01-07' }, defaultProgram, new Date(at(0))),
    }) as ReturnType<typeof newCustomer>;
  const birthday = campaign('bday', 0, null, { type: 'birthday', points: 300 });

  it('waits for the day to end before passing over a birthday with nothing to credit', () => {
    const morning = new PointsChange(born(), defaultProgram, new Date(at(2.01)));
    expect(morning.birthday([])).toBe(0);
    expect(morning.changed).toBe(false);
    const afterDay = new PointsChange(born(), defaultProgram, new Date(at(3)));
    expect(afterDay.birthday([])).toBe(0);
    expect(afterDay.changed).toBe(true);
    expect(afterDay.customer.birthdayAt).toBe('2027-01-07T00:00:00.000Z');
  });

  it('credits each birthday campaign of the day once, and then waits a year', () => {
    const change = new PointsChange(born(), defaultProgram, new Date(at(2.5)));
    expect(
      change.birthday([birthday, campaign('late', 2.9, 4, { type: 'birthday', points: 5 })]),
    ).toBe(305);
    expect(change.customer.available).toBe(305);
    expect(change.entries.map((e) => e.entry.type)).toEqual(['bonus', 'bonus']);
    const again = new PointsChange(change.customer, defaultProgram, new Date(at(2.9)));
    expect(again.birthday([birthday])).toBe(0);
    expect(again.changed).toBe(false);
  });
});
