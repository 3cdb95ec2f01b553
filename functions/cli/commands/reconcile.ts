import { randomBytes } from 'node:crypto';
import { decideRegime, regimeReadingOf } from '../../domain/requestRegime.js';
import { scanCustomers } from '../firestoreAdmin.js';
import { recordedIds } from '../../services/pseudonymise.js';
import { createRevocationRecorder } from '../../services/recordRevocation.js';
import { latestRequests, type LatestRequest } from '../../store/latestRequests.js';
import { releaseToPoller } from '../../store/releaseToPoller.js';
import { createVendors } from '../../vendors/registry.js';
import type { Pool } from '../../store/pool.js';
import { defineCommand, type CliContext } from '../context.js';
import { parsePositiveInt } from '../output.js';
import { reconcileVerdict, type ReconcileVerdict } from '../reconcileRule.js';
import { reservedCustomerIdProblem } from '../../domain/customerId.js';

/** At most this many created customer ids are listed; the counts are always complete. */
const LISTED = 1000;

export default defineCommand({
  order: 70,
  register(program, ctx) {
    program
      .command('reconcile')
      .description(
        'scan Firestore for customers whose consent is not true but who have no deletion request since their last ' +
          'grant (events lost while the functions were down) and create the missing requests; idempotent. ' +
          'Documents never written since they were created without consent are not revocations (see --include-never-updated)',
      )
      .option('--dry-run', 'report what would be created, write nothing')
      .option('--include-never-updated', 'also treat documents created without consent and never updated as revoked')
      .option('--page-size <n>', 'documents read per Firestore page (memory stays bounded by it)', '500')
      .option('--no-poll', 'do not publish a poll message after creating requests (the next scheduled tick submits them)')
      .option('--json', 'print the summary as JSON')
      .action((opts: ReconcileOptions) => runReconcile(ctx, opts));
  },
});

interface ReconcileOptions {
  dryRun?: boolean;
  includeNeverUpdated?: boolean;
  pageSize: string;
  poll: boolean;
  json?: boolean;
}

type Counts = Record<ReconcileVerdict, number> & { scanned: number; created: number; alreadyRecorded: number };
type Created = { customerId: string; revokedAt: string; requestId: string | null };

/** One reconcile run: scan every customer page by page, record what is missing, publish a poll, print the summary. */
async function runReconcile(ctx: CliContext, opts: ReconcileOptions): Promise<void> {
  const pageSize = parsePositiveInt('--page-size', opts.pageSize, 10_000);
  const { config } = ctx.settings();
  const pool = await ctx.pool();
  const runId = `reconcile:${ctx.clock.now().toISOString()}:${randomBytes(3).toString('hex')}`;
  const instanceId = `cli:${runId}`;
  const recorder = createRevocationRecorder({ pool, log: ctx.log, clock: ctx.clock, config, vendors: createVendors(config.vendors), instanceId });
  const counts: Counts = { scanned: 0, consented: 0, covered: 0, never_consented: 0, missing: 0, created: 0, alreadyRecorded: 0 };
  const created: Created[] = [];
  const where = { collection: config.customersCollection, field: config.consentField, regimeField: config.regime.field };
  for await (const page of scanCustomers(ctx.firestore(), where, pageSize)) {
    counts.scanned += page.length;
    const candidates = page.filter((c) => c.consent !== true);
    counts.consented += page.length - candidates.length;
    const latestOf = await latestRequestsOf(pool, candidates.map((c) => c.customerId), config.retention?.key);
    for (const customer of candidates) {
      const verdict = reconcileVerdict(customer, latestOf(customer.customerId), opts.includeNeverUpdated);
      counts[verdict]++;
      if (verdict !== 'missing' || opts.dryRun) {
        if (verdict === 'missing' && created.length < LISTED) created.push({ customerId: customer.customerId, revokedAt: customer.updateTimeText, requestId: null });
        continue;
      }
      const reserved = reservedCustomerIdProblem(customer.customerId);
      if (reserved) {
        ctx.log.warn({ event: 'customer_id_reserved', customerId: customer.customerId }, reserved);
        continue;
      }
      // revokedAt = the document's last write, at full precision: if the lost trigger event is redelivered
      // later, it carries the same time and the unique (customer, revoked_at) makes it a duplicate.
      const regime = decideRegime(regimeReadingOf(customer.regimeValue), config.regime);
      if (regime.problem) ctx.log.warn({ event: 'regime_unknown', customerId: customer.customerId, value: regime.value ?? null, regime: regime.regime }, regime.problem);
      const result = await recorder.recordRevocation({
        regime,
        customerId: customer.customerId,
        revokedAt: customer.updateTimeText,
        source: 'reconcile',
        sourceEventId: runId,
        detail: { reason: 'consent not true and no request since the last grant', consent: customer.consent ?? null },
      });
      if (!result.created) {
        counts.alreadyRecorded++;
        continue;
      }
      counts.created++;
      if (created.length < LISTED) created.push({ customerId: customer.customerId, revokedAt: customer.updateTimeText, requestId: result.requestId });
      // The recorder leases one-per-call vendors to its caller for immediate submission; the CLI leaves that
      // to the poller (which holds the vendor credentials and rate limits), so hand them back due now.
      await releaseToPoller(pool, { now: ctx.clock.now(), owner: instanceId, deletionIds: result.toSubmit.map((d) => d.deletionId) });
    }
  }
  const pollMessageId = counts.created > 0 && opts.poll ? await publishPoll(ctx, config.topics.poll) : null;
  printSummary(ctx, opts, counts, created, pollMessageId);
}

/** The latest request of each customer: after retention a finished request carries the keyed hash of the id instead, so both are looked up. */
async function latestRequestsOf(pool: Pool, customerIds: string[], retentionKey: string | undefined) {
  const latest = await latestRequests(pool, customerIds.flatMap((id) => recordedIds(id, retentionKey)));
  return (id: string): LatestRequest | undefined => {
    const [a, b] = recordedIds(id, retentionKey).map((x) => latest.get(x));
    return a && b ? (a.revokedAt >= b.revokedAt ? a : b) : (a ?? b);
  };
}

async function publishPoll(ctx: CliContext, topic: string): Promise<string | null> {
  try {
    return await ctx.publisher().publish(topic, { reason: 'reconcile' });
  } catch (err) {
    ctx.log.warn({ event: 'reconcile_poll_not_published', err }, 'could not publish a poll message; the next scheduled poll submits the new requests');
    return null;
  }
}

function printSummary(ctx: CliContext, opts: ReconcileOptions, counts: Counts, created: Created[], pollMessageId: string | null): void {
  const summary = { dryRun: Boolean(opts.dryRun), ...counts, pollMessageId, customers: created };
  if (opts.json) return ctx.out(JSON.stringify(summary, null, 2));
  ctx.out(
    `scanned ${counts.scanned} customer(s): ${counts.consented} with consent, ${counts.covered} already covered by a request, ` +
      `${counts.never_consented} created without consent and never updated, ${counts.missing} missing a request`,
  );
  if (opts.dryRun) ctx.out(`dry run: would create ${counts.missing} request(s)`);
  else ctx.out(`created ${counts.created} request(s)${counts.alreadyRecorded ? ` (${counts.alreadyRecorded} were recorded meanwhile)` : ''}`);
  for (const c of created) ctx.out(`  ${c.customerId}  revoked at ${c.revokedAt}${c.requestId ? `  request ${c.requestId}` : ''}`);
  if (counts.missing > created.length) ctx.out(`  … and ${counts.missing - created.length} more`);
  if (pollMessageId) ctx.out(`published a poll message (${pollMessageId}) so the poller submits them now`);
}
