import pLimit from 'p-limit';
import type { DeletionSubject, OperationToCheck, StatusReport, SubmittedOperation } from './DeletionVendor.js';

/**
 * Submits subjects one call each (APIs taking one customer per request), up to `concurrency` at a time.
 * If any call fails it throws the first fault once all have settled, which is safe where the vendor dedupes
 * on our idempotency key: the retry recovers the ones that got through.
 */
export async function submitEach(
  subjects: DeletionSubject[],
  concurrency: number,
  submitOne: (subject: DeletionSubject) => Promise<SubmittedOperation>,
): Promise<SubmittedOperation[]> {
  const limit = pLimit(Math.max(1, Math.min(concurrency, subjects.length)));
  const settled = await Promise.allSettled(subjects.map((s) => limit(() => submitOne(s))));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<SubmittedOperation>).value);
}

/** Reads operations one call each, one after the other (the caller's concurrency and rate budget decide how many run at once). */
export async function checkEach(
  operations: OperationToCheck[],
  readOne: (operation: OperationToCheck) => Promise<StatusReport>,
): Promise<Map<string, StatusReport>> {
  const reports = new Map<string, StatusReport>();
  for (const op of operations) reports.set(op.deletionId, await readOne(op));
  return reports;
}
