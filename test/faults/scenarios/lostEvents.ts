import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createFakeClock, MINUTE, SECOND } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { runCli } from '../../../functions/cli/program.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { silentLogger } from '../../../functions/log.js';
import { registerFirestoreTrigger } from '../../../local/emulators.js';
import { startSandbox, type RunningSandbox } from '../../../local/sandbox/server.js';
import { startTriggerRelay, type TriggerRelay } from '../../../local/triggerRelay.js';
import { createMemoryPublisher } from '../../../functions/services/publisher.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { useTestDatabase } from '../../helpers/db.js';
import { firestoreEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { count, type FaultResults } from '../table.js';
import type { FaultProfile } from '../profile.js';
import { deletionFigures, eventually, pollUntilSettled } from '../harness.js';
import { buildPollCycle } from '../../helpers/pollCycle.js';

const trace = (what: string) => void (process.env['FAULTS_TRACE'] && process.stderr.write(`${Date.now()} ${what}\n`));

export const LOST = '7 lost trigger events';

const TRIGGER_ID = 'faults-lost-events';

/**
 * Scenario 7: customers revoke consent in the Firestore emulator; its trigger delivery reaches the real
 * handler through the relay and the Functions Framework, except for a share of customers whose events are
 * dropped (an outage). `consent-erasure reconcile` must find and record 100% of those revocations and none
 * twice; the dropped events, delivered late after all, must add nothing; the poller then completes every one.
 */
export function lostEvents(profile: FaultProfile, results: FaultResults): void {
  describe(`scenario ${LOST}: ${count(profile.lostCustomers)} revocations, ${Math.round(profile.lostShare * 100)}% of their events dropped`, function () {
    this.timeout(profile.name === 'full' ? 600_000 : 120_000);
    const db = useTestDatabase('faults_lost');
    const projectId = uniqueProjectId('faults-lost');
    const functionName = `faultsLostEvents${process.pid}`;
    const clock = createFakeClock(new Date());
    let sandbox: RunningSandbox;
    let relay: TriggerRelay;
    let server: Server;
    let firestore: Firestore;
    let firestoreHost: string;
    let cwd: string;
    const dropped: functions.CloudEvent<unknown>[] = [];
    let delivered = 0;

    const customers = Array.from({ length: profile.lostCustomers }, (_, i) => `lost-${String(i).padStart(5, '0')}`);
    const everyNth = Math.round(1 / profile.lostShare);
    const isLost = (id: string) => Number(id.slice('lost-'.length)) % everyNth === 0;
    const lost = customers.filter(isLost);

    before(async function () {
      this.timeout(60_000);
      results.begin(LOST);
      const emulator = await firestoreEmulator();
      firestoreHost = emulator.host;
      cwd = mkdtempSync(join(tmpdir(), 'ce-faults-lost-'));
      sandbox = await startSandbox({ clock, vendors: { http: { lifecycle: { inProgressAfterMs: MINUTE, completeAfterMs: 10 * MINUTE }, recordLimit: 1_000_000 } } });
      const config = loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` });
      const vendor = createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' }, { timeoutMs: 5 * SECOND });
      const handler = createOnCustomerWritten({ config, pool: db().pool, vendors: [vendor], log: silentLogger(), clock });
      functions.cloudEvent(functionName, async (event: functions.CloudEvent<unknown>) => {
        if (process.env['FAULTS_TRACE']) process.stderr.write(`${Date.now()} ${String(event['document'])}\n`);
        const id = String(event['document'] ?? '').split('/')[1] ?? '';
        if (isLost(id)) {
          // The outage: the event never reaches the function (kept to deliver late at the end).
          dropped.push(event);
          return;
        }
        delivered += 1;
        await handler(event);
      });
      server = getTestServer(functionName);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const [relayHost, relayPort] = emulator.triggerTarget.split(':');
      relay = await startTriggerRelay({ host: relayHost, port: Number(relayPort) });
      relay.route(projectId, TRIGGER_ID, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await registerFirestoreTrigger({ firestoreHost, projectId, triggerId: TRIGGER_ID, documentPattern: 'customers/{customerId}' });
      firestore = new Firestore({ projectId, host: firestoreHost, ssl: false });
    });
    after(async () => {
      await firestore?.terminate();
      await relay?.stop();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await sandbox?.stop();
      if (cwd) rmSync(cwd, { recursive: true, force: true });
    });

    it('reconcile finds and records every lost revocation, once; late deliveries add nothing; all complete', async () => {
      const collection = firestore.collection('customers');
      for (let i = 0; i < customers.length; i += 250) {
        const slice = customers.slice(i, i + 250);
        const grant = firestore.batch();
        for (const c of slice) grant.set(collection.doc(c), { analyticsConsent: true, email: `${c}@example.com` });
        await grant.commit();
        const revoke = firestore.batch();
        for (const c of slice) revoke.update(collection.doc(c), { analyticsConsent: false });
        await revoke.commit();
      }
      // Two events per customer (the grant, the revocation), delivered one at a time by the emulator.
      await eventually(
        'the emulator to deliver every trigger event',
        () => (delivered + dropped.length >= customers.length * 2 ? true : undefined),
        profile.name === 'full' ? 300_000 : 90_000,
        200,
      );
      const recorded = await db().pool.query<{ n: number }>('select count(*)::int as n from deletion_request');
      assert.equal(recorded.rows[0]!.n, customers.length - lost.length, 'every delivered revocation was recorded');

      trace('delivered');
      let stdout = '';
      let stderr = '';
      const code = await runCli({
        argv: ['reconcile', '--no-poll', '--json'],
        env: { DATABASE_URL: db().url, GOOGLE_CLOUD_PROJECT: projectId, FIRESTORE_EMULATOR_HOST: firestoreHost, VENDORS: 'http', VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` },
        cwd,
        stdout: (s) => void (stdout += s),
        stderr: (s) => void (stderr += s),
        clock,
      });
      trace('reconciled');
      assert.equal(code, 0, stderr);
      const summary = JSON.parse(stdout) as { created: number; missing: number; covered: number; customers: Array<{ customerId: string }> };
      assert.equal(summary.created, lost.length, 'reconcile created exactly the lost revocations');
      assert.deepEqual(summary.customers.map((c) => c.customerId).sort(), lost.slice(0, 1000).sort());

      // The outage ends and the dropped events arrive after all: each finds its revocation already recorded.
      const handlerLate = createOnCustomerWritten({
        config: loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` }),
        pool: db().pool,
        vendors: [createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' })],
        log: silentLogger(),
        clock,
      });
      for (const event of dropped) await handlerLate(event);

      trace('late deliveries');
      const log = silentLogger();
      const vendor = createHttpVendor({ baseUrl: `${sandbox.url}/http`, createPath: '/deletions', statusPath: '/deletions/{operationId}' }, { timeoutMs: 5 * SECOND, requestsPerSecond: 100_000 });
      const publisher = createMemoryPublisher();
      const cycle = buildPollCycle({ pool: db().pool, vendors: [vendor], publisher, log, clock, submit: true });
      await pollUntilSettled(db().pool, cycle, clock, { stepMs: 11 * MINUTE, maxRounds: 6 });

      trace('polled');
      const figures = await deletionFigures(db().pool, sandbox, customers, { mustComplete: true });
      results.record({
        scenario: LOST,
        path: 'Firestore emulator → relay → FF server; CLI reconcile',
        load: `${count(customers.length)} revocations in Firestore, ${count(customers.length * 2)} trigger events`,
        faults: `${count(dropped.length)} events dropped (${count(lost.length)} revocations); reconcile found ${count(summary.created)}`,
        lost: figures.lost,
        duplicated: figures.duplicated,
        completed: figures.completed,
        retries: dropped.length,
        alerts: publisher.messages.filter((m) => m.topic === 'deletion-alerts').length,
      });
      assert.equal(figures.lost, 0, figures.problems.join('\n'));
      assert.equal(figures.duplicated, 0, figures.problems.join('\n'));
    });
  });
}
