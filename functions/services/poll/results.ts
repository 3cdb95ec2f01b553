import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { ClaimedDeletion, StatusEvent, StatusUpdate } from '../../domain/deletion.js';
import { recordStatuses } from '../../store/recordStatuses.js';
import { releaseClaims } from '../../store/releaseClaims.js';
import type { CycleReport } from './report.js';

/** Writes a cycle's results under its lease, and hands back rows it leaves unworked. */
export interface ResultWriter {
  /** Writes status results and their events in one statement; rows whose lease was lost are dropped (logged). */
  write(updates: StatusUpdate[], events: StatusEvent[]): Promise<void>;
  /** Hands rows back unworked, due again at `dueAt` (counted in the report as released). */
  release(rows: ClaimedDeletion[], dueAt: Date): Promise<void>;
}

export function createResultWriter(deps: { pool: pg.Pool; log: Logger; clock: Clock; owner: string; report: CycleReport }): ResultWriter {
  const { pool, log, clock, owner, report } = deps;
  return {
    async write(updates, events) {
      if (updates.length === 0) return;
      report.verificationFailed += updates.filter((u) => u.verificationFailedAt !== null).length;
      const { written } = await recordStatuses(pool, { now: clock.now(), owner, updates, events });
      if (written.size < updates.length) {
        log.warn(
          { event: 'lease_lost', lost: updates.filter((u) => !written.has(u.deletionId)).map((u) => u.deletionId) },
          'some claimed deletions were taken over by another poller before their results were written; their results were dropped',
        );
      }
    },
    async release(rows, dueAt) {
      if (rows.length === 0) return;
      report.released += await releaseClaims(pool, { now: clock.now(), owner, deletionIds: rows.map((r) => r.deletionId), dueAt });
    },
  };
}
