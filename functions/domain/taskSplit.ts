import { z } from 'zod';

/**
 * Splitting a failed shared job. Some vendors fail a whole job for one bad identifier (Mixpanel: "any incorrect
 * identifiers … will result in inability to process the request"), so resubmitting the job whole would fail it
 * again, and 1,998 good customers with it. Instead the job's operations are split in two halves by their position
 * in the job, each half resubmitted as a job of its own; a half that fails again is split again. Each level is one
 * submission per half, and a job of one operation that fails names its bad identifier: after ⌈log2 n⌉ levels at
 * most, n customers cost at most 1 + 2·⌈log2 n⌉ creates for one bad identifier (1,999 → 23), the good ones
 * completing on the way.
 *
 * The decision is made per operation from its own position, so every operation of a job lands in the same half
 * whichever poller, claim or batch reads it; nothing needs all of the job's rows at once.
 */

/** Where an operation sits in a shared job: its position among the job's `subjects` identifiers. */
export interface JobPosition {
  /** The job's id at the vendor. */
  job: string;
  /** 0-based position of this operation's identifier in the job. */
  index: number;
  /** How many identifiers the job held. */
  subjects: number;
  /** The failed jobs this one was split from, oldest first (empty for a first submission). */
  lineage: readonly string[];
}

/** The part of a failed job an operation is resubmitted in: every operation with the same `group` goes in one new job. */
export const ResubmitPartSchema = z.object({
  /** `<failed job>#<part>`: the key the poller batches queued rows by. */
  group: z.string().min(1),
  /** 0 for the first half, 1 for the second. */
  part: z.number().int().min(0),
  parts: z.number().int().min(2),
  /** How many identifiers the part holds. */
  subjects: z.number().int().min(1),
  /** The failed job split. */
  from: z.string().min(1),
  /** Every failed job on the way here, oldest first, ending with `from`. */
  lineage: z.array(z.string().min(1)).min(1),
});
export type ResubmitPart = z.infer<typeof ResubmitPartSchema>;

export type SplitDecision = { kind: 'split'; part: ResubmitPart } | { kind: 'alone' };

/**
 * What a failure of the job at `position` means for its operation: alone in the job, nothing is left to split
 * (the identifier itself is bad, or the vendor failed it for its own reasons, which a person must look at);
 * otherwise the operation goes in the first half (positions below ⌈n/2⌉) or the second.
 */
export function splitDecision(position: JobPosition): SplitDecision {
  const { job, index, subjects } = position;
  if (!Number.isInteger(subjects) || subjects < 1 || !Number.isInteger(index) || index < 0 || index >= subjects) {
    throw new RangeError(`position ${index} of ${subjects} is not in the job`);
  }
  if (subjects === 1) return { kind: 'alone' };
  const first = Math.ceil(subjects / 2);
  const part = index < first ? 0 : 1;
  return {
    kind: 'split',
    part: { group: `${job}#${part}`, part, parts: 2, subjects: part === 0 ? first : subjects - first, from: job, lineage: [...position.lineage, job] },
  };
}

/** The most creates one bad identifier among `subjects` can cost: the first job, then two per level of halving. */
export function worstCaseCreates(subjects: number): number {
  return 1 + 2 * Math.ceil(Math.log2(Math.max(1, subjects)));
}

/** A queued row's part (kept in its stored reference as `resubmitIn` until the part is submitted), if it has one. */
export function resubmitPartOf(ref: unknown): ResubmitPart | undefined {
  if (!ref || typeof ref !== 'object') return undefined;
  const parsed = ResubmitPartSchema.safeParse((ref as Record<string, unknown>)['resubmitIn']);
  return parsed.success ? parsed.data : undefined;
}
