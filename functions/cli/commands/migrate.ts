import { migrate } from '../../store/migrate.js';
import { defineCommand } from '../context.js';

export default defineCommand({
  order: 10,
  register(program, ctx) {
    program
      .command('migrate')
      .description('apply the pending database migrations (sql/NNNNNN_*.sql), each in its own transaction; safe to run twice')
      .action(async () => {
        const { config } = ctx.settings();
        const say = (message: string) => ctx.log.info({ event: 'migration_progress' }, message);
        let applied: string[];
        if (config.database.kind === 'url') {
          applied = await migrate({ databaseUrl: config.database.url }, say);
        } else {
          // Cloud SQL with IAM: borrow a client from the connector-backed pool.
          const client = await (await ctx.pool()).connect();
          try {
            applied = await migrate({ client }, say);
          } finally {
            client.release();
          }
        }
        ctx.out(applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}` : 'database is up to date');
      });
  },
});
