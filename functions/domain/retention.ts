import { z } from 'zod';

/**
 * Retention of customer ids in our own records (README.md, "Personal data and retention"): RETENTION_DAYS after a
 * request finished its customer id is replaced by a keyed pseudonym everywhere it is kept; RETENTION_PURGE_DAYS
 * after it finished the pseudonym goes too. Both are on by default; each is turned off only by saying so
 * (`off`), never by leaving a variable out.
 */
export const RETENTION_DEFAULT_DAYS = 30;
export const RETENTION_PURGE_DEFAULT_DAYS = 365;

/** `off`, or a whole number of days (1 to 100 years). */
const daysOrOff = (variable: string) =>
  z
    .string()
    .trim()
    .transform((s, ctx): number | 'off' => {
      if (s.toLowerCase() === 'off') return 'off';
      const n = Number(s);
      if (s === '0') {
        ctx.issues.push({ code: 'custom', input: s, message: `0 is not a retention period: set ${variable}=off to keep customer ids (and say why in the deployment)` });
        return z.NEVER;
      }
      if (!/^\d+$/.test(s) || n < 1 || n > 36_500) {
        ctx.issues.push({ code: 'custom', input: s, message: 'must be a whole number of days from 1 to 36500, or off' });
        return z.NEVER;
      }
      return n;
    });

/** The retention variables, read by config.ts with the others. */
export const RetentionEnvSchema = z.object({
  RETENTION_DAYS: daysOrOff('RETENTION_DAYS').optional(),
  RETENTION_PURGE_DAYS: daysOrOff('RETENTION_PURGE_DAYS').optional(),
  RETENTION_KEY: z.string().min(32, 'must be at least 32 characters (a random secret)').optional(),
});
export type RetentionEnv = z.output<typeof RetentionEnvSchema>;

/** What retention does: after how many days each stage runs (null: that stage is off). */
export interface RetentionPeriods {
  days: number | null;
  purgeDays: number | null;
}

/** The periods the variables ask for, with the defaults; problems are pushed, not thrown. */
export function retentionPeriods(e: RetentionEnv, problems: string[]): RetentionPeriods {
  const days = e.RETENTION_DAYS === 'off' ? null : (e.RETENTION_DAYS ?? RETENTION_DEFAULT_DAYS);
  // The purge works on pseudonymised requests only: without the first stage there is nothing for it to do.
  // Unset, the purge comes at 365 days, or at twice RETENTION_DAYS when that is longer.
  const purgeDays =
    days === null || e.RETENTION_PURGE_DAYS === 'off' ? null : (e.RETENTION_PURGE_DAYS ?? Math.max(RETENTION_PURGE_DEFAULT_DAYS, 2 * days));
  if (days !== null && purgeDays !== null && purgeDays <= days) {
    problems.push(`RETENTION_PURGE_DAYS: must be more than RETENTION_DAYS (${days}): the pseudonym is dropped after the id is replaced`);
  }
  return { days, purgeDays };
}
