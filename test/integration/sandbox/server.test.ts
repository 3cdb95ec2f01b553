import assert from 'node:assert/strict';
import { createFakeClock } from '../../../functions/clock.js';
import { SandboxConfigError, SandboxModuleNotFoundError, startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox, SandboxModule, SandboxOptions } from '../../../local/sandbox/types.js';

/** Raw HTTP against the sandbox, so what is checked is what any client would see. */
async function call(
  url: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
  const res = await fetch(url, {
    method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

describe('vendor sandbox', () => {
  const clock = createFakeClock('2026-05-01T00:00:00Z');
  const running: RunningSandbox[] = [];
  const start = async (options: SandboxOptions = {}) => {
    const s = await startSandbox({ clock, ...options });
    running.push(s);
    return s;
  };
  const create = (s: RunningSandbox, key: string, customerId = 'c-1') =>
    call(`${s.url}/http/deletions`, { body: { customerId, requestId: key }, headers: { 'idempotency-key': key } });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    clock.set('2026-05-01T00:00:00Z');
  });

  describe('control API over HTTP', () => {
    it('lists modules, merges a partial config, and keeps the rest', async () => {
      const s = await start({ vendors: { http: { lifecycle: { inProgressAfterMs: 5, completeAfterMs: 50 } } } });
      assert.deepEqual((await call(`${s.url}/_sandbox`)).json, { modules: ['http'] });
      const r = await call(`${s.url}/_sandbox/http/config`, { body: { latencyMs: 3, lifecycle: { completeAfterMs: 99 } } });
      assert.equal(r.status, 200);
      const cfg = r.json as { latencyMs: number; lifecycle: Record<string, number>; options: Record<string, string> };
      assert.equal(cfg.latencyMs, 3);
      assert.deepEqual(cfg.lifecycle, { inProgressAfterMs: 5, completeAfterMs: 99, failureShare: 0 });
      assert.equal(cfg.options['createPath'], '/deletions', 'module defaults are filled');
      assert.deepEqual((await call(`${s.url}/_sandbox/http/config`)).json, cfg);
      assert.deepEqual(s.control.config('http'), cfg);
    });

    it('rejects a bad config with every problem named and changes nothing', async () => {
      const s = await start();
      const before = s.control.config('http');
      const r = await call(`${s.url}/_sandbox/http/config`, {
        body: { failureShare: 2, drift: 'sideways', bogus: true, options: { statusPath: '/no-id' } },
      });
      assert.equal(r.status, 400);
      const problems = (r.json as { problems: string[] }).problems;
      assert.ok(problems.some((p) => p.startsWith('failureShare:')), problems.join('\n'));
      assert.ok(problems.some((p) => p.startsWith('drift:')));
      assert.ok(problems.some((p) => p.includes('bogus')));
      assert.equal((await call(`${s.url}/_sandbox/http/config`, { raw: 'not json' })).status, 400);
      assert.equal((await call(`${s.url}/_sandbox/http/config`, { body: { options: { statusPath: '/no-id' } } })).status, 400);
      assert.deepEqual(s.control.config('http'), before);
      assert.throws(() => s.control.configure('http', { latencyMs: -1 }), SandboxConfigError);
    });

    it('records every call with method, path, body, status and sandbox time', async () => {
      const s = await start();
      await create(s, 'k1');
      clock.advance(1500);
      await call(`${s.url}/http/deletions/op_missing?token=shh`);
      const r = await call(`${s.url}/_sandbox/http/calls`);
      assert.deepEqual((r.json as { calls: unknown[] }).calls, [
        { seq: 1, method: 'POST', path: '/deletions', body: { customerId: 'c-1', requestId: 'k1' }, status: 201, outcome: 'answered', at: '2026-05-01T00:00:00.000Z' },
        { seq: 2, method: 'GET', path: '/deletions/op_missing', status: 404, outcome: 'answered', at: '2026-05-01T00:00:01.500Z' },
      ]);
      const since = await call(`${s.url}/_sandbox/http/calls?since=1`);
      assert.deepEqual(
        (since.json as { calls: { seq: number }[] }).calls.map((c) => c.seq),
        [2],
      );
      assert.equal((await call(`${s.url}/_sandbox/http/calls?since=x`)).status, 400);
    });

    it('keeps only the last recordLimit calls but counts them all', async () => {
      const s = await start({ vendors: { http: { recordLimit: 3 } } });
      for (let i = 0; i < 10; i++) await create(s, `k${i}`);
      const seqs = s.control.calls('http').map((c) => c.seq);
      assert.ok(seqs.length >= 3 && seqs.length < 6, `kept ${seqs.length}`);
      assert.equal(seqs.at(-1), 10);
      assert.equal(s.control.stats('http').requests, 10);
      assert.equal(s.control.stats('http').byStatus['201'], 10);
    });

    it('resets operations, calls, counters and config', async () => {
      const s = await start({ vendors: { http: { latencyMs: 0 } } });
      const created = await create(s, 'k1');
      const id = (created.json as { operationId: string }).operationId;
      await call(`${s.url}/_sandbox/http/config`, { body: { failureShare: 1 } });
      assert.equal((await create(s, 'k2')).status, 503);
      assert.equal((await call(`${s.url}/_sandbox/http/reset`, { method: 'POST' })).status, 204);
      assert.equal(s.control.config('http').failureShare, 0);
      assert.deepEqual(s.control.calls('http'), []);
      assert.equal(s.control.stats('http').requests, 0);
      assert.equal((await call(`${s.url}/http/deletions/${id}`)).status, 404);
      const again = await create(s, 'k1');
      assert.notEqual((again.json as { operationId: string }).operationId, id, 'ids are not reused after a reset');
    });

    it('answers 404 for unknown modules and routes', async () => {
      const s = await start();
      assert.equal((await call(`${s.url}/_sandbox/segment/calls`)).status, 404);
      assert.equal((await call(`${s.url}/_sandbox/http/nothing`)).status, 404);
      assert.equal((await call(`${s.url}/segment/regulations`)).status, 404);
      assert.throws(() => s.control.calls('segment'), SandboxModuleNotFoundError);
      await assert.rejects(startSandbox({ vendors: { acme: {} } }), SandboxConfigError);
    });
  });

  describe('rate limit', () => {
    const post = (s: RunningSandbox, n: number) => create(s, `k${n}`, `c${n}`);

    it('answers 429 with Retry-After past the limit and counts each excess request', async () => {
      const s = await start({ vendors: { http: { rateLimit: { requests: 5, perMs: 1000 } } } });
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push((await post(s, i)).status);
      assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429, 429, 429]);
      const limited = await post(s, 99);
      assert.equal(limited.headers.get('retry-after'), '1');
      const stats = s.control.stats('http');
      assert.equal(stats.rateLimitExceeded, 4);
      assert.equal(stats.byOutcome.rate_limited, 4);
      assert.equal(stats.peakWindowRequests, 5);
      clock.advance(1000);
      assert.equal((await post(s, 100)).status, 201, 'the window has slid past the first burst');
    });

    it('gives the wait until the oldest request leaves the window', async () => {
      const s = await start({ vendors: { http: { rateLimit: { requests: 2, perMs: 10_000 } } } });
      await post(s, 1);
      clock.advance(4000);
      await post(s, 2);
      clock.advance(1000);
      const r = await post(s, 3);
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '5');
      clock.advance(4999);
      assert.equal((await post(s, 4)).status, 429);
      clock.advance(1);
      assert.equal((await post(s, 5)).status, 201);
    });

    it('counts nothing for a client that keeps to the limit', async () => {
      const s = await start({ vendors: { http: { rateLimit: { requests: 4, perMs: 1000 } } } });
      for (let i = 0; i < 40; i++) {
        assert.equal((await post(s, i)).status, 201);
        clock.advance(250);
      }
      const stats = s.control.stats('http');
      assert.equal(stats.rateLimitExceeded, 0);
      assert.equal(stats.peakWindowRequests, 4);
    });

    it('applies a limit changed at run time', async () => {
      const s = await start();
      for (let i = 0; i < 5; i++) await post(s, i);
      s.control.configure('http', { rateLimit: { requests: 1 } });
      assert.equal((await post(s, 10)).status, 201);
      assert.equal((await post(s, 11)).status, 429);
      s.control.configure('http', { rateLimit: null });
      assert.equal((await post(s, 12)).status, 201);
      assert.equal(s.control.stats('http').rateLimitExceeded, 1);
    });
  });

  describe('faults', () => {
    it('waits out the configured latency with the injected sleep, fault answers included', async () => {
      const slept: number[] = [];
      const s = await start({
        sleep: async (ms) => {
          slept.push(ms);
        },
        vendors: { http: { latencyMs: 40, credential: 'tok' } },
      });
      await create(s, 'k1');
      s.control.configure('http', { latencyJitterMs: 10 });
      await create(s, 'k2');
      assert.deepEqual(slept.slice(0, 1), [40]);
      assert.ok(slept[1]! >= 40 && slept[1]! <= 50);
      assert.equal(s.control.stats('http').byStatus['401'], 2);
    });

    it('answers the failure share with the configured 5xx', async () => {
      const s = await start({ seed: 7, vendors: { http: { failureShare: 0.5, failureStatus: 500 } } });
      let failures = 0;
      for (let i = 0; i < 100; i++) if ((await create(s, `k${i}`)).status === 500) failures += 1;
      assert.ok(failures > 25 && failures < 75, `${failures} of 100 failed`);
      assert.equal(s.control.stats('http').byOutcome.failure, failures);
    });

    it('repeats the same faults for the same seed', async () => {
      const run = async () => {
        const s = await start({ seed: 42, vendors: { http: { failureShare: 0.3 } } });
        const out = [];
        for (let i = 0; i < 30; i++) out.push((await create(s, `k${i}`)).status);
        return out;
      };
      const a = await run();
      assert.deepEqual(await run(), a);
      assert.ok(a.includes(503) && a.includes(201));
    });

    it('resets the connection', async () => {
      const s = await start({ vendors: { http: { resetShare: 1 } } });
      await assert.rejects(create(s, 'k1'), TypeError);
      assert.equal(s.control.stats('http').byOutcome.reset, 1);
      assert.equal(s.control.calls('http')[0]!.status, 0);
    });

    it('hangs a request past the client timeout, and stop() ends it', async () => {
      const s = await start({ vendors: { http: { timeoutShare: 1, hangMs: 60_000 } } });
      await assert.rejects(
        fetch(`${s.url}/http/deletions/x`, { signal: AbortSignal.timeout(150) }),
        (err: unknown) => err instanceof Error && err.name === 'TimeoutError',
      );
      const pending = fetch(`${s.url}/http/deletions/y`).then(
        () => 'answered',
        () => 'connection ended',
      );
      // Wait until the sandbox has the second request, then stop it: the hang must not keep it alive.
      while (s.control.stats('http').requests < 2) await new Promise((r) => setImmediate(r));
      await s.stop();
      assert.equal(await pending, 'connection ended');
    });

    it('checks the bearer credential and can reject every credential', async () => {
      const s = await start({ vendors: { http: { credential: 'tok' } } });
      const keyed = (token?: string) =>
        call(`${s.url}/http/deletions/op_x`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      assert.equal((await keyed()).status, 401);
      assert.equal((await keyed('nope')).status, 401);
      assert.equal((await keyed('tok')).status, 404);
      s.control.configure('http', { rejectCredentials: true });
      assert.equal((await keyed('tok')).status, 401);
      assert.equal(s.control.stats('http').byOutcome.unauthorized, 3);
    });
  });

  describe('drift modes', () => {
    it('renames fields, answers an unknown status, an HTML page or a truncated body', async () => {
      const s = await start();
      const id = ((await create(s, 'k1')).json as { operationId: string }).operationId;
      const status = () => call(`${s.url}/http/deletions/${id}`);

      s.control.configure('http', { drift: 'rename_field' });
      assert.deepEqual(Object.keys((await create(s, 'k2')).json as object).sort(), ['operation_id', 'status']);
      assert.deepEqual(Object.keys((await status()).json as object).sort(), ['operationId', 'state']);

      s.control.configure('http', { drift: 'unknown_status' });
      assert.equal(((await status()).json as { status: string }).status, 'queued_for_review');

      s.control.configure('http', { drift: 'html' });
      const html = await status();
      assert.equal(html.status, 200);
      assert.match(html.headers.get('content-type') ?? '', /text\/html/);
      assert.match(html.text, /^<!DOCTYPE html>/);

      s.control.configure('http', { drift: 'truncated' });
      const cut = await status();
      assert.equal(cut.status, 200);
      assert.equal(cut.json, undefined, 'not parseable');
      assert.ok(cut.text.startsWith('{"operationId":"'));

      assert.equal(s.control.stats('http').byOutcome.drift, 5);
      s.control.configure('http', { drift: 'html' });
      assert.equal((await call(`${s.url}/http/deletions/op_none`)).status, 404, 'errors are not drifted');
    });
  });

  describe('the http module', () => {
    it('moves an operation on the sandbox clock and fixes its timetable at creation', async () => {
      const s = await start({ vendors: { http: { lifecycle: { inProgressAfterMs: 100, completeAfterMs: 300 } } } });
      const id = ((await create(s, 'k1')).json as { operationId: string }).operationId;
      s.control.configure('http', { lifecycle: { completeAfterMs: 1_000_000 } });
      const seen = [];
      for (const step of [0, 100, 199, 1]) {
        clock.advance(step);
        seen.push(((await call(`${s.url}/http/deletions/${id}`)).json as { status: string }).status);
      }
      assert.deepEqual(seen, ['pending', 'in_progress', 'in_progress', 'complete']);
      assert.deepEqual(s.control.state('http'), { operations: 1, byStatus: { pending: 0, in_progress: 0, complete: 1, failed: 0 } });
    });

    it('wants a body and an Idempotency-Key, and a key for one customer only', async () => {
      const s = await start();
      const url = `${s.url}/http/deletions`;
      assert.equal((await call(url, { body: { customerId: 'c' }, headers: { 'idempotency-key': 'k' } })).status, 400);
      assert.equal((await call(url, { raw: '{oops', headers: { 'idempotency-key': 'k' } })).status, 400);
      assert.equal((await call(url, { body: { customerId: 'c', requestId: 'k' } })).status, 400);
      assert.equal((await create(s, 'k', 'c-1')).status, 201);
      assert.equal((await create(s, 'k', 'c-2')).status, 422);
      assert.equal((await call(`${s.url}/http/deletions`, { method: 'PUT', body: {} })).status, 405);
    });

    it('handles a thousand operations', async () => {
      const s = await start({ vendors: { http: { lifecycle: { inProgressAfterMs: 0, completeAfterMs: 10 } } } });
      const ids: string[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const made = await Promise.all(Array.from({ length: 50 }, (_, i) => create(s, `k-${batch}-${i}`, `c-${batch}-${i}`)));
        ids.push(...made.map((r) => (r.json as { operationId: string }).operationId));
      }
      assert.equal(new Set(ids).size, 1000);
      clock.advance(10);
      assert.deepEqual(s.control.state('http'), { operations: 1000, byStatus: { pending: 0, in_progress: 0, complete: 1000, failed: 0 } });
    });
  });

  describe('other modules', () => {
    it('mounts a module at its own prefix with its own credential check, rate scope and limits', async () => {
      let served = 0;
      const quota: SandboxModule = {
        name: 'quota',
        authorize: (req, credential) => req.query.get('token') === credential,
        rateLimited: (req) => req.method === 'POST',
        handle(req, ctx) {
          served += 1;
          if (req.method === 'POST' && served > 2) {
            ctx.countExceeded('daily_quota');
            return { status: 429, body: { error: 'daily quota' } };
          }
          return { status: 200, body: { ok: true, path: req.path, at: ctx.clock.now().toISOString() } };
        },
        drift: (_mode, reply) => ({ ...reply, body: { renamed: true } }),
        reset() {
          served = 0;
        },
      };
      const s = await start({ vendors: { http: {}, quota: { module: quota, config: { credential: 'qt', rateLimit: { requests: 1, perMs: 60_000 } } } } });
      assert.deepEqual(s.control.modules(), ['http', 'quota']);
      assert.equal((await call(`${s.url}/quota/a?token=bad`)).status, 401);
      const ok = await call(`${s.url}/quota/a/b?token=qt`);
      assert.deepEqual(ok.json, { ok: true, path: '/a/b', at: '2026-05-01T00:00:00.000Z' });
      assert.equal((await call(`${s.url}/quota/x?token=qt`, { method: 'POST', body: {} })).status, 200);
      assert.equal((await call(`${s.url}/quota/x?token=qt`, { method: 'POST', body: {} })).status, 429, 'the sandbox limit');
      assert.equal((await call(`${s.url}/quota/x?token=qt`)).status, 200, 'GET is not rate limited here');
      clock.advance(60_000);
      assert.equal((await call(`${s.url}/quota/x?token=qt`, { method: 'POST', body: {} })).status, 429, 'the module quota');
      const stats = s.control.stats('quota');
      assert.equal(stats.rateLimitExceeded, 1);
      assert.deepEqual(stats.moduleLimitsExceeded, { daily_quota: 1 });
      s.control.configure('quota', { drift: 'rename_field' });
      assert.deepEqual((await call(`${s.url}/quota/x?token=qt`)).json, { renamed: true });
      assert.equal(s.control.calls('quota').every((c) => !JSON.stringify(c).includes('qt')), true, 'no credential recorded');
      assert.equal(s.control.stats('http').requests, 0);
    });
  });
});
