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
  'mass_refusal', // the same refusal across many deletions of one vendor: its submissions are held
  'deadline_at_risk', // the expected completion (the vendor's own date, or our forecast) falls after the deadline minus the margin
  'verification_failed', // a lookup after completion found the customer's data at the vendor
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Deletions listed in one email; the rest are counted in totalItems. */
export const MAX_ALERT_ITEMS = 500;

/** One affected deletion in an alert, as read back from the database when the email is sent. */
export const AlertItemSchema = z.object({
  deletionId: z.string(),
  customerId: z.string(),
  vendor: z.string(),
  operationId: z.string().nullable(),
  state: z.string(),
  /** When the condition began for this item (submitted, last status change, the call that met a drift, …). */
  since: z.iso.datetime({ offset: true }),
  deadlineAt: z.iso.datetime({ offset: true }).nullable(),
  detail: z.string().optional(),
});
export type AlertItem = z.infer<typeof AlertItemSchema>;

/**
 * One alert as stored in PostgreSQL (tables `alert` and `alert_item`) and rendered as one email. `alertId` is a
 * random UUID made when the alert is raised, so nobody can know it before the alert exists.
 */
export const AlertSchema = z.object({
  alertId: z.uuid(),
  kind: z.enum(ALERT_KINDS),
  vendor: z.string().nullable(),
  /** The incident this alert belongs to (stable across escalations). */
  incidentKey: z.string().min(1).max(300),
  /** 0 for the first email about the incident, then 1, 2, … on the escalation schedule. */
  escalation: z.number().int().min(0),
  raisedAt: z.iso.datetime({ offset: true }),
  /** When the incident began. */
  since: z.iso.datetime({ offset: true }),
  summary: z.string().min(1),
  /** For contract violations and credential failures: what was wrong, with a secret-free sample; for a quota: its use and reset. */
  detail: z.string().optional(),
  items: z.array(AlertItemSchema).max(MAX_ALERT_ITEMS),
  /** Items affected in all (items may be truncated to keep the email readable). */
  totalItems: z.number().int().min(0),
});
export type Alert = z.infer<typeof AlertSchema>;

/**
 * The message on topic `deletion-alerts`: a reference and nothing else. Anyone able to publish to the topic
 * could write any text into a message, so `sendAlert` reads the alert, its deletions and its text from the
 * database by this id; an id the database does not hold sends nothing.
 */
export const AlertMessageSchema = z.object({ alertId: z.uuid() }).strict();
export type AlertMessage = z.infer<typeof AlertMessageSchema>;
