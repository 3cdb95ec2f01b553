import assert from 'node:assert/strict';
import sinon from 'sinon';
import { z } from 'zod';
import { callVendor, MAX_BODY_BYTES, pathSegment } from '../../../functions/vendors/callVendor.js';
import { VendorContractError } from '../../../functions/vendors/errors.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { stubFetch } from './fixtureFetch.js';

/** A streamed body of `bytes` bytes in 64 KiB chunks, counting how many were pulled. */
function streamOf(bytes: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let sent = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const n = Math.min(chunk.byteLength, bytes - sent);
      sent += n;
      controller.enqueue(chunk.subarray(0, n));
    },
  });
  return { stream, pulled: () => sent };
}

describe('callVendor: response bodies are read with a size cap', () => {
  afterEach(() => sinon.restore());
  const request = { method: 'GET' as const, url: 'https://vendor.example.com/x', timeoutMs: 1000 };

  it(`refuses a streamed body over ${MAX_BODY_BYTES} bytes as a contract violation, reading no further than the cap`, async () => {
    const body = streamOf(64 * 1024 * 1024);
    sinon.stub(globalThis, 'fetch').resolves(new Response(body.stream, { status: 200 }));
    await assert.rejects(callVendor('http', request, z.object({})), (err: unknown) => {
      assert.ok(err instanceof VendorContractError);
      assert.match(err.message, /body larger than 8388608 bytes/);
      return true;
    });
    assert.ok(body.pulled() <= MAX_BODY_BYTES + 2 * 64 * 1024, `read ${body.pulled()} bytes`);
  });

  it('refuses a body whose declared length is over the cap without reading it', async () => {
    const body = streamOf(1024);
    sinon.stub(globalThis, 'fetch').resolves(new Response(body.stream, { status: 500, headers: { 'content-length': String(MAX_BODY_BYTES + 1) } }));
    await assert.rejects(callVendor('http', request, null), /body larger than/);
    // The stream may queue its first chunk on creation; nothing past it is asked for.
    assert.ok(body.pulled() <= 1024, `read ${body.pulled()} bytes`);
  });

  it('reads a body up to the cap (and a smaller cap when the request sets one)', async () => {
    sinon.stub(globalThis, 'fetch').callsFake(async () => new Response(JSON.stringify({ pad: 'a'.repeat(1000) }), { status: 200 }));
    const ok = await callVendor('http', request, z.object({ pad: z.string() }));
    assert.equal(ok.body.pad.length, 1000);
    await assert.rejects(callVendor('http', { ...request, maxBodyBytes: 100 }, z.object({ pad: z.string() })), /body larger than 100 bytes/);
  });
});

describe('pathSegment: an id cannot change the request path', () => {
  const cases: Array<[string, string]> = [
    ['op-1', 'op-1'],
    ['a/b', 'a%2Fb'],
    ['../admin', '..%2Fadmin'],
    ['%2e%2e', '%252e%252e'],
    ['x?y#z', 'x%3Fy%23z'],
    ['ünï', '%C3%BCn%C3%AF'],
  ];
  for (const [id, encoded] of cases) {
    it(`${JSON.stringify(id)} is one segment: ${encoded}`, () => {
      assert.equal(pathSegment('http', id), encoded);
      const url = new URL(`https://vendor.example.com/deletions/${pathSegment('http', id)}`);
      assert.equal(url.pathname, `/deletions/${encoded}`, 'the URL keeps it one segment under /deletions/');
    });
  }
  for (const id of ['..', '.', '']) {
    it(`${JSON.stringify(id)} is refused (the URL standard would move up or stay), as the vendor's contract violation`, () => {
      assert.throws(() => pathSegment('http', id), VendorContractError);
    });
  }

  it('the http adapter never sends a status check for ".." anywhere but its own path', async () => {
    const vendor = createHttpVendor(VENDOR_SETTINGS.http.parse({ baseUrl: 'https://vendor.example.com/api' }));
    const fetches = stubFetch();
    try {
      await assert.rejects(
        vendor.checkStatus([{ deletionId: '1', customerId: 'c', operationId: '..', ref: { operationId: '..' }, submittedAt: new Date(0) }]),
        VendorContractError,
      );
      assert.equal(fetches.seen.length, 0, 'no request was made');
    } finally {
      fetches.restore();
    }
  });
});
