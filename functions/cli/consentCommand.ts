import type { Command } from 'commander';
import { setConsent } from './firestoreAdmin.js';
import { UsageError, type CliContext } from './context.js';
import { NEEDS } from './needs.js';

/** A Firestore document id: non-empty, no slash, at most 1500 bytes, not `.` or `..`, not `__x__`. */
export function checkCustomerId(id: string): string {
  if (id.length === 0) throw new UsageError('customerId: must not be empty');
  if (id.includes('/')) throw new UsageError(`customerId: "${id}" must not contain "/" (it is a document id)`);
  if (Buffer.byteLength(id) > 1500) throw new UsageError('customerId: longer than 1500 bytes');
  if (id === '.' || id === '..' || /^__.*__$/.test(id)) throw new UsageError(`customerId: "${id}" is reserved by Firestore`);
  return id;
}

/** Registers `revoke` or `grant`: both write the consent field, the trigger does the rest. */
export function registerConsentCommand(program: Command, ctx: CliContext, name: 'revoke' | 'grant'): void {
  const consent = name === 'grant';
  const command = program
    .command(`${name} <customerId>`)
    .description(
      consent
        ? 'grant analytics consent: set the consent field of customers/{customerId} to true (creating the customer if missing)'
        : 'withdraw analytics consent: set the consent field of customers/{customerId} to false, which starts a ' +
            'deletion at every vendor (a missing customer is created with consent granted, then withdrawn)',
    )
    .option('--json', 'print the change as JSON')
    .action(async (customerId: string, opts: { json?: boolean }) => {
      checkCustomerId(customerId);
      const { config } = ctx.settings();
      const where = { collection: config.customersCollection, field: config.consentField };
      const change = await setConsent(ctx.firestore(), where, customerId, consent);
      if (opts.json) return ctx.out(JSON.stringify(change));
      const doc = `${where.collection}/${customerId}`;
      if (change.unchanged) ctx.out(`${doc}: ${where.field} is already ${consent}; nothing written`);
      else if (change.created)
        ctx.out(`${doc}: created; ${where.field} = ${consent}${consent ? '' : ' (after being created with consent granted)'}`);
      else ctx.out(`${doc}: ${where.field} ${JSON.stringify(change.before ?? null)} → ${consent}`);
    });
  ctx.needs(command, NEEDS.firestore);
}
