import assert from 'node:assert/strict';
import type { DeletionSubject, OperationToCheck, Regulation } from '../../../../functions/vendors/DeletionVendor.js';
import { VendorAuthError, VendorContractError, VendorRateLimitedError } from '../../../../functions/vendors/errors.js';
import { createMixpanelVendor } from '../../../../functions/vendors/mixpanel/mixpanelVendor.js';
import { MIXPANEL_STATUS_MAP, MIXPANEL_STATUS_WORDS } from '../../../../functions/vendors/mixpanel/status.js';
import { VENDOR_SETTINGS } from '../../../../functions/vendors/settings.js';
import { bodyOf, fixture, loadFixtures, type Fixture } from '../../../fixtures/vendors/contract.js';
import { keysOf, withAnswers } from '../fixtureFetch.js';

const BASE = 'https://mixpanel.example';
const adapter = () =>
  createMixpanelVendor(VENDOR_SETTINGS.mixpanel.parse({ baseUrl: BASE, token: 'oauth', projectToken: 'project' }), { timeoutMs: 1_000 });
const subjects = (ids: string[], regulation?: Regulation): DeletionSubject[] =>
  ids.map((customerId, i) => ({ deletionId: `d${i}`, customerId, idempotencyKey: `k${i}`, ...(regulation ? { regulation } : {}) }));
const operation = (trackingId: string, subjects = 1): OperationToCheck => ({
  deletionId: 'd0',
  customerId: 'c0',
  ref: { trackingId, subjects },
  operationId: trackingId,
  submittedAt: new Date(),
});
/** The task a fixture's request names (the last path segment). */
const taskOf = (f: Fixture) => decodeURIComponent(f.request.path.replace(/\/$/, '').split('/').at(-1)!);

describe('mixpanel adapter over every documented example (fixtures, no sandbox)', () => {
  for (const f of loadFixtures('mixpanel')) {
    it(`${f.file}: ${f.request.method} ${f.request.path} → ${f.response.status}`, async () => {
      switch (f.operation) {
        case 'create': {
          const sent = f.request.body as { distinct_ids: string[]; compliance_type?: string };
          const law = sent.compliance_type ? (sent.compliance_type.toLowerCase() as Regulation) : undefined;
          const { result: ops, seen } = await withAnswers([f.response], () => adapter().submit(subjects(sent.distinct_ids, law)));
          const body = bodyOf<{ results: { task_id: string } | { tracking_id: string; status: string }[] }>(f);
          const id = Array.isArray(body.results) ? body.results[0]!.tracking_id : body.results.task_id;
          assert.deepEqual(ops.map((o) => o.operationId), sent.distinct_ids.map(() => id));
          if (Array.isArray(body.results)) assert.equal(ops[0]!.status?.rawStatus, body.results[0]!.status);
          assert.equal(seen[0]!.url.pathname, '/api/app/data-deletions/v3.0/');
          assert.equal(seen[0]!.url.searchParams.get('token'), 'project');
          // Every field the adapter sends is documented; compliance_type is always sent (its default is GDPR).
          assert.deepEqual(keysOf(seen[0]!.json), ['compliance_type', 'distinct_ids']);
          assert.equal((seen[0]!.json as { compliance_type: string }).compliance_type, sent.compliance_type ?? 'GDPR');
          break;
        }
        case 'status': {
          const results = bodyOf<{ results: { status: string; tracking_id?: string } }>(f).results;
          const { result } = await withAnswers([f.response], () => adapter().checkStatus([operation(results.tracking_id ?? taskOf(f))]));
          const report = result.get('d0')!;
          assert.equal(report.rawStatus, results.status);
          assert.equal(report.state, MIXPANEL_STATUS_MAP[results.status as keyof typeof MIXPANEL_STATUS_MAP]);
          // Every documented word reads the same way in this example's shape.
          for (const word of MIXPANEL_STATUS_WORDS) {
            const body = bodyOf<{ results: { status: string } }>(f);
            body.results.status = word;
            const { result: again } = await withAnswers([{ ...f.response, body }], () => adapter().checkStatus([operation(results.tracking_id ?? taskOf(f))]));
            assert.deepEqual([again.get('d0')!.state, again.get('d0')!.rawStatus], [MIXPANEL_STATUS_MAP[word], word]);
          }
          break;
        }
        case 'cancel': {
          const { result } = await withAnswers([f.response], () => adapter().cancel!(operation(taskOf(f))));
          assert.equal(result, f.response.status === 204);
          break;
        }
        case 'list':
          assert.fail('Mixpanel documents no list; a list fixture needs a test first');
          break;
        case 'error': {
          const run = withAnswers([f.response], () => adapter().submit(subjects(['distinct_id_1'])));
          if (f.response.status === 429) await assert.rejects(run, (err) => err instanceof VendorRateLimitedError && err.retryAfterMs === 1_000);
          else await assert.rejects(run, (err) => err instanceof VendorAuthError && err.status === f.response.status);
          break;
        }
      }
    });
  }

  it('accepts a status without tracking_id, but not one naming another task, an unknown word or no status', async () => {
    const f = fixture('mixpanel', 'status-openapi.json');
    const other = bodyOf<{ results: Record<string, unknown> }>(f);
    other.results['tracking_id'] = 'another';
    const unknown = bodyOf<{ results: Record<string, unknown> }>(f);
    unknown.results['status'] = 'QUEUED';
    const none = bodyOf<{ results: Record<string, unknown> }>(f);
    delete none.results['status'];
    for (const body of [other, unknown, none]) {
      await assert.rejects(withAnswers([{ ...f.response, body }], () => adapter().checkStatus([operation('job tracking_id')])), VendorContractError);
    }
  });

  it('rejects a create answer in neither documented shape', async () => {
    for (const body of [{ status: 'ok', results: { taskId: 'x' } }, { status: 'ok', results: [] }, { results: { task_id: 'x' } }]) {
      await assert.rejects(withAnswers([{ status: 201, body }], () => adapter().submit(subjects(['a']))), VendorContractError);
    }
  });

  it('sends each law in its own task: compliance_type belongs to the task', async () => {
    const task = fixture('mixpanel', 'create-openapi-task-id.json').response;
    const mixed = [...subjects(['a', 'b'], 'gdpr'), { deletionId: 'd9', customerId: 'c', idempotencyKey: 'k9', regulation: 'ccpa' as const }];
    const { result: ops, seen } = await withAnswers([task, task], () => adapter().submit(mixed));
    assert.deepEqual(
      seen.map((s) => s.json),
      [
        { distinct_ids: ['a', 'b'], compliance_type: 'GDPR' },
        { distinct_ids: ['c'], compliance_type: 'CCPA' },
      ],
    );
    assert.deepEqual(ops.map((o) => [o.deletionId, o.ref['subjects'], o.ref['index']]), [['d0', 2, 0], ['d1', 2, 1], ['d9', 1, 0]]);
  });

  describe('a FAILURE (the composed Return Key answer) of a shared task: split by position, never resubmitted whole', () => {
    const failure = fixture('mixpanel', 'status-return-key-failure.json');
    const op = (deletionId: string, ref: Record<string, unknown>): OperationToCheck => ({ deletionId, customerId: `c-${deletionId}`, ref, operationId: 'T', submittedAt: new Date() });
    const check = async (ops: OperationToCheck[], body = bodyOf(failure)) => (await withAnswers([{ ...failure.response, body }], () => adapter().checkStatus(ops))).result;

    it('one read of the task; each customer goes to the half its position says, with the lineage', async () => {
      const reports = await check([op('a', { trackingId: 'T', subjects: 3, index: 0, splitFrom: ['S'] }), op('b', { trackingId: 'T', subjects: 3, index: 2, splitFrom: ['S'] })]);
      assert.deepEqual(reports.get('a')!.retry, { kind: 'split', part: { group: 'T#0', part: 0, parts: 2, subjects: 2, from: 'T', lineage: ['S', 'T'] } });
      assert.deepEqual(reports.get('b')!.retry, { kind: 'split', part: { group: 'T#1', part: 1, parts: 2, subjects: 1, from: 'T', lineage: ['S', 'T'] } });
      assert.equal(reports.get('a')!.state, 'failed');
      assert.match(reports.get('a')!.detail!, /^Mixpanel task T of 3 distinct_ids failed \(The deletion task has failed\. Check the original task input parameters and create a new task\.\); resubmitted in halves$/);
    });

    it('alone in the failed task: straight to a person, with Mixpanel\'s words and the tasks it came through', async () => {
      const body = bodyOf<{ results: Record<string, unknown> }>(failure);
      body.results['result'] = 'invalid distinct_id';
      const report = (await check([op('a', { trackingId: 'T', subjects: 1, index: 0, splitFrom: ['R', 'S'] })], body)).get('a')!;
      assert.deepEqual(report.retry, { kind: 'alone' });
      assert.equal(
        report.detail,
        "this customer's distinct_id failed alone in Mixpanel task T (split from R → S): The deletion task has failed. Check the original task input parameters and create a new task. (result: invalid distinct_id)",
      );
      assert.doesNotMatch(report.detail!, /c-a/, 'the id stays out of the text (the event log keeps it)');
    });

    it('a reference written before positions were kept: resubmitted whole, as before', async () => {
      assert.equal((await check([op('a', { trackingId: 'T', subjects: 5 })])).get('a')!.retry, undefined);
    });
  });
});
