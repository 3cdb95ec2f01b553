import { z } from 'zod';

const MAX_IDS = 1000;

/**
 * An id the poller looks up in PostgreSQL: text there cannot hold a NUL character, and a statement sent
 * with one fails every time, so the message would be redelivered forever instead of refused by name.
 */
const lookupId = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain a NUL character');

/**
 * A message on `deletion-poll`. `{}` does what is due; `customerIds`, `vendors`, `operationIds` force a
 * check of the matching deletions now, due or not (several filters narrow together); `reason` is logged;
 * `continuation` counts how many cycles in a row handed work on because their time budget ran out.
 */
export const PollMessageSchema = z.strictObject({
  customerIds: z.array(lookupId(1500)).min(1).max(MAX_IDS).optional(),
  vendors: z.array(lookupId(100)).min(1).max(50).optional(),
  operationIds: z.array(lookupId(2000)).min(1).max(MAX_IDS).optional(),
  reason: z.string().max(500).optional(),
  continuation: z.int().min(1).max(1_000_000).optional(),
});
export type PollMessage = z.infer<typeof PollMessageSchema>;

/** The forced part of a poll message, or null when it only asks for what is due. */
export interface ForcedPoll {
  customerIds?: string[];
  vendors?: string[];
  operationIds?: string[];
}

/** The forced filters of a message, or null for a plain "do what is due". */
export function forcedPollOf(message: PollMessage): ForcedPoll | null {
  const { customerIds, vendors, operationIds } = message;
  if (!customerIds && !vendors && !operationIds) return null;
  return {
    ...(customerIds ? { customerIds } : {}),
    ...(vendors ? { vendors } : {}),
    ...(operationIds ? { operationIds } : {}),
  };
}
