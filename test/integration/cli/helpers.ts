import { runCli } from '../../../functions/cli/program.js';
import type { Env } from '../../../functions/config.js';
import type { Clock } from '../../../functions/clock.js';

/** The result of one in-process CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with injected arguments, environment, working directory and clock. */
export async function cli(argv: string[], env: Env, cwd: string, clock?: Clock): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli({
    argv,
    env,
    cwd,
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    ...(clock ? { clock } : {}),
  });
  return { code, stdout, stderr };
}

/** Inserts one request with one deletion per given state (SQL, as fixtures), returning the deletion ids. */
export async function insertDeletion(
  pool: import('pg').Pool,
  row: {
    customerId: string;
    vendor?: string;
    state: string;
    revokedAt: string;
    deadlineAt: string;
    completedAt?: string | null;
    operationId?: string | null;
    /** The request's regime; absent, the column's default (gdpr). */
    regime?: string;
  },
): Promise<{ requestId: string; deletionId: string }> {
  const req = await pool.query<{ id: string }>(
    `insert into deletion_request (customer_id, revoked_at, source_event_id, source, deadline_at, regime)
     values ($1::text, $2::timestamptz, 'test', 'test', $3::timestamptz, coalesce($4::text, 'gdpr')) returning id`,
    [row.customerId, row.revokedAt, row.deadlineAt, row.regime ?? null],
  );
  const requestId = String(req.rows[0]!.id);
  const del = await pool.query<{ id: string }>(
    `insert into vendor_deletion (request_id, customer_id, vendor, state, operation_id, operation_ref, submitted_at,
                                  completed_at, check_count, raw_status, last_error)
     values ($1::bigint, $2::text, $3::text, $4::text, $5::text,
             case when $5::text is null then null else jsonb_build_object('operationId', $5::text) end,
             case when $5::text is null then null else $6::timestamptz + interval '1 minute' end,
             $7::timestamptz, 3, case when $4::text = 'completed' then 'complete' else null end,
             case when $4::text in ('failed', 'error') then 'vendor said failed' else null end)
     returning id`,
    [requestId, row.customerId, row.vendor ?? 'http', row.state, row.operationId ?? null, row.revokedAt, row.completedAt ?? null],
  );
  return { requestId, deletionId: String(del.rows[0]!.id) };
}
