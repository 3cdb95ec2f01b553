import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../../unit/deploy/deployFiles.js';

// The deploy tools' own readings of our files: `terraform fmt` and gcloud's .gcloudignore matcher. Each test is
// registered only where its tool is installed (Cloud Build's node image has neither; CI here has both), since
// an imitation of either would test the imitation.

function which(tool: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Files gcloud would upload from `dir`, as paths relative to it, read with its own .gcloudignore logic. */
function gcloudUploads(gcloud: string, dir: string): string[] {
  const out = execFileSync(gcloud, ['meta', 'list-files-for-upload', dir], {
    encoding: 'utf8',
    env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
  });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => (l.startsWith(dir) ? l.slice(dir.length + 1) : l))
    .sort();
}

/** A throw-away tree holding `files` (empty contents) and `ignore` as its .gcloudignore. */
function fakeTree(files: string[], ignoreFile: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gcloudignore-'));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  copyFileSync(join(ROOT, ignoreFile), join(dir, '.gcloudignore'));
  return dir;
}

const TREE = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'functions/index.ts',
  'functions/config.ts',
  'functions/events/proto/google/events/cloud/firestore/v1/data.proto',
  'functions/handlers/pollDeletions.test.ts',
  'sql/000001_core.sql',
  'bin/consent-erasure.js',
  'cloudbuild.yaml',
  'eslint.config.js',
  '.mocharc.json',
  'test/unit/config.test.ts',
  'infra/sql.tf',
  'infra/.terraform/providers/x',
  'infra/terraform.tfstate',
  'node_modules/pg/index.js',
  'dist/functions/index.js',
  '.git/config',
  '.consent-erasure/stack.json',
  '.env',
];

describe('deploy tools read our files as intended', () => {
  const terraform = which('terraform');
  const gcloud = which('gcloud');
  const made: string[] = [];
  after(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });

  if (terraform) {
    it('infra/ is formatted as `terraform fmt` wants', function () {
      this.timeout(30_000);
      const r = spawnSync(terraform, ['fmt', '-check', '-recursive', '-list=true', join(ROOT, 'infra')], {
        encoding: 'utf8',
        env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
      });
      assert.equal(r.status, 0, `terraform fmt -check failed for:\n${r.stdout}${r.stderr}`);
    });
  }

  if (gcloud) {
    it('.gcloudignore uploads what the functions build needs and nothing else', function () {
      this.timeout(60_000);
      const dir = fakeTree(TREE, '.gcloudignore');
      made.push(dir);
      assert.deepEqual(gcloudUploads(gcloud, dir), [
        'functions/config.ts',
        'functions/events/proto/google/events/cloud/firestore/v1/data.proto',
        'functions/index.ts',
        'package-lock.json',
        'package.json',
        'sql/000001_core.sql',
        'tsconfig.build.json',
        'tsconfig.json',
      ]);
    });

    it('infra/build.gcloudignore uploads the whole checkout for the build, minus local and secret files', function () {
      this.timeout(60_000);
      const dir = fakeTree(TREE, 'infra/build.gcloudignore');
      made.push(dir);
      const uploaded = gcloudUploads(gcloud, dir);
      for (const f of ['cloudbuild.yaml', 'eslint.config.js', '.mocharc.json', 'test/unit/config.test.ts', 'infra/sql.tf', 'bin/consent-erasure.js', 'functions/handlers/pollDeletions.test.ts'])
        assert.ok(uploaded.includes(f), `the build would not get ${f}`);
      for (const f of ['node_modules/pg/index.js', 'dist/functions/index.js', '.git/config', 'infra/terraform.tfstate', 'infra/.terraform/providers/x', '.env', '.consent-erasure/stack.json'])
        assert.ok(!uploaded.includes(f), `the build would upload ${f}`);
    });
  }

  const missing = [terraform ? undefined : 'terraform', gcloud ? undefined : 'gcloud'].filter(Boolean);
  if (missing.length) console.log(`(deploy tools not installed, their checks are not registered: ${missing.join(', ')})`);
});
