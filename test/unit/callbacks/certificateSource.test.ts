import assert from 'node:assert/strict';
import sinon from 'sinon';
import { parseCertificates } from '../../../functions/callbacks/certificateChain.js';
import { createCertificateSource, type CertificateSourceOptions } from '../../../functions/callbacks/certificateSource.js';
import { ProcessorSchema, type Processor } from '../../../functions/callbacks/policy.js';
import { createTtlCache } from '../../../functions/callbacks/ttlCache.js';
import { createFakeClock, DAY, HOUR, MINUTE, SECOND } from '../../../functions/clock.js';
import { DOMAIN, NOW, testPki, type TestPki } from './pki.js';

const DISCOVERY = 'https://opendsr.mparticle.com/v3/discovery/';
const CERT_URL = 'https://static.mparticle.com/dsr/opendsr_cert.pem';
const processor: Processor = ProcessorSchema.parse({ vendor: 'mparticle', domain: DOMAIN, discoveryUrl: DISCOVERY });

type Route = () => Response;
const json = (body: unknown) => () => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
const text = (body: string | Uint8Array, status = 200, headers: Record<string, string> = {}) => () => new Response(body, { status, headers });

describe('certificate source (fetch and cache)', function () {
  this.timeout(30_000);
  let pki: TestPki;
  before(async () => {
    pki = await testPki();
  });

  function setup(routes: Record<string, Route>, options: Partial<CertificateSourceOptions> = {}) {
    const clock = createFakeClock(NOW);
    const fetch = sinon.stub().callsFake(async (url: string) => {
      const route = routes[url];
      if (!route) throw new TypeError('fetch failed');
      return route();
    });
    const source = createCertificateSource({ fetch: fetch as unknown as typeof globalThis.fetch, clock, allowInsecureUrls: false, ...options });
    const urls = () => fetch.getCalls().map((c) => c.args[0] as string);
    return { clock, fetch, source, urls };
  }

  const routesFor = (pem: string) => ({ [DISCOVERY]: json({ api_version: '3.0', processor_certificate: CERT_URL }), [CERT_URL]: text(pem) });

  it('reads processor_certificate from discovery, downloads the file, and serves it from the cache afterwards', async () => {
    const { source, urls } = setup(routesFor(pki.leaf.bundlePem));
    const first = await source.get(processor);
    assert.ok(first.ok && !first.fromCache && first.url === CERT_URL);
    assert.equal(parseCertificates(first.pem)[0]!.fingerprint256, pki.leaf.fingerprint256);
    const second = await source.get(processor);
    assert.ok(second.ok && second.fromCache);
    assert.deepEqual(urls(), [DISCOVERY, CERT_URL]);
  });

  it('keeps a certificate for its lifetime, capped at a day, then fetches it again', async () => {
    const { source, clock, urls } = setup(routesFor(pki.leaf.bundlePem), { maxCertificateTtlMs: 400 * DAY, discoveryTtlMs: 400 * DAY });
    await source.get(processor);
    clock.advance(334 * DAY); // the leaf ends 335 days after NOW
    assert.ok((await source.get(processor)).ok);
    assert.equal(urls().length, 2);
    clock.advance(2 * DAY);
    await source.get(processor);
    assert.deepEqual(urls().slice(2), [CERT_URL]);

    const capped = setup(routesFor(pki.leaf.bundlePem), { discoveryTtlMs: 400 * DAY });
    await capped.source.get(processor);
    capped.clock.advance(DAY + SECOND);
    await capped.source.get(processor);
    assert.deepEqual(capped.urls(), [DISCOVERY, CERT_URL, CERT_URL]);
  });

  it('keeps an expired certificate only for the failure period, so a renewed one is picked up', async () => {
    const { source, clock, urls } = setup(routesFor(pki.expired.bundlePem));
    assert.ok((await source.get(processor)).ok);
    clock.advance(MINUTE + SECOND);
    await source.get(processor);
    assert.equal(urls().filter((u) => u === CERT_URL).length, 2);
  });

  it('answers "unavailable" with Retry-After when discovery or the file fails, and remembers the failure for a minute', async () => {
    const cases: Array<[Record<string, Route>, RegExp]> = [
      [{}, /request failed/],
      [{ [DISCOVERY]: text('down', 503) }, /HTTP 503/],
      [{ [DISCOVERY]: text('<html>') }, /not JSON/],
      [{ [DISCOVERY]: json({ api_version: '3.0' }) }, /no valid processor_certificate/],
      [{ [DISCOVERY]: json({ processor_certificate: 'http://static.mparticle.com/cert.pem' }) }, /not an https URL/],
      [{ ...routesFor(''), [CERT_URL]: text('<html>maintenance</html>') }, /not an X\.509 certificate/],
      [{ ...routesFor(''), [CERT_URL]: text('x'.repeat(70_000)) }, /above 65536 bytes/],
    ];
    for (const [routes, detail] of cases) {
      const { source, clock, urls } = setup(routes);
      const result = await source.get(processor);
      assert.ok(!result.ok, String(detail));
      assert.match(result.detail, detail);
      assert.equal(result.retryAfterSeconds, 60);
      const calls = urls().length;
      clock.advance(30 * SECOND);
      const again = await source.get(processor);
      assert.ok(!again.ok && again.retryAfterSeconds === 30);
      assert.equal(urls().length, calls, 'no fetch while the failure is remembered');
    }
  });

  it('accepts a DER certificate (AppsFlyer documents a binary file) and stores it as PEM', async () => {
    const der = parseCertificates(pki.leaf.certificatePem)[0]!.raw;
    const { source } = setup({ ...routesFor(''), [CERT_URL]: text(der) });
    const result = await source.get(processor);
    assert.ok(result.ok && result.pem.startsWith('-----BEGIN CERTIFICATE-----'));
  });

  it('follows a few redirects to https URLs only', async () => {
    const moved = 'https://cdn.mparticle.com/cert.pem';
    const { source } = setup({ ...routesFor(''), [CERT_URL]: text('', 302, { location: moved }), [moved]: text(pki.leaf.bundlePem) });
    assert.ok((await source.get(processor)).ok);
    const down = setup({ ...routesFor(''), [CERT_URL]: text('', 302, { location: 'http://169.254.169.254/latest' }) });
    const refused = await down.source.get(processor);
    assert.ok(!refused.ok && /not an https URL/.test(refused.detail));
    const loop = setup({ ...routesFor(''), [CERT_URL]: text('', 302, { location: CERT_URL }) });
    const looped = await loop.source.get(processor);
    assert.ok(!looped.ok && /redirected more than 3 times/.test(looped.detail));
  });

  it('allows http only when configured for the local stack', async () => {
    const local = ProcessorSchema.parse({ vendor: 'mparticle', domain: DOMAIN, discoveryUrl: 'http://127.0.0.1:9/discovery' });
    const routes = { 'http://127.0.0.1:9/discovery': json({ processor_certificate: 'http://127.0.0.1:9/cert.pem' }), 'http://127.0.0.1:9/cert.pem': text(pki.leaf.bundlePem) };
    assert.ok(!(await setup(routes).source.get(local)).ok);
    assert.ok((await setup(routes, { allowInsecureUrls: true }).source.get(local)).ok);
  });

  it('shares one fetch among concurrent callbacks', async () => {
    const { source, urls } = setup(routesFor(pki.leaf.bundlePem));
    const results = await Promise.all(Array.from({ length: 20 }, () => source.get(processor)));
    assert.ok(results.every((r) => r.ok));
    assert.deepEqual(urls(), [DISCOVERY, CERT_URL]);
  });

  it('refreshes on demand (a rotated key), at most once per five minutes', async () => {
    const { source, clock, urls } = setup(routesFor(pki.leaf.bundlePem));
    await source.get(processor);
    assert.equal(await source.refresh(processor), null);
    clock.advance(5 * MINUTE);
    const fresh = await source.refresh(processor);
    assert.ok(fresh?.ok && !fresh.fromCache);
    assert.deepEqual(urls(), [DISCOVERY, CERT_URL, DISCOVERY, CERT_URL]);
  });

  it('logs each fetch and each failure as a named event', async () => {
    const log = { info: sinon.spy(), warn: sinon.spy() };
    await setup(routesFor(pki.leaf.bundlePem), { log }).source.get(processor);
    await setup({}, { log }).source.get(processor);
    assert.equal(log.info.firstCall.args[0].event, 'callback_certificate_fetched');
    assert.equal(log.info.firstCall.args[0].fingerprint256, pki.leaf.fingerprint256);
    assert.equal(log.warn.firstCall.args[0].event, 'callback_certificate_unavailable');
  });
});

describe('bounded TTL cache', () => {
  it('expires entries at their own time and evicts the least recently used beyond its size', () => {
    const clock = createFakeClock(NOW);
    const cache = createTtlCache<number>({ clock, maxEntries: 2 });
    cache.set('a', 1, new Date(NOW.getTime() + HOUR));
    cache.set('b', 2, new Date(NOW.getTime() + 2 * HOUR));
    assert.equal(cache.get('a')?.value, 1); // a is now the most recent
    cache.set('c', 3, new Date(NOW.getTime() + HOUR));
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.size, 2);
    clock.advance(HOUR);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('c'), undefined);
    assert.throws(() => createTtlCache({ clock, maxEntries: 0 }), RangeError);
  });
});
