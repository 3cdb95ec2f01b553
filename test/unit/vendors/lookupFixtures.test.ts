import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

// The contract-fixture format shared with the deletion fixtures in the same folders.
const Fixture = z
  .object({
    source: z.object({
      url: z.string().url(),
      document: z.string().min(1),
      section: z.string().min(1),
      read: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    }),
    operation: z.literal('lookup'),
    variant: z.string().min(1),
    note: z.string().optional(),
    request: z.object({
      method: z.enum(['GET', 'POST']),
      path: z.string().startsWith('/'),
      query: z.record(z.string(), z.string()),
      headers: z.record(z.string(), z.string()),
      body: z.unknown(),
    }),
    response: z.object({
      status: z.number().int().min(100).max(599),
      headers: z.record(z.string(), z.string()),
      body: z.unknown(),
    }),
  })
  .strict();

const root = join(import.meta.dirname, '../../fixtures/vendors');

function lookups(): { vendor: string; file: string; raw: string }[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(root, d.name))
        .filter((f) => f.startsWith('lookup-') && f.endsWith('.json'))
        .map((f) => ({ vendor: d.name, file: f, raw: readFileSync(join(root, d.name, f), 'utf8') })),
    );
}

describe('lookup contract fixtures', () => {
  const all = lookups();

  it('exist for Amplitude, Mixpanel, mParticle and Segment', () => {
    assert.deepEqual([...new Set(all.map((f) => f.vendor))].sort(), ['amplitude', 'mixpanel', 'mparticle', 'segment']);
  });

  for (const { vendor, file, raw } of all) {
    it(`${vendor}/${file} follows the fixture format`, () => {
      const parsed = Fixture.safeParse(JSON.parse(raw));
      assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
    });
  }

  it('shows "no data" the way each vendor documents it', () => {
    const body = (vendor: string, file: string) => {
      const f = all.find((x) => x.vendor === vendor && x.file === file);
      assert.ok(f, `${vendor}/${file}`);
      return Fixture.parse(JSON.parse(f.raw)).response;
    };
    assert.deepEqual(body('amplitude', 'lookup-user-search-not-found.json'), { status: 200, headers: {}, body: { type: 'nomatch', matches: [] } });
    assert.equal(body('segment', 'lookup-traits-not-found.json').status, 404);
    assert.deepEqual(body('segment', 'lookup-traits-not-found.json').body, { error: { code: 'not_found', message: 'Profile was not found.' } });
  });

  it('keeps mParticle’s 19-digit mpid as the document prints it', () => {
    const f = all.find((x) => x.file === 'lookup-profile-resolve-found.json');
    assert.ok(f?.raw.includes('"mpid": 9080350317581165000'));
  });
});
