import { z } from 'zod';

/**
 * A `callback_received` event's detail as receiveDeletionCallback stores it (services/receiveCallback.ts), read
 * back for the timeline, the report and `verify-log`. Older or foreign details fail the schema and are shown as
 * not verifiable, never guessed at.
 */
export const CallbackEventDetailSchema = z
  .object({
    verified: z.boolean(),
    status: z.string(),
    requestStatus: z.string(),
    subjectRequestId: z.string(),
    processorDomain: z.string(),
    // The bulky parts are optional so that summaries can be read without them (the report leaves them out).
    signature: z.string().optional(),
    signatureAlgorithm: z.string(),
    certificate: z.object({ subject: z.string(), issuer: z.string(), fingerprint256: z.string(), validFrom: z.string(), validTo: z.string() }).loose(),
    certificatePem: z.string().nullable().optional(),
    bodySha256: z.string(),
    body: z.string().optional(),
    receivedAt: z.string(),
  })
  .loose();
export type CallbackEventDetail = z.infer<typeof CallbackEventDetailSchema>;

/** What the timeline and the report show of one callback. */
export interface CallbackSummary {
  receivedAt: string;
  status: string;
  processorDomain: string;
  signatureVerified: boolean;
  signatureAlgorithm: string;
  certificateSubject: string;
  certificateFingerprint: string;
}

/** The summary of a stored callback, or null when the detail is not one. */
export function summarizeCallback(detail: unknown): CallbackSummary | null {
  const d = CallbackEventDetailSchema.safeParse(detail);
  if (!d.success) return null;
  return {
    receivedAt: d.data.receivedAt,
    status: d.data.status,
    processorDomain: d.data.processorDomain,
    signatureVerified: d.data.verified,
    signatureAlgorithm: d.data.signatureAlgorithm,
    certificateSubject: d.data.certificate.subject,
    certificateFingerprint: d.data.certificate.fingerprint256,
  };
}

/** One line for a terminal: status, processor, signature and certificate. */
export function describeCallback(s: CallbackSummary): string {
  return `${s.status} from ${s.processorDomain}, signature ${s.signatureAlgorithm} ${s.signatureVerified ? 'verified' : 'NOT verified'}, certificate ${s.certificateSubject} (SHA-256 ${s.certificateFingerprint})`;
}
