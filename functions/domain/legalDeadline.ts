import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import {
  addBusinessDays,
  addCalendarDays,
  addCalendarMonths,
  endOfLocalDay,
  isLocalDate,
  isTimeZone,
  localDateOf,
  nextBusinessDayFrom,
  type LocalDate,
} from './legalTime.js';
import { DutySchema, REGIMES, RegimeIdSchema, dutyRule, type Duty, type DutyRule, type LegalSource, type Period, type RegimeId } from './regimes.js';

/** How a deadline is computed for one request: zone, duty and the holidays the operator observes. */
export const DeadlineOptionsSchema = z
  .object({
    /** IANA zone whose calendar days the period counts; default: the regime's. */
    timeZone: z.string().refine(isTimeZone, { message: 'must be an IANA time zone such as Europe/Helsinki' }).optional(),
    /** Which clock; default `erasure`. */
    duty: DutySchema.optional(),
    /** Public holidays (`YYYY-MM-DD`) that are not business or working days; default none. */
    holidays: z.array(z.string().refine(isLocalDate, { message: 'must be a date YYYY-MM-DD' })).optional(),
  })
  .strict();
export type DeadlineOptions = z.infer<typeof DeadlineOptionsSchema>;

/** A computed deadline with what it was computed from, for the event log and the report. */
export interface LegalDeadline {
  regime: RegimeId;
  duty: Duty;
  timeZone: string;
  /** The local day the request was received on. */
  receivedOn: LocalDate;
  /** The last local day of the period. */
  lastDay: LocalDate;
  /** The first instant after the period: at or after it, the deadline is missed. */
  expiresAt: Date;
  extended: boolean;
  summary: string;
  source: LegalSource;
}

export type ExtensionDecision =
  | { allowed: true; noticeBy: Date; initial: LegalDeadline; extended: LegalDeadline }
  | { allowed: false; code: 'no_extension' | 'already_extended' | 'notice_window_closed'; reason: string };

interface Resolved {
  regime: RegimeId;
  duty: Duty;
  rule: DutyRule;
  timeZone: string;
  holidays: ReadonlySet<LocalDate>;
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
}

function resolve(regime: RegimeId, receivedAt: Date, options: DeadlineOptions | undefined): Resolved {
  const id = RegimeIdSchema.safeParse(regime);
  if (!id.success) throw new InvalidInputError(`unknown legal regime ${JSON.stringify(regime)}; known: ${RegimeIdSchema.options.join(', ')}`);
  if (!(receivedAt instanceof Date) || Number.isNaN(receivedAt.getTime())) throw new InvalidInputError('receivedAt must be a valid Date');
  const parsed = DeadlineOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw new InvalidInputError(`invalid deadline options: ${issues(parsed.error)}`);
  const duty = parsed.data.duty ?? 'erasure';
  const rule = dutyRule(id.data, duty);
  if (!rule) throw new InvalidInputError(`${REGIMES[id.data].name} sets no separate time limit for ${duty}`);
  return {
    regime: id.data,
    duty,
    rule,
    timeZone: parsed.data.timeZone ?? REGIMES[id.data].defaultTimeZone,
    holidays: new Set(parsed.data.holidays ?? []),
  };
}

/** The last day of a period of `period` that runs from the day of receipt. */
function lastDayOf(r: Resolved, receivedOn: LocalDate, period: Period): LocalDate {
  // A period that counts the day of receipt ends one day earlier than one that starts the day after.
  const shift = r.rule.receiptDayCounts ? -1 : 0;
  let last: LocalDate;
  switch (period.unit) {
    case 'months':
      last = addCalendarDays(addCalendarMonths(receivedOn, period.count), shift);
      break;
    case 'days':
      last = addCalendarDays(receivedOn, period.count + shift);
      break;
    case 'business_days':
      if (r.rule.receiptDayCounts) throw new RangeError('a business-day period counting the day of receipt is not modelled');
      last = addBusinessDays(receivedOn, period.count, r.holidays);
      break;
  }
  return r.rule.rollsOverNonWorkingDay ? nextBusinessDayFrom(last, r.holidays) : last;
}

/**
 * The last day and expiry by the day of receipt: every request received on one local day shares them, and the
 * calendar arithmetic (time zones, month ends, holidays) costs far more than the lookup (it was a tenth of the
 * ingest's CPU at a mass revocation). Bounded: emptied when it holds DAYS_KEPT entries.
 */
const byDay = new Map<string, { lastDay: LocalDate; expiresAt: Date }>();
const DAYS_KEPT = 1_000;

function build(r: Resolved, receivedAt: Date, period: Period, extended: boolean): LegalDeadline {
  const receivedOn = localDateOf(receivedAt, r.timeZone);
  const key = [r.regime, r.duty, r.timeZone, [...r.holidays].sort().join(','), receivedOn, period.unit, period.count].join('|');
  let day = byDay.get(key);
  if (!day) {
    const lastDay = lastDayOf(r, receivedOn, period);
    day = { lastDay, expiresAt: endOfLocalDay(lastDay, r.timeZone) };
    if (byDay.size >= DAYS_KEPT) byDay.clear();
    byDay.set(key, day);
  }
  const { lastDay } = day;
  return {
    regime: r.regime,
    duty: r.duty,
    timeZone: r.timeZone,
    receivedOn,
    lastDay,
    expiresAt: new Date(day.expiresAt.getTime()),
    extended,
    summary: r.rule.summary,
    source: extended && r.rule.extension ? r.rule.extension.source : r.rule.source,
  };
}

/** The legal deadline of a request received at `receivedAt` under `regime` (default duty: erasure). */
export function deadlineFor(regime: RegimeId, receivedAt: Date, options?: DeadlineOptions): LegalDeadline {
  const r = resolve(regime, receivedAt, options);
  return build(r, receivedAt, r.rule.period, false);
}

/** The deadline once the regime's one extension is taken; throws when the duty has no extension. */
export function extendedDeadline(regime: RegimeId, receivedAt: Date, options?: DeadlineOptions): LegalDeadline {
  const r = resolve(regime, receivedAt, options);
  const ext = r.rule.extension;
  if (!ext) throw new InvalidInputError(`${REGIMES[r.regime].name} allows no extension for ${r.duty}`);
  if (ext.by.unit !== r.rule.period.unit) throw new RangeError(`extension unit ${ext.by.unit} differs from period unit ${r.rule.period.unit}`);
  return build(r, receivedAt, { unit: ext.by.unit, count: r.rule.period.count + ext.by.count }, true);
}

/**
 * Whether the regime's extension may still be taken at `now`: only once, and only while the initial
 * period runs (the person must be told, with reasons, inside it). Refusals say why.
 */
export function extensionAllowed(
  regime: RegimeId,
  receivedAt: Date,
  now: Date,
  options?: DeadlineOptions & { alreadyExtended?: boolean },
): ExtensionDecision {
  const { alreadyExtended = false, ...rest } = options ?? {};
  const r = resolve(regime, receivedAt, rest);
  const name = REGIMES[r.regime].name;
  if (!r.rule.extension) {
    return { allowed: false, code: 'no_extension', reason: `${name} allows no extension for ${r.duty} (${r.rule.source.citation})` };
  }
  if (alreadyExtended) {
    return { allowed: false, code: 'already_extended', reason: `the deadline under ${name} was already extended; it may be extended only once` };
  }
  const initial = build(r, receivedAt, r.rule.period, false);
  if (now.getTime() >= initial.expiresAt.getTime()) {
    return {
      allowed: false,
      code: 'notice_window_closed',
      reason: `notice of an extension had to be given by the end of ${initial.lastDay} (${r.timeZone}), the last day of the initial period (${r.rule.extension.source.citation})`,
    };
  }
  return { allowed: true, noticeBy: initial.expiresAt, initial, extended: extendedDeadline(regime, receivedAt, rest) };
}
