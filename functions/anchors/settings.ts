import { z } from 'zod';

/** Where the chain head is anchored and how often (README.md, "The event log's external anchors"). */
export const AnchorEnvSchema = z.object({
  /** Minutes between anchors of the chain head, on the poller's shared schedule; 0 turns anchoring off. */
  CHAIN_ANCHOR_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
  /** A Cloud Storage bucket with a retention policy (production). */
  ANCHOR_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a Cloud Storage bucket name (no gs://)')
    .optional(),
  /** Object name prefix in the bucket. */
  ANCHOR_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, 'must be empty or folder names each ending in /')
    .default('chain-head/'),
  /** A folder for anchor files (the local stack; a test). */
  ANCHOR_DIR: z.string().min(1).optional(),
});
export type AnchorEnv = z.output<typeof AnchorEnvSchema>;

/** Where anchors are kept: a bucket or a folder. */
export type AnchorTarget = { kind: 'gcs'; bucket: string; prefix: string } | { kind: 'file'; dir: string };

/**
 * The anchor settings; problems are pushed. `required`: this process writes anchors (the deployed poller), so
 * with anchoring on it must have somewhere to write them.
 */
export function anchorSettings(e: AnchorEnv, problems: string[], required: boolean): { intervalMs: number; target: AnchorTarget | undefined } {
  if (e.ANCHOR_BUCKET && e.ANCHOR_DIR) problems.push('ANCHOR_DIR: set ANCHOR_BUCKET or ANCHOR_DIR, not both');
  const target: AnchorTarget | undefined = e.ANCHOR_BUCKET
    ? { kind: 'gcs', bucket: e.ANCHOR_BUCKET, prefix: e.ANCHOR_PREFIX }
    : e.ANCHOR_DIR
      ? { kind: 'file', dir: e.ANCHOR_DIR }
      : undefined;
  if (required && e.CHAIN_ANCHOR_MINUTES > 0 && !target) {
    problems.push('ANCHOR_BUCKET: required by pollDeletions, which writes the event log\'s chain head outside the database (CHAIN_ANCHOR_MINUTES=0 turns that off)');
  }
  return { intervalMs: e.CHAIN_ANCHOR_MINUTES * 60_000, target };
}
