import { DAY } from '../clock.js';

export type DeadlineStatus =
  | { kind: 'ok'; daysLeft: number }
  | { kind: 'deadline_warning'; since: Date; daysLeft: number }
  | { kind: 'deadline_missed'; since: Date };

/** The legal deadline of a revocation: `days` after consent was withdrawn. */
export function deadlineFor(revokedAt: Date, days: number): Date {
  return new Date(revokedAt.getTime() + days * DAY);
}

/**
 * Where an unfinished deletion stands against its legal deadline: within `warningDays` of it is a
 * warning, at or past it is missed. Days left are rounded up so "0.2 days" reads as 1.
 */
export function deadlineStatus(deadlineAt: Date, warningDays: number, now: Date): DeadlineStatus {
  const left = deadlineAt.getTime() - now.getTime();
  if (left <= 0) return { kind: 'deadline_missed', since: deadlineAt };
  const daysLeft = Math.ceil(left / DAY);
  const warnFrom = new Date(deadlineAt.getTime() - warningDays * DAY);
  if (now.getTime() >= warnFrom.getTime()) return { kind: 'deadline_warning', since: warnFrom, daysLeft };
  return { kind: 'ok', daysLeft };
}
