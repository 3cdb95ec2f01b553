import assert from 'node:assert/strict';
import type { FaultStack } from '../../../local/faults/faultStack.js';
import { count, STACK_PATH, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { eventCount, eventually, seededRandom, sleep } from '../harness.js';
import { stackFigures, settleRevocations, settleTimeout, stackTimeout, useFaultStack, writeRevocations } from '../stackHarness.js';

export const STACK_KILLS = '3s poller SIGKILL (stack)';

/** Deletions the poller has claimed now (a lease taken and not yet given back). */
async function claimed(fs: FaultStack): Promise<number> {
  const { rows } = await fs.pool.query<{ n: number }>('select count(*)::int as n from vendor_deletion where lease_owner is not null or lease_expires_at is not null');
  return rows[0]!.n;
}

/**
 * Scenario 3 on the production path: revocations written to the Firestore emulator reach onCustomerWritten
 * through the relay; the http vendor takes batches, so the ingest leaves the creates to the poller, and the
 * poller runs only when the scheduler's Pub/Sub push reaches pollDeletions. While it works (once it holds claims,
 * then after a random moment: claiming, calling the vendor or writing the answers), its Functions Framework
 * process is SIGKILLed and started again, `stackKills` times, new revocations arriving between kills. At the end
 * every revocation written to Firestore has one request and one vendor job and completes, no deletion is left
 * claimed, and each was recorded as submitted once (a create cut off by the kill is replayed with its
 * Idempotency-Key; a killed poller's claims lapse after their lease).
 */
export function stackPollerKills(profile: FaultProfile, results: FaultResults): void {
  const customers = Array.from({ length: profile.stackKillCustomers }, (_, i) => `kill-stack-${String(i).padStart(5, '0')}`);
  describe(`scenario ${STACK_KILLS}: ${profile.stackKills} kills of pollDeletions over ${count(customers.length)} revocations`, function () {
    this.timeout(stackTimeout(profile));
    const stack = useFaultStack(results, STACK_KILLS, {
      env: {
        // Batches: the ingest records the deletion and the poller makes the create call.
        VENDOR_HTTP_MAX_BATCH_SIZE: '10',
        VENDOR_HTTP_CONCURRENCY: '4',
        VENDOR_HTTP_MIN_CHECK_INTERVAL_SECONDS: '1',
        VENDOR_HTTP_MAX_CHECK_INTERVAL_SECONDS: '3',
        VENDOR_HTTP_STALE_AFTER_HOURS: '1',
        VENDOR_HTTP_NO_PROGRESS_HOURS: '1',
        POLL_BATCH_SIZE: '40',
        // A killed poller's claims lapse after ten seconds (the shortest lease), not the production ten minutes.
        POLL_LEASE_SECONDS: '10',
        POLL_TIME_BUDGET_SECONDS: '20',
      },
      // Each vendor call takes 20–120 ms, so a poll cycle spends time in its calls and a kill can land there.
      sandbox: { latencyMs: 20, latencyJitterMs: 100, lifecycle: { inProgressAfterMs: 1_000, completeAfterMs: 3_000 }, recordLimit: 1_000_000 },
    });

    it('completes every deletion after the kills: none left claimed, none submitted twice, one vendor job each', async () => {
      const fs = stack();
      const random = seededRandom(33);
      const waves = profile.stackKills + 1;
      const perWave = Math.ceil(customers.length / waves);
      let written = 0;
      const kills: Array<{ claimed: number; pid: number }> = [];
      for (let k = 0; k < profile.stackKills; k += 1) {
        written += await writeRevocations(fs, customers.slice(k * perWave, (k + 1) * perWave));
        // The poller is at work once it holds claims; the kill lands a random moment later (claims, calls, writes).
        await eventually(`kill ${k + 1}: the poller holding claims`, async () => ((await claimed(fs)) > 0 ? true : undefined), 60_000, 20);
        await sleep(Math.floor(random() * 600));
        const held = await claimed(fs);
        const pid = fs.stack.functionPid('pollDeletions');
        await fs.stack.restartFunction('pollDeletions', { crash: true });
        assert.notEqual(fs.stack.functionPid('pollDeletions'), pid, `kill ${k + 1}: a new pollDeletions process serves`);
        kills.push({ claimed: held, pid });
      }
      written += await writeRevocations(fs, customers.slice(profile.stackKills * perWave));

      await settleRevocations(fs, customers, settleTimeout(profile));
      // A cycle at work holds claims for a moment; none is left once the polls stop finding work.
      await eventually('no deletion left claimed', async () => ((await claimed(fs)) === 0 ? true : undefined), 30_000, 200);
      await fs.stack.relay.idle();

      const twice = await fs.pool.query(
        "select vendor_deletion_id from deletion_event where kind = 'submitted' group by vendor_deletion_id having count(*) > 1",
      );
      const figures = await stackFigures(fs, customers);
      const replayed = await fs.replayedCreates();
      const relay = fs.stack.relay.stats();
      const killedHolding = kills.filter((k) => k.claimed > 0).length;
      results.record({
        scenario: STACK_KILLS,
        path: STACK_PATH,
        load: `${count(written)} revocations written to Firestore in ${waves} waves, ${kills.length + 1} pollDeletions processes`,
        faults: `${kills.length} SIGKILLs of pollDeletions at work (${killedHolding} holding claims, ${count(kills.reduce((s, k) => s + k.claimed, 0))} claims cut)`,
        lost: figures.lost,
        duplicated: figures.duplicated + (twice.rowCount ?? 0),
        completed: figures.completed,
        retries: relay.retries + replayed + (await eventCount(fs.pool, ['submit_failed', 'error'])),
        alerts: 0,
      });
      assert.equal(written, customers.length, 'every revocation was written to Firestore');
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
      assert.equal(twice.rowCount, 0, 'a deletion was recorded as submitted twice');
      assert.ok(killedHolding > 0, 'a kill landed while the poller held claims');
      assert.equal(relay.abandoned, 0, 'no trigger event given up');
    });
  });
}
