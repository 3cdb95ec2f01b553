import { createAnchorStore } from '../../anchors/createAnchorStore.js';
import { checkChainAnchors, type AnchorCheck } from '../../services/chainAnchors.js';
import { recheckCallback } from '../../callbacks/callbackEvidence.js';
import type { Queryable } from '../../store/pool.js';
import { readCallbackEvidence } from '../../store/readCallbackEvidence.js';
import { readDroppedDetailFields, type DroppedDetailField } from '../../store/readDroppedDetailFields.js';
import { verifyEventLog } from '../../store/verifyEventLog.js';
import { CommandFailedError, defineCommand, UsageError } from '../context.js';
import { parsePositiveInt } from '../output.js';
import { NEEDS } from '../needs.js';

/** Exit code when the chain is broken: the command ran, and what it found is a failure. */
export const BROKEN_CHAIN_EXIT = 3;

/** Each stored status callback in the range verified again: its body, signature and certificate as kept. */
async function recheckCallbacks(db: Queryable, range: { fromSeq?: number | undefined; toSeq?: number | undefined }) {
  const failed: Array<{ seq: number; id: number; reason: string }> = [];
  let checked = 0;
  let after = (range.fromSeq ?? 1) - 1;
  for (;;) {
    const page = await readCallbackEvidence(db, { afterSeq: after, toSeq: range.toSeq, limit: 500 });
    for (const row of page) {
      checked++;
      const result = recheckCallback(row.detail);
      if (!result.ok) failed.push({ seq: row.seq, id: row.id, reason: result.reason });
    }
    if (page.length < 500) break;
    after = page[page.length - 1]!.seq;
  }
  return { checked, verified: checked - failed.length, failed };
}

export default defineCommand({
  order: 56,
  register(program, ctx) {
    const command = program
      .command('verify-log')
      .description(
        'check the event log\'s hash chain and name the first entry that was changed, deleted or reordered, and verify ' +
          'each stored status callback\'s signature again ' +
          `(exit ${BROKEN_CHAIN_EXIT} when it is broken)`,
      )
      .option('--from <seq>', 'start at this entry (chain sequence number)')
      .option('--to <seq>', 'stop at this entry')
      .option('--json', 'print JSON')
      .action(async (opts: { from?: string; to?: string; json?: boolean }) => {
        const fromSeq = opts.from === undefined ? undefined : parsePositiveInt('--from', opts.from, Number.MAX_SAFE_INTEGER);
        const toSeq = opts.to === undefined ? undefined : parsePositiveInt('--to', opts.to, Number.MAX_SAFE_INTEGER);
        if (fromSeq !== undefined && toSeq !== undefined && toSeq < fromSeq) throw new UsageError('--to: must not be before --from');
        const pool = await ctx.pool();
        const result = await verifyEventLog(pool, { ...(fromSeq ? { fromSeq } : {}), ...(toSeq ? { toSeq } : {}) });
        // The chain checks itself; the anchors (outside the database) catch a chain recomputed by whoever rewrote it.
        const config = ctx.settings().config;
        const target = config.anchors.target;
        const anchors: (AnchorCheck & { where: string }) | null = target
          ? await (async () => {
              const store = createAnchorStore(target, { projectId: config.projectId });
              return { where: store.where, ...(await checkChainAnchors(pool, await store.list())) };
            })()
          : null;
        // Fields the allow-list kept out of the log: evidence that was never chained, which an auditor should see.
        const droppedFields = await readDroppedDetailFields(pool);
        const callbacks = await recheckCallbacks(pool, { fromSeq, toSeq });
        if (opts.json) ctx.out(JSON.stringify({ ...result, anchors, droppedFields, callbacks }, null, 2));
        else if (result.ok) {
          ctx.out(
            result.checked === 0
              ? 'event log: no entries in that range'
              : `event log intact: ${result.checked} entries checked (${result.firstSeq}–${result.lastSeq})`,
          );
        } else {
          const b = result.broken!;
          ctx.out(
            `event log BROKEN at entry ${b.seq}${b.id !== null ? ` (deletion_event id ${b.id})` : ''}: ${b.reason}: ${b.detail}\n` +
              `${result.checked} entries before it verified`,
          );
        }
        if (!opts.json) ctx.out(describeAnchors(anchors));
        if (!opts.json && result.unsealed.entries > 0) {
          ctx.out(
            `unsealed tail: ${result.unsealed.entries} newer entries not yet linked to the chain (oldest from ${result.unsealed.oldestAt}); ` +
              'the poller links them on its next cycle, and they cannot be changed meanwhile',
          );
        }
        if (!opts.json && callbacks.checked > 0) {
          ctx.out(`signed callbacks: ${callbacks.checked} checked again, ${callbacks.verified} verify (body, signature, certificate as kept)`);
          for (const f of callbacks.failed) ctx.out(`  callback at entry ${f.seq} (deletion_event id ${f.id}) does NOT verify: ${f.reason}`);
        }
        if (!opts.json && droppedFields.length > 0) ctx.out(describeDropped(droppedFields));
        if (!result.ok || (anchors && !anchors.ok)) throw new CommandFailedError('verify-log: the event log has been altered', BROKEN_CHAIN_EXIT);
        if (callbacks.failed.length > 0) throw new CommandFailedError('verify-log: a stored callback no longer verifies', BROKEN_CHAIN_EXIT);
      });
    ctx.needs(command, NEEDS.database);
  },
});

/** One paragraph on the external anchors: how many matched, or the first that no longer does. */
function describeAnchors(anchors: (AnchorCheck & { where: string }) | null): string {
  if (!anchors) return 'external anchors: none configured (ANCHOR_BUCKET or ANCHOR_DIR): the chain was checked against itself only';
  if (anchors.ok) {
    return anchors.latest
      ? `external anchors: ${anchors.checked} in ${anchors.where} match (latest: entry ${anchors.latest.sequence}, written ${anchors.latest.time})`
      : `external anchors: none written yet in ${anchors.where}`;
  }
  const b = anchors.broken!;
  return `external anchor MISMATCH: ${b.anchor.name} (entry ${b.anchor.sequence}, written ${b.anchor.time}): ${b.detail}\n${anchors.checked} earlier anchors matched`;
}

/** The detail fields dropped before chaining (not a break of the chain: what was never in it). */
function describeDropped(fields: readonly DroppedDetailField[]): string {
  const lines = fields.map((f) => `  ${f.kind}.${f.field}: ${f.dropped} event(s), ${f.firstSeenAt.toISOString()} to ${f.lastSeenAt.toISOString()}`);
  return `event detail fields dropped by the allow-list (functions/domain/eventDetailFields.ts), never chained:\n${lines.join('\n')}`;
}
