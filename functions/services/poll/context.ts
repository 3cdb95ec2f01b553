import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { CheckRound } from '../../vendors/DeletionVendor.js';
import type { Holds } from './holds.js';
import type { CallbackCheck } from './callbackCheck.js';
import type { Incidents } from './incidents.js';
import type { CycleReport } from './report.js';
import type { ResultWriter } from './results.js';
import type { SubjectQuotas } from './subjectQuota.js';
import type { CycleGate } from './vendorGate.js';

/**
 * What the steps of one cycle share: its report, gate, incidents, mass-refusal holds, result writer, monthly subject quotas, check
 * rounds and callback check.
 */
export interface CycleContext {
  log: Logger;
  clock: Clock;
  report: CycleReport;
  gate: CycleGate;
  incidents: Incidents;
  holds: Holds;
  results: ResultWriter;
  quotas: SubjectQuotas;
  /** This cycle's check round of a vendor: its shared jobs are read once in the cycle. */
  round(vendor: string): CheckRound;
  /** Compares vendors' status callbacks with the checks of the same deletions. */
  callbacks: CallbackCheck;
}
