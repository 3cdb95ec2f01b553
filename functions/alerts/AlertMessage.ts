import { z } from 'zod';

/** What an alert is about. Each kind has its own text and advice in the email. */
export const ALERT_KINDS = [
  'stale', // past the vendor's expected completion time
  'no_progress', // status unchanged for longer than the vendor's no-progress limit
  'failed', // vendor reported failure after the configured resubmissions, or a permanent rejection
  'deadline_warning', // legal deadline within the warning window and not completed
  'deadline_missed', // legal deadline passed and not completed
  'contract_violation', // vendor answered in an undocumented shape
  'credential_rejected', // vendor answered 401/403
  'quota_low', // a vendor's monthly subject quota is nearly spent (at the configured share)
  'quota_exhausted', // a vendor's monthly subject quota is spent: its deletions wait for the next month
  'deadline_at_risk', // the expected completion (the vendor's own date, or our forecast) falls after the deadline minus the margin
  'verification_failed', // a lookup after completion found the customer's data at the vendor
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** One affected deletion in an alert digest. */
export const AlertItemSchema = z.object({
  deletionId: z.string(),
  customerId: z.string(),
  vendor: z.string(),
  operationId: z.string().nullable(),
  state: z.string(),
  /** When the condition began for this item (submitted, last status change, …). */
  since: z.iso.datetime({ offset: true }),
  deadlineAt: z.iso.datetime({ offset: true }).nullable(),
  detail: z.string().optional(),
});
export type AlertItem = z.infer<typeof AlertItemSchema>;

/**
 * The message on topic `deletion-alerts`: one email's worth. `alertId` is unique per incident and
 * escalation step, so a redelivered message is sent once.
 */
export const AlertMessageSchema = z
  .object({
    alertId: z.string().min(1).max(200),
    kind: z.enum(ALERT_KINDS),
    vendor: z.string().nullable(),
    /** The incident this alert belongs to (stable across escalations). */
    incidentKey: z.string().min(1),
    /** 0 for the first email about the incident, then 1, 2, … on the escalation schedule. */
    escalation: z.number().int().min(0),
    raisedAt: z.iso.datetime({ offset: true }),
    /** When the incident began. */
    since: z.iso.datetime({ offset: true }),
    summary: z.string().min(1),
    /** For contract violations and credential failures: what was wrong, with a secret-free sample; for a quota: its use and reset. */
    detail: z.string().optional(),
    items: z.array(AlertItemSchema).max(500),
    /** Items affected in all (items may be truncated to keep the email readable). */
    totalItems: z.number().int().min(0),
  })
  .strict();
export type AlertMessage = z.infer<typeof AlertMessageSchema>;
