import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../../functions/clock.js';
import { POLL_PHASES, type PollPhase } from '../../../local/faults/pollerLoop.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { silentLogger } from '../../../functions/log.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { useTestDatabase } from '../../helpers/db.js';
import { count, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { deletionFigures, eventCount, eventually, forEachLimited, replayedCreates, seededRandom } from '../harness.js';

export const KILLS = '3 poller SIGKILL';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'local', 'faults', 'pollerProcess.ts');
const LEASE_MS = 2_000;
const BATCH = 10;

/** A poller child process and the phases it has announced so far. */
interface Poller {
  child: ChildProcess;
  seen: Record<string, number>;
  exited: Promise<void>;
  onPhase(listener: (phase: string, n: number) => void): void;
}

function startPoller(env: NodeJS.ProcessEnv, args: string[]): Poller {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, '--lease-ms', String(LEASE_MS), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen: Record<string, number> = {};
  const listeners: Array<(phase: string, n: number) => void> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const m = /^phase (\w+)$/.exec(line);
      if (!m) continue;
      seen[m[1]!] = (seen[m[1]!] ?? 0) + 1;
      for (const l of listeners) l(m[1]!, seen[m[1]!]!);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal === null) process.stderr.write(`poller exited ${code}: ${stderr}\n`);
      resolve();
    }),
  );
  return { child, seen, exited, onPhase: (l) => void listeners.push(l) };
}

/**
 * Scenario 3: the poller, a process of its own, SIGKILLed `kills` times at chosen points of its cycles
 * (claiming, calling the vendor, writing results) while new revocations keep arriving; a fresh poller is
 * started after each kill. At the end every deletion is completed, no row is still leased, each deletion was
 * recorded as submitted once, and the vendor created one job per customer: a create cut off by the kill is
 * replayed with the same Idempotency-Key and the vendor hands back the job it already has.
 */
export function pollerKills(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${KILLS}: ${profile.kills} kills over ${count(profile.killDeletions)} deletions`, function () {
    this.timeout(profile.name === 'full' ? 900_000 : 150_000);
    const db = useTestDatabase('faults_kills');
    let sandbox: RunningSandbox;
    const running = new Set<ChildProcess>();

    before(async () => {
      results.begin(KILLS);
      sandbox = await startSandbox({
        vendors: { http: { latencyMs: 5, latencyJitterMs: 20, lifecycle: { inProgressAfterMs: 300, completeAfterMs: 1_500 }, recordLimit: 1_000_000 } },
      });
    });
    after(async () => {
      for (const child of running) child.kill('SIGKILL');
      await sandbox?.stop();
    });

    it('completes every deletion after the restarts: none left claimed, none submitted twice', async () => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATABASE_URL: db().url,
        VENDORS: 'http',
        VENDOR_HTTP_BASE_URL: `${sandbox.url}/http`,
        VENDOR_HTTP_MAX_BATCH_SIZE: String(BATCH),
        VENDOR_HTTP_CONCURRENCY: '4',
        VENDOR_HTTP_RATE_PER_SECOND: '10000',
        VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '0.5',
        VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '1',
        VENDOR_HTTP_TIMEOUT_MS: '5000',
        POLL_BATCH_SIZE: '40',
        LOG_LEVEL: 'warn',
        METADATA_SERVER_DETECTION: 'none',
      };
      // The recorder leaves batch-vendor deletions queued for the poller, as the ingest does.
      const vendor = createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' }, { maxBatchSize: BATCH });
      const recorder = createRevocationRecorder({
        pool: db().pool,
        log: silentLogger(),
        clock: systemClock,
        config: { consentField: 'analyticsConsent', customersCollection: 'customers' },
        vendors: [vendor],
      });
      const customers = Array.from({ length: profile.killDeletions }, (_, i) => `kill-${i}`);
      const perKill = Math.ceil(customers.length / (profile.kills + 1));
      let fed = 0;
      const feed = async (n: number) => {
        const batch = customers.slice(fed, fed + n);
        const offset = fed;
        fed += batch.length;
        await forEachLimited(batch, 8, async (customerId, i) => {
          await recorder.recordRevocation({
            customerId,
            revokedAt: new Date(Date.parse('2026-11-27T09:00:00Z') + offset + i).toISOString(),
            source: 'faults',
            sourceEventId: `kill-${offset + i}`,
          });
        });
      };

      const random = seededRandom(3);
      const killedAt: Record<PollPhase, number> = { claim: 0, call: 0, write: 0 };
      for (let k = 0; k < profile.kills; k += 1) {
        await feed(perKill);
        const target = POLL_PHASES[k % POLL_PHASES.length]!;
        const nth = 1 + Math.floor(random() * 3);
        const poller = startPoller(env, []);
        running.add(poller.child);
        const hit = new Promise<boolean>((resolve) => {
          poller.onPhase((phase, n) => {
            if (phase === target && n === nth) {
              poller.child.kill('SIGKILL');
              resolve(true);
            }
          });
          setTimeout(() => resolve(false), 20_000);
        });
        const landed = await hit;
        if (!landed) poller.child.kill('SIGKILL');
        await poller.exited;
        running.delete(poller.child);
        assert.ok(landed, `kill ${k + 1}: the poller never reached its ${nth}th ${target}`);
        killedAt[target] += 1;
      }

      await feed(customers.length - fed);
      const last = startPoller(env, ['--until-idle']);
      running.add(last.child);
      await eventually('the last poller to finish every deletion', async () => (last.child.exitCode !== null ? true : undefined), 120_000, 200);
      running.delete(last.child);
      assert.equal(last.child.exitCode, 0);

      const leased = await db().pool.query('select id from vendor_deletion where lease_owner is not null or lease_expires_at is not null');
      assert.equal(leased.rowCount, 0, 'no deletion is left claimed');
      const twice = await db().pool.query(
        "select vendor_deletion_id from deletion_event where kind = 'submitted' group by vendor_deletion_id having count(*) > 1",
      );
      const figures = await deletionFigures(db().pool, sandbox, customers, { mustComplete: true });
      results.record({
        scenario: KILLS,
        path: 'poll cycles in a poller process (local/faults/pollerProcess.ts)',
        load: `${count(customers.length)} deletions, ${profile.kills + 1} poller processes`,
        faults: `${profile.kills} SIGKILLs (claim ${killedAt.claim}, vendor call ${killedAt.call}, write ${killedAt.write})`,
        lost: figures.lost,
        duplicated: figures.duplicated + (twice.rowCount ?? 0),
        completed: figures.completed,
        retries: replayedCreates(sandbox) + (await eventCount(db().pool, ['submit_failed', 'error'])),
        alerts: 0,
      });
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
      assert.equal(twice.rowCount, 0, 'a deletion was recorded as submitted twice');
    });
  });
}
