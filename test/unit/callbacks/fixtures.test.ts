import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseCallbackBody } from '../../../functions/callbacks/callbackBody.js';
import { precheckCallback } from '../../../functions/callbacks/decideCallback.js';
import { DiscoveryDocumentSchema } from '../../../functions/callbacks/discovery.js';
import { CallbackPolicySchema } from '../../../functions/callbacks/policy.js';
import { decodeSignatureHeader } from '../../../functions/callbacks/signature.js';

// The contract-fixture format shared with the deletion and lookup fixtures.
const Fixture = z.strictObject({
  source: z.strictObject({ url: z.url(), document: z.string().min(1), section: z.string().min(1), read: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }),
  operation: z.enum(['callback', 'discovery']),
  variant: z.string().min(1),
  note: z.string().optional(),
  request: z.strictObject({
    method: z.enum(['GET', 'POST']),
    path: z.string().startsWith('/'),
    query: z.record(z.string(), z.string()),
    headers: z.record(z.string(), z.string()),
    body: z.unknown(),
  }),
  response: z.strictObject({ status: z.int().min(100).max(599), headers: z.record(z.string(), z.string()), body: z.unknown() }),
});
type Fixture = z.infer<typeof Fixture>;

const folder = join(import.meta.dirname, '../../fixtures/vendors/opendsr');
const load = (prefix: string) =>
  readdirSync(folder)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .map((file) => ({ file, fixture: Fixture.parse(JSON.parse(readFileSync(join(folder, file), 'utf8'))) }));

const policyFor = (domains: string[]) =>
  CallbackPolicySchema.parse({
    processors: domains.map((domain) => ({ vendor: domain, domain, discoveryUrl: `https://${domain}/discovery` })),
    callbackUrls: ['https://examplecontroller.com/opendsr/callbacks'],
  });

const asRequest = (f: Fixture) => ({ method: f.request.method, headers: f.request.headers, rawBody: Buffer.from(JSON.stringify(f.request.body)) });

describe('OpenDSR callback and discovery fixtures', () => {
  const callbacks = load('callback-');
  const discoveries = load('discovery-');

  it('transcribe the spec (2.0 and OpenGDPR 1.0) and mParticle (v2, v3)', () => {
    assert.deepEqual(callbacks.map((c) => c.fixture.variant).sort(), ['mparticle-v2', 'mparticle-v3', 'opengdpr-v1', 'spec-v2']);
    assert.deepEqual(discoveries.map((d) => d.fixture.variant).sort(), ['mparticle-v3', 'spec-v2']);
  });

  for (const { file, fixture } of load('callback-')) {
    it(`${file}: its body is an OpenDSR status object and it is answered 202`, () => {
      const parsed = parseCallbackBody(fixture.request.body);
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('; '));
      assert.equal(fixture.request.method, 'POST');
      assert.equal(fixture.response.status, 202);
    });
  }

  for (const { file, fixture } of load('discovery-')) {
    it(`${file}: its body is a discovery document with a processor_certificate URL`, () => {
      const parsed = DiscoveryDocumentSchema.safeParse(fixture.response.body);
      assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
      assert.match(parsed.data.processor_certificate, /^https:\/\//);
    });
  }

  it('the spec examples pass the precheck under both header names, their wrapped signature decoding to 512 bytes', () => {
    for (const variant of ['spec-v2', 'opengdpr-v1']) {
      const f = callbacks.find((c) => c.fixture.variant === variant)!.fixture;
      const pre = precheckCallback(asRequest(f), policyFor(['example-processor.com']));
      assert.ok(pre.ok, variant);
      assert.equal(pre.headerStyle, variant === 'spec-v2' ? 'opendsr' : 'opengdpr');
      assert.equal(decodeSignatureHeader(pre.signatureHeader)?.length, 512);
    }
  });

  it('mParticle v2 prints an RSA-2048-sized signature; v3 prints a placeholder that is no signature', () => {
    const v2 = callbacks.find((c) => c.fixture.variant === 'mparticle-v2')!.fixture;
    const v3 = callbacks.find((c) => c.fixture.variant === 'mparticle-v3')!.fixture;
    assert.equal(decodeSignatureHeader(v2.request.headers['X-OpenDSR-Signature']!)?.length, 256);
    assert.equal(decodeSignatureHeader(v3.request.headers['X-OpenDSR-Signature']!), null);
    const pre = precheckCallback(asRequest(v2), policyFor(['opendsr.mparticle.com']));
    assert.ok(pre.ok && pre.processor.domain === 'opendsr.mparticle.com');
  });

  it('keeps the mParticle callback without status_callback_url and with times lacking an offset (read as UTC)', () => {
    const v3 = callbacks.find((c) => c.fixture.variant === 'mparticle-v3')!.fixture;
    const parsed = parseCallbackBody(v3.request.body);
    assert.ok(parsed.ok);
    assert.equal(parsed.callback.body.status_callback_url, undefined);
    assert.equal(parsed.callback.expectedCompletionAt?.toISOString(), '2018-05-31T16:27:28.679Z');
  });
});
