/**
 * Time from a vendor's status change to our completion on a running local stack, with callbacks or polling only:
 *
 *   VENDORS=mparticle,appsflyer npm start                      # callbacks (default)
 *   VENDORS=mparticle,appsflyer LOCAL_CALLBACKS=off npm start  # polling only
 *   node --import tsx bench/callbackLatency.ts [runs=5] [label]
 *
 * Each run revokes one new customer; the sandbox completes each vendor request a fixed time after it was created
 * (its lifecycle), so the change time is the create call's arrival on the sandbox clock plus that time. Our time is
 * the deletion's completed_at. Prints min/median/max per vendor and overall, and the JSON of every run.
 */
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { findStackFile, readStackFile } from '../functions/cli/stackFile.js';

const runs = Number(process.argv[2] ?? 5);
const label = process.argv[3] ?? 'run';
const stack = readStackFile(findStackFile(process.cwd()) ?? '.consent-erasure/stack.json');
const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
const sandbox = stack.vendorSandboxUrl;

async function sandboxJson<T>(path: string): Promise<T> {
  const response = await fetch(`${sandbox}/_sandbox/${path}`);
  if (!response.ok) throw new Error(`sandbox ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stamp = `${label}-${Date.now().toString(36)}`;
const customers = Array.from({ length: runs }, (_, i) => `latency-${stamp}-${i + 1}`);
for (const [i, customer] of customers.entries()) {
  const revoke = spawnSync(process.execPath, ['bin/consent-erasure.js', 'revoke', customer], { encoding: 'utf8' });
  if (revoke.status !== 0) throw new Error(`revoke ${customer}: ${revoke.stderr}`);
  // Spread the runs over the poll schedule, so polling is measured at different phases of its tick.
  if (i < customers.length - 1) await sleep(7_000);
}

const deadline = Date.now() + 180_000;
let rows: Array<{ customer_id: string; vendor: string; operation_id: string; completed_at: Date | null; check_count: number }> = [];
for (;;) {
  rows = (await pool.query('select customer_id, vendor, operation_id, completed_at, check_count from vendor_deletion where customer_id = any($1::text[])', [customers])).rows;
  if (rows.length === customers.length * 2 && rows.every((r) => r.completed_at)) break;
  if (Date.now() > deadline) throw new Error('not every deletion completed within 180 s');
  await sleep(200);
}

const results: Array<{ customer: string; vendor: string; changeAt: string; completedAt: string; latencyMs: number; checks: number }> = [];
for (const vendor of ['mparticle', 'appsflyer']) {
  const config = await sandboxJson<{ lifecycle: { inProgressAfterMs: number; completeAfterMs: number } }>(`${vendor}/config`);
  const endAfter = Math.max(config.lifecycle.inProgressAfterMs, config.lifecycle.completeAfterMs);
  const { calls } = await sandboxJson<{ calls: Array<{ method: string; at: string; status: number; body: { subject_request_id?: string } | null }> }>(`${vendor}/calls`);
  for (const row of rows.filter((r) => r.vendor === vendor)) {
    const create = calls.find((c) => c.method === 'POST' && c.status === 201 && c.body?.subject_request_id === row.operation_id);
    if (!create) throw new Error(`no create call for ${row.operation_id}`);
    const changeAt = Date.parse(create.at) + endAfter;
    results.push({
      customer: row.customer_id,
      vendor,
      changeAt: new Date(changeAt).toISOString(),
      completedAt: row.completed_at!.toISOString(),
      latencyMs: row.completed_at!.getTime() - changeAt,
      checks: row.check_count,
    });
  }
}
await pool.end();

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, minMs: s[0], medianMs: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2, maxMs: s[s.length - 1] };
};
const summary = {
  label,
  callbacks: stack.env['CALLBACK_URL'] ? 'on' : 'off',
  all: stats(results.map((r) => r.latencyMs)),
  mparticle: stats(results.filter((r) => r.vendor === 'mparticle').map((r) => r.latencyMs)),
  appsflyer: stats(results.filter((r) => r.vendor === 'appsflyer').map((r) => r.latencyMs)),
  checksPerDeletion: stats(results.map((r) => r.checks)),
};
console.log(JSON.stringify({ summary, results }, null, 2));
