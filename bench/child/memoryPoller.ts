/**
 * Child process of the memory scenario: one scheduled poll tick (the real pollDeletions handler and every
 * continuation it publishes) against the database and vendor sandbox it is given, then one JSON line on
 * stdout with its peak RSS. A process of its own, so the peak is the poller's and nothing else's.
 */
import pg from 'pg';
import { systemClock } from '../../functions/clock.js';
import { createVendors } from '../../functions/vendors/registry.js';
import { benchConfig, pollerHandler } from '../common.js';
import { SESSION_OPTIONS } from '../../functions/store/pool.js';

const url = process.env['BENCH_DATABASE_URL'];
const sandboxUrl = process.env['BENCH_SANDBOX_URL'];
if (!url || !sandboxUrl) {
  process.stderr.write('memoryPoller: BENCH_DATABASE_URL and BENCH_SANDBOX_URL are required\n');
  process.exit(2);
}
const config = benchConfig(url, {
  VENDORS: 'http',
  VENDOR_HTTP_BASE_URL: `${sandboxUrl}/http`,
  VENDOR_HTTP_CONCURRENCY: '25',
  VENDOR_HTTP_RATE_PER_SECOND: '100000',
});
const pool = new pg.Pool({ connectionString: url, max: config.database.poolMax, options: SESSION_OPTIONS });
pool.on('error', () => {});
const mb = (bytes: number) => bytes / 1e6;
try {
  // Connections and modules are warm before the baseline, so the peak's growth is the tick's own.
  await pool.query('select 1');
  const baselineMB = mb(process.memoryUsage().rss);
  const started = systemClock.now();
  const poller = pollerHandler({ config, pool, vendors: createVendors(config.vendors), clock: systemClock });
  const deliveries = await poller.tick();
  const checked = Number((await pool.query<{ n: string }>('select count(*) as n from vendor_deletion where last_checked_at >= $1::timestamptz', [started])).rows[0]!.n);
  // resourceUsage().maxRSS is the kernel's high-water mark in KiB: it sees peaks between samples.
  const peakMB = mb(process.resourceUsage().maxRSS * 1024);
  process.stdout.write(`${JSON.stringify({ baselineMB, peakMB, heapUsedMB: mb(process.memoryUsage().heapUsed), deliveries, checked })}\n`);
} finally {
  await pool.end();
}
