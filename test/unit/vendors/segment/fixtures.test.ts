import assert from 'node:assert/strict';
import { createFakeClock } from '../../../../functions/clock.js';
import type { DeletionSubject, OperationToCheck, VendorState } from '../../../../functions/vendors/DeletionVendor.js';
import { VendorAuthError, VendorContractError, VendorRateLimitedError, VendorRejectedError } from '../../../../functions/vendors/errors.js';
import { createSegmentVendor, SEGMENT_MIN_RATE_LIMIT_PAUSE_MS, segmentRateLimitPauseMs } from '../../../../functions/vendors/segment/segmentVendor.js';
import { VENDOR_SETTINGS } from '../../../../functions/vendors/settings.js';
import { bodyOf, fixture, loadFixtures, type Fixture } from '../../../fixtures/vendors/contract.js';
import { keysOf, stubFetch } from '../fixtureFetch.js';

const BASE = 'https://api.segmentapis.example';
const clock = createFakeClock('2024-12-31T23:59:00Z');

const adapter = (sourceId?: string) =>
  createSegmentVendor(VENDOR_SETTINGS.segment.parse({ baseUrl: BASE, token: 'sgp_test', ...(sourceId ? { sourceId } : {}) }), { timeoutMs: 1_000 }, clock);
const subjects = (ids: string[]): DeletionSubject[] => ids.map((customerId, i) => ({ deletionId: `d${i}`, customerId, idempotencyKey: `k${i}` }));
const operation = (regulateId: string, subjects = 1): OperationToCheck => ({
  deletionId: 'd0',
  customerId: 'c0',
  ref: { regulateId, subjects },
  operationId: regulateId,
  submittedAt: clock.now(),
});

type Regulation = { id: string; overallStatus: string; streamStatus: { destinationStatus: { status: string }[] }[] };
const regulationOf = (f: Fixture) => bodyOf<{ data: { regulation: Regulation } }>(f).data.regulation;

/** Our verdict on each documented status example (vendors README: Segment). */
const EXPECTED_STATE: Record<string, VendorState> = {
  'status-initialized.json': 'submitted',
  'status-running.json': 'in_progress',
  'status-finished.json': 'completed',
  'status-failed-unsupported-destination.json': 'completed',
  'status-failed-destination-failed.json': 'error',
  'status-partial-success.json': 'error',
  'status-invalid.json': 'failed',
  'status-not-supported.json': 'failed',
};

/** Runs the adapter call a fixture's request stands for, against the fixture's answer only. */
async function callFor(f: Fixture) {
  const body = f.request.body as { subjectIds?: string[] } | undefined;
  const source = /^\/regulations\/sources\/([^/]+)$/.exec(f.request.path)?.[1];
  const fetch = stubFetch(f.response);
  try {
    if (f.request.method === 'POST') return { fetch, result: await adapter(source).submit(subjects(body?.subjectIds?.length ? body.subjectIds : ['user-1'])) };
    const id = decodeURIComponent(f.request.path.split('/').at(-1)!);
    if (f.request.method === 'GET') return { fetch, result: (await adapter().checkStatus([operation(id)])).get('d0') };
    return { fetch, result: await adapter().cancel!(operation(id)) };
  } finally {
    fetch.restore();
  }
}

describe('segment adapter over every documented example (fixtures, no sandbox)', () => {
  for (const f of loadFixtures('segment')) {
    it(`${f.file}: ${f.request.method} ${f.request.path} → ${f.response.status}`, async () => {
      switch (f.operation) {
        case 'create': {
          const { fetch, result } = await callFor(f);
          const ops = result as Awaited<ReturnType<ReturnType<typeof adapter>['submit']>>;
          const regulateId = bodyOf<{ data: { regulateId: string } }>(f).data.regulateId;
          assert.deepEqual(ops.map((o) => o.operationId), ops.map(() => regulateId));
          assert.equal(ops.length, (f.request.body as { subjectIds: string[] }).subjectIds.length);
          const [sent] = fetch.seen;
          assert.equal(sent!.method, 'POST');
          assert.equal(sent!.url.pathname, f.request.path);
          assert.deepEqual(keysOf(sent!.json), keysOf(f.request.body), 'the documented request fields, no others');
          break;
        }
        case 'status': {
          const { result: report } = await callFor(f);
          const regulation = regulationOf(f);
          assert.ok(report && typeof report === 'object' && 'state' in report);
          assert.equal(report.rawStatus, regulation.overallStatus);
          const expected = EXPECTED_STATE[f.file];
          if (expected) assert.equal(report.state, expected, report.detail);
          if (report.state === 'error' || report.state === 'failed') assert.ok(report.detail, 'a failure names its cause');
          break;
        }
        case 'cancel':
          assert.equal((await callFor(f)).result, true);
          break;
        case 'list':
          assert.fail('the adapter reads no Segment list; a list fixture needs a test first');
          break;
        case 'error': {
          const status = f.response.status;
          const run = callFor(f);
          if (status === 429) {
            const msBeforeNext = bodyOf<{ errors: { data: { msBeforeNext: number } }[] }>(f).errors[0]!.data.msBeforeNext;
            await assert.rejects(run, (err) => err instanceof VendorRateLimitedError && err.retryAfterMs === msBeforeNext);
          } else if (status === 401 || status === 403) {
            await assert.rejects(run, VendorAuthError);
          } else if (status === 404 && f.request.method === 'GET') {
            const { result } = await run;
            assert.ok(result && typeof result === 'object' && 'state' in result);
            assert.deepEqual([result.state, result.rawStatus], ['error', 'http_404']);
          } else {
            await assert.rejects(run, (err) => err instanceof VendorRejectedError && err.status === status);
          }
          break;
        }
      }
    });
  }

  it('turns an undocumented status word or a missing required field into a contract violation', async () => {
    for (const f of loadFixtures('segment').filter((x) => x.operation === 'status')) {
      const word = bodyOf<{ data: { regulation: Record<string, unknown> } }>(f);
      word.data.regulation['overallStatus'] = 'QUEUED';
      const missing = bodyOf<{ data: { regulation: Record<string, unknown> } }>(f);
      delete missing.data.regulation['streamStatus'];
      for (const body of [word, missing]) {
        const fetch = stubFetch({ ...f.response, body });
        try {
          await assert.rejects(adapter().checkStatus([operation(regulationOf(f).id)]), VendorContractError, f.file);
        } finally {
          fetch.restore();
        }
      }
    }
    const renamed = stubFetch({ status: 200, body: { data: { regulationId: 'x' } } });
    try {
      await assert.rejects(adapter().submit(subjects(['u'])), (err) => err instanceof VendorContractError && /regulateId/.test(err.message));
    } finally {
      renamed.restore();
    }
  });

  it('reads a 429 pause from msBeforeNext, else from X-RateLimit-Reset (an RFC 5322 time), never below a second', () => {
    const f = fixture('segment', 'error-429-rate-limited.json');
    const headers = new Headers(f.response.headers);
    const now = clock.now().getTime();
    assert.equal(segmentRateLimitPauseMs(headers, JSON.stringify(f.response.body), now), 57_647);
    // Without the body: the reset header, 2024-12-31T23:59:59Z, is 59 s after the clock.
    assert.equal(segmentRateLimitPauseMs(headers, '', now), 59_000);
    assert.equal(segmentRateLimitPauseMs(headers, '', Date.parse('2025-01-01T00:00:30Z')), SEGMENT_MIN_RATE_LIMIT_PAUSE_MS);
    assert.equal(segmentRateLimitPauseMs(new Headers(), '{"errors":[{"data":{"msBeforeNext":3}}]}', now), SEGMENT_MIN_RATE_LIMIT_PAUSE_MS);
    assert.equal(segmentRateLimitPauseMs(new Headers(), 'not json', now), undefined);
  });

  it('cancels only a regulation of one customer, and reads a refusal or a gone endpoint (404) as too late', async () => {
    const fetch = stubFetch();
    try {
      assert.equal(await adapter().cancel!(operation('shared', 2)), false);
      assert.equal(fetch.seen.length, 0);
    } finally {
      fetch.restore();
    }
    for (const status of [400, 404]) {
      const refused = stubFetch({ status, body: { errors: [{ type: 'x', message: 'no' }] } });
      try {
        assert.equal(await adapter().cancel!(operation('r1')), false);
      } finally {
        refused.restore();
      }
    }
  });
});
