import assert from 'node:assert/strict';
import pLimit from 'p-limit';
import { createFakeClock, HOUR, MINUTE } from '../../../functions/clock.js';
import { worstCaseCreates } from '../../../functions/domain/taskSplit.js';
import { silentLogger } from '../../../functions/log.js';
import { createRevocationRecorder } from '../../../functions/services/recordRevocation.js';
import { createMixpanelVendor, MixpanelRefSchema } from '../../../functions/vendors/mixpanel/mixpanelVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

const CUSTOMERS = 1999;
const BAD = 'split-1234';

/**
 * One bad distinct_id among 1,999 (Mixpanel fails the whole task for it): through the real poller, the real
 * submitter and PostgreSQL, against the Mixpanel sandbox replaying the documented answers (the FAILURE answer is
 * the composed Return Key fixture). The failed task is split in halves, recursively; every good customer
 * completes and the bad one ends in `error` with Mixpanel's words.
 */
describe('Mixpanel: a failed task of 1,999 is split in halves until the bad distinct_id is alone (real poller, sandbox, PostgreSQL)', function () {
  this.timeout(240_000);
  const db = useTestDatabase('mixpanel_split');
  const clock = createFakeClock('2026-06-01T08:00:00Z');
  let sandbox: RunningSandbox;

  before(async () => {
    sandbox = await startSandbox({
      clock,
      vendors: {
        mixpanel: {
          credential: 'mp-oauth',
          recordLimit: 20_000,
          lifecycle: { inProgressAfterMs: 30 * MINUTE, completeAfterMs: 2 * HOUR },
          options: { projectToken: 'mp-project', failDistinctIds: [BAD] },
        },
      },
    });
  });
  after(async () => {
    await sandbox?.stop();
  });

  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await db().pool.query(sql, params)).rows as T[];

  it('1,998 complete, the bad one ends in error naming its task, in at most 1 + 2·⌈log2 1999⌉ creates', async () => {
    const vendor = createMixpanelVendor(
      VENDOR_SETTINGS.mixpanel.parse({ baseUrl: `${sandbox.url}/mixpanel`, token: 'mp-oauth', projectToken: 'mp-project' }),
      { timeoutMs: 10_000, minCheckIntervalMs: 30 * MINUTE, maxCheckIntervalMs: HOUR, expectedDurationMs: 2 * HOUR },
    );
    const recorder = createRevocationRecorder({
      pool: db().pool,
      log: silentLogger(),
      clock,
      config: { consentField: 'analyticsConsent', customersCollection: 'customers' },
      vendors: [vendor],
    });
    const customers = Array.from({ length: CUSTOMERS }, (_, i) => `split-${i}`);
    const limit = pLimit(8);
    await Promise.all(
      customers.map((c, i) =>
        limit(() => recorder.recordRevocation({ customerId: c, revokedAt: new Date(clock.now().getTime() - i).toISOString(), source: 'test', sourceEventId: `ev-${c}` })),
      ),
    );
    const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor], clock, submit: true, sleep: async (ms) => clock.advance(ms) });

    let cycles = 0;
    for (;;) {
      const [open] = await q<{ n: number }>("select count(*)::int as n from vendor_deletion where state not in ('completed', 'error')");
      if (open!.n === 0) break;
      assert.ok(cycles < 80, `still ${open!.n} open after ${cycles} cycles`);
      await cycle.run({});
      cycles += 1;
      clock.advance(HOUR);
    }

    const rows = await q<{ customer_id: string; state: string; operation_id: string; operation_ref: unknown; last_error: string | null }>(
      'select customer_id, state, operation_id, operation_ref, last_error from vendor_deletion',
    );
    assert.equal(rows.filter((r) => r.state === 'completed').length, CUSTOMERS - 1, '1,998 completed');
    const errors = rows.filter((r) => r.state === 'error');
    assert.deepEqual(errors.map((r) => r.customer_id), [BAD], 'only the bad id is in error');
    const bad = errors[0]!;
    const badRef = MixpanelRefSchema.parse(bad.operation_ref);
    assert.equal(badRef.subjects, 1, 'alone in its last task');
    assert.match(
      bad.last_error ?? '',
      new RegExp(`^this customer's distinct_id failed alone in Mixpanel task ${bad.operation_id} \\(split from [^)]+\\): The deletion task has failed\\. Check the original task input parameters and create a new task\\.$`),
    );

    // The tasks, as the sandbox recorded them: each failed task of n is resubmitted as two tasks of its ids,
    // ⌈n/2⌉ and ⌊n/2⌋, and a task never mixes ids of two halves.
    const creates = sandbox.control.calls('mixpanel').filter((c) => c.method === 'POST' && c.status === 201);
    const tasks = creates.map((c) => (c.body as { distinct_ids: string[] }).distinct_ids);
    const withBad = tasks.filter((ids) => ids.includes(BAD));
    assert.equal(withBad[0]!.length, CUSTOMERS, 'the first task held every customer');
    for (let i = 1; i < withBad.length; i++) {
      const n = withBad[i - 1]!.length;
      assert.ok([Math.ceil(n / 2), Math.floor(n / 2)].includes(withBad[i]!.length), `task ${i} is a half of task ${i - 1}`);
    }
    for (let i = 1; i < withBad.length; i++) {
      const parent = withBad[i - 1]!;
      const siblings = tasks.filter((t) => t !== parent && t.every((id) => parent.includes(id)) && t.length < parent.length && tasks.indexOf(t) > tasks.indexOf(parent));
      const halves = siblings.filter((t) => t.length === Math.ceil(parent.length / 2) || t.length === Math.floor(parent.length / 2)).slice(0, 2);
      assert.deepEqual(halves.map((t) => t.length).sort((a, b) => b - a), [Math.ceil(parent.length / 2), Math.floor(parent.length / 2)], `task ${i - 1} split in halves`);
      assert.equal(new Set([...halves[0]!, ...halves[1]!]).size, parent.length, 'the halves hold exactly the failed task');
    }
    const failedTasks = withBad.filter((t) => t.length > 1).length;
    assert.equal(creates.length, 1 + 2 * failedTasks, 'one create, then two per failed task');
    assert.equal(withBad.at(-1)!.length, 1);
    assert.ok(creates.length <= worstCaseCreates(CUSTOMERS), `${creates.length} creates`);
    assert.ok(creates.length >= 21, `${creates.length} creates: 1999 needs at least 10 halvings`);
    console.log(`      Mixpanel creates for ${CUSTOMERS} ids with one bad: ${creates.length} (bound 1 + 2·⌈log2 ${CUSTOMERS}⌉ = ${worstCaseCreates(CUSTOMERS)}), ${cycles} poll cycles`);

    // Auditors see the chain: the bad customer's submissions name each task and the tasks it was split from.
    const trail = await q<{ kind: string; detail: Record<string, unknown> }>(
      `select kind, detail from deletion_event where customer_id = $1 and kind in ('submitted', 'failed', 'retried', 'error') order by chain_seq`,
      [BAD],
    );
    const submitted = trail.filter((e) => e.kind === 'submitted');
    assert.equal(submitted.length, withBad.length);
    assert.deepEqual(submitted[0]!.detail['splitFrom'], undefined);
    const chain = submitted.map((e) => e.detail['operationId'] as string);
    for (let i = 1; i < submitted.length; i++) assert.deepEqual(submitted[i]!.detail['splitFrom'], chain.slice(0, i), `submission ${i} names the tasks before it`);
    assert.deepEqual(badRef.splitFrom, chain.slice(0, -1));
    const retried = trail.filter((e) => e.kind === 'retried').map((e) => e.detail['split'] as { from: string; subjects: number });
    assert.deepEqual(retried.map((r) => r.from), chain.slice(0, -1));
    assert.deepEqual(retried.map((r) => r.subjects), withBad.slice(1).map((t) => t.length));
    assert.deepEqual(trail.at(-1), { kind: 'error', detail: { reason: 'failed alone in its job: a resubmission cannot help' } });

    // A good customer of the first half completed in a task of its own half, and its reference says where it came from.
    const good = rows.find((r) => r.customer_id === withBad[1]!.find((id) => id !== BAD && !withBad[2]!.includes(id)))!;
    assert.equal(good.state, 'completed');
    assert.deepEqual(MixpanelRefSchema.parse(good.operation_ref).splitFrom, chain.slice(0, 2));
  });
});
