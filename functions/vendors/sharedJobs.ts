import type { CheckRound, OperationToCheck, StatusReport } from './DeletionVendor.js';

/**
 * Reads the status of operations whose vendor jobs cover many customers: each job is read once, and its
 * report is given to every deletion it covers. Jobs are read one after another (the vendors that batch
 * are also the ones with the tightest rate limits). Within a check round a job already read is not read
 * again: its first answer (or fault) serves the round's later batches too.
 */
export async function checkSharedJobs(
  operations: OperationToCheck[],
  jobOf: (operation: OperationToCheck) => string,
  readJob: (jobId: string) => Promise<StatusReport>,
  round?: CheckRound,
): Promise<Map<string, StatusReport>> {
  const byJob = new Map<string, StatusReport>();
  const reports = new Map<string, StatusReport>();
  for (const op of operations) {
    const job = jobOf(op);
    let report = byJob.get(job);
    if (!report) {
      report = await (round ? round.read(job, () => readJob(job)) : readJob(job));
      byJob.set(job, report);
    }
    reports.set(op.deletionId, report);
  }
  return reports;
}
