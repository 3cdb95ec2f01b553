import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createFakeClock, DAY, HOUR } from '../../../functions/clock.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox, SandboxConfigInput } from '../../../local/sandbox/types.js';
import { loadFixtures, matchingFixtures, shapeDifferences, type FixtureOperation, type FixtureVendor } from '../../fixtures/vendors/contract.js';

const SEGMENT = 'sgp-token';
const MIXPANEL = 'mp-oauth';
const AMPLITUDE = 'amp-key:amp-secret';
const MPARTICLE = 'mp-key:mp-secret';
const APPSFLYER = 'af-token';

/** One answer the sandbox gave, and the documented operation it answers (its examples, or the error examples). */
interface Seen {
  vendor: FixtureVendor;
  operation: Exclude<FixtureOperation, 'error'>;
  what: string;
  status: number;
  body: unknown;
}

/**
 * Every answer the vendor modules give, for each operation and lifecycle state (and the faults a vendor
 * documents: its 429, its 401), has the shape of one of that vendor's transcribed examples: the same keys at
 * every level and the same JSON types. The sandbox replays the documents; it has no shapes of its own.
 */
describe('sandbox answers have the shapes of the vendors\' documented examples', function () {
  this.timeout(30_000);
  const clock = createFakeClock('2026-03-02T09:00:00Z');
  const lifecycle = { inProgressAfterMs: 2 * DAY, completeAfterMs: 4 * DAY };
  let sandbox: RunningSandbox;
  const seen: Seen[] = [];

  const call = async (vendor: FixtureVendor, operation: Seen['operation'], method: string, path: string, init: { auth: string; json?: unknown }) => {
    const response = await fetch(`${sandbox.url}/${vendor}${path}`, {
      method,
      headers: { authorization: init.auth, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    const body = text === '' && !type ? undefined : type.includes('json') ? (JSON.parse(text) as unknown) : text;
    seen.push({ vendor, operation, what: `${method} ${path} → ${response.status}`, status: response.status, body });
    return { status: response.status, body, headers: response.headers };
  };
  const bearer = (t: string) => `Bearer ${t}`;
  const basic = (pair: string) => `Basic ${Buffer.from(pair).toString('base64')}`;
  const later = (ms: number) => clock.advance(ms);

  before(async () => {
    const vendors: Record<string, SandboxConfigInput> = {
      segment: { credential: SEGMENT, lifecycle },
      mixpanel: { credential: MIXPANEL, lifecycle, options: { projectToken: 'p' } },
      amplitude: { credential: AMPLITUDE, lifecycle, options: { scheduleAfterDays: 3, unknownUserIds: ['ghost'], amplitudeIdsPerUser: 2 } },
      mparticle: { credential: MPARTICLE, lifecycle },
      appsflyer: { credential: APPSFLYER, lifecycle },
    };
    sandbox = await startSandbox({ clock, vendors });
  });
  after(async () => {
    await sandbox.stop();
  });

  it('Segment: create (workspace, source), status through every state, cancel, 404, 422 and its 429', async () => {
    const auth = bearer(SEGMENT);
    const create = (path = '/regulations') => call('segment', 'create', 'POST', path, { auth, json: { regulationType: 'SUPPRESS_WITH_DELETE', subjectType: 'USER_ID', subjectIds: ['u1', 'u2'] } });
    const status = (id: string) => call('segment', 'status', 'GET', `/regulations/${id}`, { auth });
    const id = ((await create()).body as { data: { regulateId: string } }).data.regulateId;
    await create('/regulations/sources/src-1');
    for (const step of [0, 3 * DAY, 2 * DAY]) {
      later(step);
      await status(id);
    }
    for (const options of [{ destinations: [{ id: 'd', name: 'D', supported: true }] }, { unsupportedReports: 'FAILED' as const }]) {
      sandbox.control.configure('segment', { options });
      const other = ((await create()).body as { data: { regulateId: string } }).data.regulateId;
      later(5 * DAY);
      await status(other);
    }
    sandbox.control.configure('segment', { options: {}, lifecycle: { failureShare: 1 } });
    const failing = ((await create()).body as { data: { regulateId: string } }).data.regulateId;
    later(5 * DAY);
    await status(failing);
    const cancellable = ((await create()).body as { data: { regulateId: string } }).data.regulateId;
    await call('segment', 'cancel', 'DELETE', `/regulations/${cancellable}`, { auth });
    await call('segment', 'cancel', 'DELETE', `/regulations/${failing}`, { auth });
    await status('reg_unknown');
    await call('segment', 'create', 'POST', '/regulations', { auth, json: { regulationType: 'NOPE' } });
    sandbox.control.configure('segment', { rateLimit: { requests: 1, perMs: 60_000 } });
    await create();
    const limited = await create();
    assert.equal(limited.status, 429);
  });

  it('Mixpanel: both create shapes, both status shapes through every state, cancel 204 and 405, 401 and its 429', async () => {
    const auth = bearer(MIXPANEL);
    const path = '/api/app/data-deletions/v3.0/?token=p';
    const task = (id: string) => `/api/app/data-deletions/v3.0/${id}?token=p`;
    const create = () => call('mixpanel', 'create', 'POST', path, { auth, json: { distinct_ids: ['a', 'b'], compliance_type: 'CCPA' } });
    const idOf = (body: unknown) => {
      const results = (body as { results: { task_id?: string } | { tracking_id: string }[] }).results;
      return Array.isArray(results) ? results[0]!.tracking_id : results.task_id!;
    };
    for (const createShape of ['task_id', 'tracking_list'] as const) {
      for (const statusShape of ['openapi', 'reference'] as const) {
        sandbox.control.configure('mixpanel', { options: { projectToken: 'p', createShape, statusShape } });
        const id = idOf((await create()).body);
        for (const step of [0, 1.5 * DAY, 1 * DAY, 2 * DAY]) {
          later(step);
          await call('mixpanel', 'status', 'GET', task(id), { auth });
        }
        await call('mixpanel', 'cancel', 'DELETE', task(id), { auth });
        await call('mixpanel', 'status', 'GET', task('unknown'), { auth });
      }
    }
    const fresh = idOf((await create()).body);
    await call('mixpanel', 'cancel', 'DELETE', task(fresh), { auth });
    await call('mixpanel', 'status', 'GET', task(fresh), { auth });
    await call('mixpanel', 'create', 'POST', '/api/app/data-deletions/v3.0/?token=wrong', { auth, json: { distinct_ids: ['a'] } });
    await call('mixpanel', 'create', 'POST', path, { auth: bearer('expired'), json: { distinct_ids: ['a'] } });
    sandbox.control.configure('mixpanel', { rateLimit: { requests: 1, perMs: 1_000 } });
    await create();
    assert.equal((await create()).status, 429);
  });

  it('Amplitude: both create shapes, the job list through every state, cancel, 400 and 401', async () => {
    const auth = basic(AMPLITUDE);
    const path = '/api/2/deletions/users';
    const list = (start: string, end: string) => call('amplitude', 'list', 'GET', `${path}?start_day=${start}&end_day=${end}`, { auth });
    const body = { requester: 'consent-erasure', include_mapped_user_ids: true, user_ids: ['u1', 'ghost'], ignore_invalid_id: true, ignore_invalid_ids: true };
    const created = (await call('amplitude', 'create', 'POST', path, { auth, json: body })).body as { day: string; amplitude_ids: { amplitude_id: number }[] }[];
    await call('amplitude', 'create', 'POST', path, { auth, json: { requester: 'x', user_ids: ['u2'] } });
    const day = created[0]!.day;
    await call('amplitude', 'cancel', 'DELETE', `${path}/${created[0]!.amplitude_ids[0]!.amplitude_id}/${day}`, { auth });
    for (const step of [0, 2 * DAY + HOUR, 2 * DAY]) {
      later(step);
      await list('2026-01-01', '2026-06-01');
    }
    sandbox.control.configure('amplitude', { options: { createShape: 'object' } });
    await call('amplitude', 'create', 'POST', path, { auth, json: { requester: 'x', user_ids: ['u3'] } });
    await call('amplitude', 'create', 'POST', path, { auth, json: { user_ids: ['ghost'] } });
    await call('amplitude', 'list', 'GET', path, { auth: basic('wrong:key') });
  });

  it('mParticle: create, status through every state and forwarding, group list, cancel, 400, 404, 409, 401 and its 429', async () => {
    const auth = basic(MPARTICLE);
    const body = (customer: string, id = randomUUID()) => ({
      regulation: 'gdpr',
      subject_request_id: id,
      subject_request_type: 'erasure',
      submitted_time: '2026-03-01T10:00:00.000Z',
      subject_identities: { controller_customer_id: { value: customer, encoding: 'raw' } },
      api_version: '3.0',
      group_id: `group-${customer}`,
    });
    const first = body('c1');
    await call('mparticle', 'create', 'POST', '/v3/requests/', { auth, json: first });
    await call('mparticle', 'create', 'POST', '/v3/requests/', { auth, json: first });
    await call('mparticle', 'create', 'POST', '/v3/requests/', { auth, json: body('c1') });
    await call('mparticle', 'list', 'GET', '/v3/requests?group_id=group-c1', { auth });
    for (const timestamps of ['offset', 'no-offset'] as const) {
      sandbox.control.configure('mparticle', {
        options: { timestamps, forwarding: [{ domain: 'a.example', name: 'A', status: 'sent' }, { domain: 'b.example', name: 'B', status: 'failed', status_message: 'x' }] },
      });
      const next = body(`c-${timestamps}`);
      await call('mparticle', 'create', 'POST', '/v3/requests/', { auth, json: next });
      for (const step of [0, 3 * DAY, 2 * DAY]) {
        later(step);
        await call('mparticle', 'status', 'GET', `/v3/requests/${next.subject_request_id}`, { auth });
      }
      await call('mparticle', 'cancel', 'DELETE', `/v3/requests/${next.subject_request_id}`, { auth });
    }
    const cancelled = body('c9');
    await call('mparticle', 'create', 'POST', '/v3/requests/', { auth, json: cancelled });
    await call('mparticle', 'cancel', 'DELETE', `/v3/requests/${cancelled.subject_request_id}`, { auth });
    await call('mparticle', 'status', 'GET', `/v3/requests/${cancelled.subject_request_id}`, { auth });
    await call('mparticle', 'status', 'GET', `/v3/requests/${randomUUID()}`, { auth });
    await call('mparticle', 'create', 'POST', '/v3/requests/', { auth: basic('wrong:secret'), json: body('c10') });
    sandbox.control.configure('mparticle', { rateLimit: { requests: 1, perMs: 60_000 } });
    await call('mparticle', 'create', 'POST', '/v3/requests/', { auth, json: body('c11') });
    assert.equal((await call('mparticle', 'create', 'POST', '/v3/requests/', { auth, json: body('c12') })).status, 429);
  });

  it('AppsFlyer: create, status through every state in both spellings, cancel, and its 400 codes', async () => {
    const auth = bearer(APPSFLYER);
    const path = '/api/gdpr/v1/opendsr_requests';
    const body = (customer: string, id = randomUUID()) => ({
      subject_request_id: id,
      subject_request_type: 'erasure',
      submitted_time: '2026-03-01T10:00:00.000Z',
      subject_identities: [{ identity_type: 'customer_user_id', identity_value: customer, identity_format: 'raw' }],
      api_version: '0.1',
      property_id: 'com.example',
      platform: 'android',
      regulation: 'gdpr',
    });
    for (const spelling of ['appsflyer', 'opendsr'] as const) {
      sandbox.control.configure('appsflyer', { options: { spelling } });
      const request = body(`c-${spelling}`);
      await call('appsflyer', 'create', 'POST', path, { auth, json: request });
      await call('appsflyer', 'create', 'POST', path, { auth, json: request });
      await call('appsflyer', 'create', 'POST', path, { auth, json: body(`c-${spelling}`) });
      for (const step of [0, 3 * DAY, 2 * DAY]) {
        later(step);
        await call('appsflyer', 'status', 'GET', `${path}/${request.subject_request_id}`, { auth });
      }
      await call('appsflyer', 'cancel', 'DELETE', `${path}/${request.subject_request_id}`, { auth });
      const cancellable = body(`d-${spelling}`);
      await call('appsflyer', 'create', 'POST', path, { auth, json: cancellable });
      await call('appsflyer', 'cancel', 'DELETE', `${path}/${cancellable.subject_request_id}`, { auth });
      await call('appsflyer', 'status', 'GET', `${path}/${cancellable.subject_request_id}`, { auth });
    }
    await call('appsflyer', 'status', 'GET', `${path}/${randomUUID()}`, { auth });
    await call('appsflyer', 'cancel', 'DELETE', `${path}/${randomUUID()}`, { auth });
    await call('appsflyer', 'create', 'POST', path, { auth, json: { ...body('x'), api_version: undefined } });
    await call('appsflyer', 'create', 'POST', path, { auth, json: { ...body('x'), subject_identities: [{ identity_type: 'email', identity_value: 'x', identity_format: 'raw' }] } });
  });

  it('every answer seen matches a documented example', () => {
    assert.ok(seen.length > 80, `${seen.length} answers`);
    const matches = (s: Seen) => [...matchingFixtures(s.vendor, s.operation, s.status, s.body), ...matchingFixtures(s.vendor, 'error', s.status, s.body)];
    const unmatched = seen.filter((s) => matches(s).length === 0);
    const explain = unmatched.map((s) => {
      const candidates = loadFixtures(s.vendor).filter((f) => (f.operation === s.operation || f.operation === 'error') && f.response.status === s.status);
      const closest = candidates
        .map((f) => ({ file: f.file, problems: f.response.body === undefined ? ['a body where the document shows none'] : shapeDifferences(s.body, f.response.body) }))
        .sort((a, b) => a.problems.length - b.problems.length)[0];
      return `${s.vendor} ${s.what}: ${closest ? `closest ${closest.file}: ${closest.problems.join('; ')}` : `no ${s.operation} or error example with status ${s.status}`}`;
    });
    assert.deepEqual(explain, []);
  });
});
