import { DateTime, IANAZone } from 'luxon';

/**
 * Calendar arithmetic for legal time limits. Every period here counts whole calendar days in one named
 * time zone (a law's "day" is a local day, not 24 hours), so DST changes never move a deadline, and a
 * period ends at the end of its last day: the instant returned is the first instant after the period
 * (local midnight starting the next day), so "now >= expiresAt" reads as "the period has run out".
 */

/** A local calendar date, `YYYY-MM-DD`. */
export type LocalDate = string;

const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real IANA zone name (`Europe/Helsinki`), false for offsets or unknown names. */
export function isTimeZone(name: string): boolean {
  return IANAZone.isValidZone(name) && name.includes('/');
}

/** True for a real calendar date in `YYYY-MM-DD` form. */
export function isLocalDate(value: string): boolean {
  return LOCAL_DATE.test(value) && DateTime.fromISO(value, { zone: 'UTC' }).isValid;
}

function day(date: LocalDate, timeZone: string): DateTime {
  const d = DateTime.fromISO(date, { zone: timeZone });
  if (!d.isValid || !LOCAL_DATE.test(date)) throw new RangeError(`not a calendar date: ${date}`);
  return d.startOf('day');
}

function toLocal(d: DateTime): LocalDate {
  return d.toISODate() as LocalDate;
}

/** The calendar date an instant falls on in a zone. */
export function localDateOf(at: Date, timeZone: string): LocalDate {
  const t = at.getTime();
  if (Number.isNaN(t)) throw new RangeError('not a valid instant');
  // Since the 1970s every zone's offset from UTC is a whole number of quarter hours (and so is every change of
  // it), so all the instants of one UTC quarter hour fall on the same local day: the last quarter hour asked for
  // is remembered. (Older local mean times, such as Amsterdam's +00:19:32, are not cached.)
  const quarter = t >= QUARTERS_FROM ? Math.floor(t / QUARTER_HOUR_MS) : NaN;
  const last = lastDay.get(timeZone);
  if (last && last.quarter === quarter) return last.date;
  const parts = dateFormat(timeZone).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const date = `${part('year').padStart(4, '0')}-${part('month')}-${part('day')}`;
  lastDay.set(timeZone, { quarter, date });
  return date;
}

const QUARTER_HOUR_MS = 15 * 60_000;
const QUARTERS_FROM = Date.UTC(1980, 0, 1);
const lastDay = new Map<string, { quarter: number; date: LocalDate }>();

/**
 * One formatter per zone (building one costs far more than using it; the ingest asks for the day of every
 * revocation). The Gregorian calendar and Latin digits whatever the process's locale.
 */
const formats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    if (!IANAZone.isValidZone(timeZone)) throw new RangeError(`not a time zone: ${timeZone}`);
    f = new Intl.DateTimeFormat('en-US', { timeZone, calendar: 'gregory', numberingSystem: 'latn', year: 'numeric', month: '2-digit', day: '2-digit' });
    formats.set(timeZone, f);
  }
  return f;
}

/** The first instant after the given local day (the instant a period ending that day expires). */
export function endOfLocalDay(date: LocalDate, timeZone: string): Date {
  return day(date, timeZone).plus({ days: 1 }).startOf('day').toJSDate();
}

/** The date `days` calendar days after `date`. */
export function addCalendarDays(date: LocalDate, days: number): LocalDate {
  return toLocal(day(date, 'UTC').plus({ days }));
}

/**
 * The date `months` calendar months after `date`, on the same day of the month, or on the last day of
 * the last month when that month has no such day (31 January + 1 month → 28 or 29 February). This is
 * Regulation 1182/71 Art. 3(2)(c); Luxon's month addition clamps the same way.
 */
export function addCalendarMonths(date: LocalDate, months: number): LocalDate {
  return toLocal(day(date, 'UTC').plus({ months }));
}

/** Saturday or Sunday. */
export function isWeekend(date: LocalDate): boolean {
  return day(date, 'UTC').weekday >= 6;
}

/** A weekday that is not in the given holiday list. */
export function isBusinessDay(date: LocalDate, holidays: ReadonlySet<LocalDate> = new Set()): boolean {
  return !isWeekend(date) && !holidays.has(date);
}

/**
 * The `count`th business day after `date` (the start date itself is never counted, whatever it is):
 * received on a Friday, business day 1 is the Monday.
 */
export function addBusinessDays(date: LocalDate, count: number, holidays: ReadonlySet<LocalDate> = new Set()): LocalDate {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`business days must be a whole number ≥ 0, got ${count}`);
  let current = date;
  let left = count;
  while (left > 0) {
    current = addCalendarDays(current, 1);
    if (isBusinessDay(current, holidays)) left -= 1;
  }
  return current;
}

/** `date` itself when it is a business day, else the next business day (1182/71 Art. 3(4)). */
export function nextBusinessDayFrom(date: LocalDate, holidays: ReadonlySet<LocalDate> = new Set()): LocalDate {
  let current = date;
  while (!isBusinessDay(current, holidays)) current = addCalendarDays(current, 1);
  return current;
}
