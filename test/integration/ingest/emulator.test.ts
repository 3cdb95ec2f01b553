import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { systemClock } from '../../../functions/clock.js';
import { loadConfig } from '../../../functions/config.js';
import { decideRevocation } from '../../../functions/domain/revocation.js';
import { decodeFirestoreEvent } from '../../../functions/events/firestore.js';
import { createOnCustomerWritten } from '../../../functions/handlers/onCustomerWritten.js';
import { silentLogger } from '../../../functions/log.js';
import { registerFirestoreTrigger } from '../../../local/emulators.js';
import { startSandbox } from '../../../local/sandbox/server.js';
import type { RunningSandbox } from '../../../local/sandbox/types.js';
import { startTriggerRelay, type TriggerRelay } from '../../../local/triggerRelay.js';
import { createHttpVendor } from '../../../functions/vendors/http/httpVendor.js';
import { VENDOR_SETTINGS } from '../../../functions/vendors/settings.js';
import { firestoreEmulator, uniqueProjectId } from '../../helpers/emulators.js';
import { useTestDatabase } from '../../helpers/db.js';
import { eventually } from '../../helpers/eventually.js';

const FUNCTION_NAME = 'onCustomerWrittenEmulatorTest';
const TRIGGER_ID = 'on-customer-written';

describe('onCustomerWritten end to end through the Firestore emulator', function () {
  this.timeout(90_000);
  const db = useTestDatabase('ingest_e2e');
  const projectId = uniqueProjectId('ingest-e2e');
  let sandbox: RunningSandbox;
  let relay: TriggerRelay;
  let server: Server;
  let firestore: Firestore;
  let functionUrl: string;
  const received: functions.CloudEvent<unknown>[] = [];

  before(async function () {
    this.timeout(60_000);
    const emulator = await firestoreEmulator();
    sandbox = await startSandbox({ vendors: { http: {} } });
    const config = loadConfig({ DATABASE_URL: db().url, VENDOR_HTTP_BASE_URL: `${sandbox.url}/http` });
    const vendor = createHttpVendor(VENDOR_SETTINGS.http.parse(config.vendors[0]!.settings), { timeoutMs: 2000 });
    const handler = createOnCustomerWritten({ config, pool: db().pool, vendors: [vendor], log: silentLogger(), clock: systemClock });
    functions.cloudEvent(FUNCTION_NAME, async (event: functions.CloudEvent<unknown>) => {
      received.push(event);
      await handler(event);
    });
    server = getTestServer(FUNCTION_NAME);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    functionUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    const [relayHost, relayPort] = emulator.triggerTarget.split(':');
    relay = await startTriggerRelay({ host: relayHost, port: Number(relayPort) });
    relay.route(projectId, TRIGGER_ID, functionUrl);
    await registerFirestoreTrigger({
      firestoreHost: emulator.host,
      projectId,
      triggerId: TRIGGER_ID,
      documentPattern: 'customers/{customerId}',
    });
    firestore = new Firestore({ projectId, host: emulator.host, ssl: false });
  });

  after(async () => {
    await firestore?.terminate();
    await relay?.stop();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await sandbox?.stop();
  });

  const rowsFor = async (customerId: string) =>
    (await db().pool.query('select * from pending_deletion where customer_id = $1', [customerId])).rows as Array<Record<string, unknown>>;
  const createsFor = (customerId: string) =>
    sandbox.control.calls('http').filter((c) => c.method === 'POST' && (c.body as { customerId?: string })?.customerId === customerId);

  /** Revokes a sentinel customer and waits for it: the emulator delivers one event at a time, in order, so
   * every earlier write has then been handled. */
  async function drain(label: string): Promise<void> {
    const sentinel = `sentinel-${label}`;
    await firestore.collection('customers').doc(sentinel).set({ analyticsConsent: true });
    await firestore.collection('customers').doc(sentinel).update({ analyticsConsent: false });
    await eventually(`sentinel ${sentinel}`, async () => ((await rowsFor(sentinel)).length > 0 ? true : undefined));
  }

  it('turns analyticsConsent true → false into one pending_deletion per vendor with the sandbox operation id; repeats add nothing', async () => {
    const customerId = 'c-e2e-1';
    const doc = firestore.collection('customers').doc(customerId);
    await doc.set({ analyticsConsent: true, email: 'a@example.com' });
    await doc.update({ analyticsConsent: false });

    const rows = await eventually('the pending_deletion row with an operation id', async () => {
      const r = await rowsFor(customerId);
      return r.length > 0 && r.every((x) => x['operation_id']) ? r : undefined;
    });
    assert.equal(rows.length, 1, 'one row per configured vendor');
    assert.equal(rows[0]!['vendor'], 'http');
    assert.equal(rows[0]!['state'], 'submitted');
    const op = await fetch(`${sandbox.url}/http/deletions/${encodeURIComponent(String(rows[0]!['operation_id']))}`);
    assert.equal(op.status, 200, 'the stored operation id is one the sandbox issued');

    // What reached the function has the production shape: protobuf bytes, a repaired source.
    const revoking = received.find((e) => {
      if (e['document'] !== `customers/${customerId}` || !Buffer.isBuffer(e.data)) return false;
      const data = decodeFirestoreEvent(e).data;
      return decideRevocation(data.oldValue, data.value, 'analyticsConsent').kind === 'revoked';
    });
    assert.ok(revoking, 'the revoking write reached the function as protobuf bytes');
    assert.equal(revoking.source, `//firestore.googleapis.com/projects/${projectId}/databases/(default)`);
    assert.equal(revoking.datacontenttype, 'application/protobuf');

    // Writes again with consent still false: not revocations.
    await doc.update({ email: 'b@example.com' });
    await doc.update({ analyticsConsent: false, note: 'written again' });
    // Redeliver the revoking event through the Functions Framework, as the platform would on a retry.
    const headers: Record<string, string> = { 'content-type': 'application/protobuf' };
    for (const [k, v] of Object.entries(revoking)) if (k !== 'data' && typeof v === 'string') headers[`ce-${k}`] = v;
    const redelivered = await fetch(functionUrl, { method: 'POST', headers, body: revoking.data as Buffer });
    assert.equal(redelivered.status, 204);
    await drain('1');

    const requests = await db().pool.query('select count(*)::int as n from deletion_request where customer_id = $1', [customerId]);
    assert.equal(requests.rows[0].n, 1, 'one request');
    assert.equal((await rowsFor(customerId)).length, 1, 'still one row');
    assert.equal(createsFor(customerId).length, 1, 'the vendor received exactly one deletion call');
  });
});
