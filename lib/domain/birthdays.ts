/**
 * Birthdays: `YYYY-MM-DD` or `--MM-DD` (the year is optional). A birthday is the UTC day
 * of that month and day; 29 February is kept on 28 February in other years.
 */
import { DAY_MS } from './days.ts';

/** A birthday credited this many days late at most (a job that did not run for a while). */
export const BIRTHDAY_GRACE_DAYS = 7;

const monthDay = (birthDate: string): [number, number] => {
  const [month, day] = birthDate.slice(-5).split('-').map(Number) as [number, number];
  return [month, day];
};

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Whether a birth date names a real month and day (29 February included). */
export function isBirthDate(s: string): boolean {
  const m = /^(\d{4}|-)-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [month, day] = [Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  const year = m[1] === '-' ? 2000 : Number(m[1]);
  if (m[1] !== '-' && (year < 1900 || year > 9999)) return false;
  const days = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= (days[month - 1] as number);
}

/** The start (00:00 UTC) of the birthday in `year`. */
export function birthdayIn(birthDate: string, year: number): Date {
  const [month, day] = monthDay(birthDate);
  const d = month === 2 && day === 29 && !isLeap(year) ? 28 : day;
  return new Date(Date.UTC(year, month - 1, d));
}

/**
 * When the next birthday to credit starts: the one after the year last credited, or the
 * first on or after the day of enrolment.
 */
export function nextBirthdayAt(
  birthDate: string,
  creditedYear: number | undefined,
  createdAt: string,
): string {
  if (creditedYear !== undefined) return birthdayIn(birthDate, creditedYear + 1).toISOString();
  const created = new Date(createdAt);
  const dayStart = Date.UTC(created.getUTCFullYear(), created.getUTCMonth(), created.getUTCDate());
  const year = created.getUTCFullYear();
  const thisYear = birthdayIn(birthDate, year);
  return (
    thisYear.getTime() >= dayStart ? thisYear : birthdayIn(birthDate, year + 1)
  ).toISOString();
}

/** Whether a birthday starting at `birthdayAt` may still be credited at `asOf`. */
export const birthdayStillDue = (birthdayAt: string, asOf: Date): boolean =>
  asOf.getTime() < Date.parse(birthdayAt) + BIRTHDAY_GRACE_DAYS * DAY_MS;
