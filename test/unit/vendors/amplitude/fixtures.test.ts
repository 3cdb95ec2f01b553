import assert from 'node:assert/strict';
import { createFakeClock, DAY } from '../../../../functions/clock.js';
import { amplitudeIdsOf, createAmplitudeVendor, type AmplitudeRef } from '../../../../functions/vendors/amplitude/amplitudeVendor.js';
import { AMPLITUDE_STATUS_MAP } from '../../../../functions/vendors/amplitude/status.js';
import type { DeletionSubject, OperationToCheck, SubmittedOperation } from '../../../../functions/vendors/DeletionVendor.js';
import { VendorAuthError, VendorContractError, VendorRejectedError } from '../../../../functions/vendors/errors.js';
import { VENDOR_SETTINGS } from '../../../../functions/vendors/settings.js';
import { bodyOf, fixture, loadFixtures, type Fixture } from '../../../fixtures/vendors/contract.js';
import { keysOf, withAnswers } from '../fixtureFetch.js';

const clock = createFakeClock('2022-02-17T09:00:00Z');
const adapter = (settings: Record<string, string> = {}) =>
  createAmplitudeVendor(
    VENDOR_SETTINGS.amplitude.parse({ baseUrl: 'https://amplitude.example', apiKey: 'k', secretKey: 's', project: 'web', ...settings }),
    { timeoutMs: 1_000 },
    clock,
  );
const subjects = (ids: string[]): DeletionSubject[] => ids.map((customerId, i) => ({ deletionId: `d${i}`, customerId, idempotencyKey: `k${i}` }));
const toCheck = (op: SubmittedOperation | { deletionId: string; ref: AmplitudeRef; operationId: string }): OperationToCheck => ({
  deletionId: op.deletionId,
  customerId: 'c',
  ref: op.ref,
  operationId: op.operationId,
  submittedAt: clock.now(),
});

type Entry = { amplitude_id: number; user_id?: string };
type Job = { day: string; status: 'staging' | 'submitted' | 'done'; amplitude_ids: Entry[]; invalid_ids?: string[]; active_scrub_done_date?: string };
const jobsOf = (f: Fixture): Job[] => {
  const body = bodyOf<Job | Job[]>(f);
  return Array.isArray(body) ? body : [body];
};

/** The customers a documented create request names, and how the adapter must be set to send them. */
function requestOf(f: Fixture): { ids: string[]; settings: Record<string, string> } {
  const body = f.request.body;
  if (typeof body === 'string') {
    // The 2018 example is form-encoded: amplitude_ids=…&requester=…
    const form = new URLSearchParams(body);
    return { ids: form.getAll('amplitude_ids'), settings: { idType: 'amplitude_id' } };
  }
  const json = body as { user_ids?: string[]; amplitude_ids?: number[]; ignore_invalid_id?: unknown; ignore_invalid_ids?: unknown };
  const ignore = String(json.ignore_invalid_ids ?? json.ignore_invalid_id ?? 'false').toLowerCase() === 'true';
  if (json.user_ids) return { ids: json.user_ids, settings: { ignoreInvalidIds: String(ignore) } };
  return { ids: (json.amplitude_ids ?? []).map(String), settings: { idType: 'amplitude_id', ignoreInvalidIds: String(ignore) } };
}

describe('amplitude adapter over every documented example (fixtures, no sandbox)', () => {
  for (const f of loadFixtures('amplitude')) {
    it(`${f.file}: ${f.request.method} ${f.request.path} → ${f.response.status}`, async () => {
      switch (f.operation) {
        case 'create': {
          const { ids, settings } = requestOf(f);
          const { result: ops, seen } = await withAnswers([f.response], () => adapter(settings).submit(subjects(ids)));
          const jobs = jobsOf(f);
          const invalid = new Set(jobs.flatMap((j) => j.invalid_ids ?? []));
          assert.equal(ops.length, ids.length);
          for (const [i, op] of ops.entries()) {
            const ref = op.ref as AmplitudeRef;
            if (invalid.has(ids[i]!)) {
              assert.deepEqual([op.status?.state, op.status?.rawStatus, ref.unknownUser], ['completed', 'invalid_id', true]);
              continue;
            }
            // Every amplitude_id the answer maps to the customer is kept (by user_id when entries carry one).
            const entries = jobs.flatMap((j) => j.amplitude_ids);
            const expected = entries.some((e) => e.user_id !== undefined)
              ? entries.filter((e) => e.user_id === ids[i]).map((e) => e.amplitude_id)
              : settings['idType'] === 'amplitude_id'
                ? entries.filter((e) => String(e.amplitude_id) === ids[i]).map((e) => e.amplitude_id)
                : entries.map((e) => e.amplitude_id);
            assert.deepEqual(amplitudeIdsOf(ref).sort(), [...new Set(expected)].sort(), `${ids[i]}'s ids`);
            assert.equal(ref.day, jobs[0]!.day);
            assert.equal(op.status?.rawStatus, jobs[0]!.status);
            assert.equal(op.status?.expectedCompletionAt?.getTime(), Date.parse(`${jobs[0]!.day}T00:00:00Z`) + 5 * DAY);
          }
          const sent = seen[0]!.json as Record<string, unknown>;
          assert.equal(sent['include_mapped_user_ids'], true);
          for (const key of keysOf(sent)) {
            assert.ok(['amplitude_ids', 'user_ids', 'requester', 'ignore_invalid_id', 'ignore_invalid_ids', 'include_mapped_user_ids'].includes(key), `${key} is documented`);
          }
          break;
        }
        case 'list': {
          // Each listed id, looked for as a customer's reference, reads as its job's status.
          const jobs = jobsOf(f);
          const refs = jobs.flatMap((job, j) =>
            job.amplitude_ids.map((e, i) => ({ deletionId: `d${j}-${i}`, ref: { project: 'web', day: job.day, id: `c${j}${i}`, idType: 'user_id' as const, amplitudeIds: [e.amplitude_id] }, operationId: 'x', job })),
          );
          const { result: reports, seen } = await withAnswers([f.response], () => adapter().checkStatus(refs.map(toCheck)));
          assert.equal(seen.length, 1, 'one listing covers the days');
          for (const r of refs) {
            const report = reports.get(r.deletionId)!;
            assert.deepEqual([report.state, report.rawStatus], [AMPLITUDE_STATUS_MAP[r.job.status], r.job.status]);
            const from = r.job.active_scrub_done_date ?? r.job.day;
            assert.equal(report.expectedCompletionAt?.getTime(), Date.parse(`${from}T00:00:00Z`) + 5 * DAY);
          }
          break;
        }
        case 'cancel': {
          const [, , , , , id, day] = f.request.path.split('/');
          clock.set(new Date(Date.parse(`${day}T00:00:00Z`) - 10 * DAY));
          const ref: AmplitudeRef = { project: 'web', day: day!, id: 'c', idType: 'user_id', amplitudeIds: [Number(id)] };
          const { result, seen } = await withAnswers([f.response], () => adapter().cancel!(toCheck({ deletionId: 'd', ref, operationId: 'x' })));
          assert.equal(result, true);
          assert.equal(seen[0]!.url.pathname, f.request.path);
          break;
        }
        case 'error': {
          if (f.request.method === 'POST') {
            const { ids, settings } = requestOf(f);
            await assert.rejects(withAnswers([f.response], () => adapter(settings).submit(subjects(ids))), (err) => err instanceof VendorRejectedError && err.status === 400);
          } else {
            const ref: AmplitudeRef = { project: 'web', day: '2022-03-03', id: 'c', idType: 'user_id', amplitudeIds: [1] };
            await assert.rejects(withAnswers([f.response], () => adapter().checkStatus([toCheck({ deletionId: 'd', ref, operationId: 'x' })])), VendorAuthError);
          }
          break;
        }
      }
    });
  }

  it('accepts the create answer as an array or a single job, and nothing else', async () => {
    const one = fixture('amplitude', 'create-gist-2018-object.json');
    for (const body of [{ jobs: [] }, [], [{ ...bodyOf<Record<string, unknown>>(one), status: 'queued' }], [{ day: '2018-02-04', status: 'staging' }]]) {
      await assert.rejects(withAnswers([{ ...one.response, body }], () => adapter({ idType: 'amplitude_id' }).submit(subjects(['1234567890']))), VendorContractError);
    }
  });

  it('keeps the batch\'s ids, marked shared, when entries carry no user_id for several customers: never cancelled', async () => {
    const balena = fixture('amplitude', 'create-balena-array.json');
    const { result: ops } = await withAnswers([balena.response], () => adapter().submit(subjects(['john_doe', 'jane_doe'])));
    for (const op of ops) assert.deepEqual([amplitudeIdsOf(op.ref as AmplitudeRef), op.ref['shared']], [[12345, 54321], true]);
    clock.set('2021-01-02T00:00:00Z');
    const { result, seen } = await withAnswers([], () => adapter().cancel!(toCheck(ops[0]!)));
    assert.deepEqual([result, seen.length], [false, 0]);
  });

  it('finds a customer with several ids only when every id is in the list; matches on amplitude_id, never user_id', async () => {
    const list = fixture('amplitude', 'list-postman-staging.json');
    const both: AmplitudeRef = { project: 'web', day: '2022-03-03', id: 'user_1', idType: 'user_id', amplitudeIds: [356896327775, 356896327755] };
    const { result } = await withAnswers([list.response], () => adapter().checkStatus([toCheck({ deletionId: 'd', ref: both, operationId: 'x' })]));
    assert.deepEqual([result.get('d')!.state, result.get('d')!.rawStatus], ['error', 'missing_from_job']);
    assert.match(result.get('d')!.detail ?? '', /356896327755/);
    const legacy = { project: 'web', day: '2022-03-03', id: 'user_1', idType: 'user_id' as const, amplitudeId: 356896327775 };
    const { result: old } = await withAnswers([list.response], () => adapter().checkStatus([toCheck({ deletionId: 'd', ref: legacy, operationId: 'x' })]));
    assert.equal(old.get('d')!.state, 'submitted', 'references written with one amplitudeId still read');
  });

  it('removes every id of the customer on cancel, and refuses (too late) without removing any when the first is refused', async () => {
    const ok = fixture('amplitude', 'cancel-docs.json').response;
    clock.set('2022-02-20T00:00:00Z');
    const ref: AmplitudeRef = { project: 'web', day: '2022-03-03', id: 'user_1', idType: 'user_id', amplitudeIds: [1, 2] };
    const { result, seen } = await withAnswers([ok, ok], () => adapter().cancel!(toCheck({ deletionId: 'd', ref, operationId: 'x' })));
    assert.equal(result, true);
    assert.deepEqual(seen.map((s) => s.url.pathname), ['/api/2/deletions/users/1/2022-03-03', '/api/2/deletions/users/2/2022-03-03']);
    const refused = await withAnswers([{ status: 400 }], () => adapter().cancel!(toCheck({ deletionId: 'd', ref, operationId: 'x' })));
    assert.equal(refused.result, false);
    await assert.rejects(withAnswers([ok, { status: 400 }], () => adapter().cancel!(toCheck({ deletionId: 'd', ref, operationId: 'x' }))), /removed amplitude_id 1/);
    clock.set('2022-03-01T00:00:00Z');
    assert.equal((await withAnswers([], () => adapter().cancel!(toCheck({ deletionId: 'd', ref, operationId: 'x' })))).result, false, 'within 3 days of the job');
  });
});
