import { migrate } from '../../store/migrate.js';
import { defineCommand } from '../context.js';
import { allCredentialVariables } from '../deployment.js';

export default defineCommand({
  order: 10,
  register(program, ctx) {
    program
      .command('migrate')
      .description('apply the pending database migrations (sql/NNNNNN_*.sql), each in its own transaction; safe to run twice')
      .option(
        '--role <role>',
        'run the migrations as this role (SET ROLE), so it owns the schema whoever connects; the deployment uses consent_erasure_owner',
      )
      .action(async (opts: { role?: string }) => {
        // Migrations read no credential: their absence is no reason to refuse (the build's migrate step has none).
        const { config } = ctx.settings({ mountedSecrets: allCredentialVariables() });
        const say = (message: string) => ctx.log.info({ event: 'migration_progress' }, message);
        const options = opts.role ? { role: opts.role } : {};
        let applied: string[];
        if (config.database.kind === 'url') {
          applied = await migrate({ databaseUrl: config.database.url }, say, options);
        } else {
          // Cloud SQL with IAM: borrow a client from the connector-backed pool.
          const client = await (await ctx.pool()).connect();
          try {
            applied = await migrate({ client }, say, options);
          } finally {
            client.release();
          }
        }
        ctx.out(
          `${applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}` : 'database is up to date'}${opts.role ? ` (as ${opts.role})` : ''}`,
        );
      });
  },
});
