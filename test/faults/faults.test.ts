import assert from 'node:assert/strict';
import { faultProfile } from './profile.js';
import { createFaultResults, formatTable, tableViolations } from './table.js';
import { duplicateDeliveries } from './scenarios/duplicates.js';
import { vendorFaults } from './scenarios/vendorFaults.js';
import { pollerKills } from './scenarios/pollerKills.js';
import { databaseRestart } from './scenarios/databaseRestart.js';
import { contractDrift } from './scenarios/drift.js';
import { hostileInput } from './scenarios/hostileInput.js';
import { lostEvents } from './scenarios/lostEvents.js';
import { secretsInLogs } from './scenarios/secrets.js';
import { databaseCrash } from './scenarios/databaseCrash.js';
import { stackDuplicates } from './scenarios/stackDuplicates.js';
import { stackVendorFaults } from './scenarios/stackVendorFaults.js';
import { stackPollerKills } from './scenarios/stackPollerKills.js';
import { stackDrift } from './scenarios/stackDrift.js';
import { stackRestart } from './scenarios/stackRestart.js';
import { stackHostileInput } from './scenarios/stackHostileInput.js';
import { stackSecrets } from './scenarios/stackSecrets.js';

/**
 * The fault-injection suite (issue 8): each scenario pushes work through real PostgreSQL, the emulators, the
 * vendor sandbox and the mail sink while injecting its faults, and records one row of figures. The last test
 * prints the table and fails if any row shows a lost or duplicated deletion, or if a scenario recorded none.
 * FAULTS_PROFILE=full (npm run test:faults) runs the large profile; npm test runs the bounded one.
 */
const profile = faultProfile(process.env['FAULTS_PROFILE']);
const results = createFaultResults();

describe(`fault injection (${profile.name} profile)`, function () {
  duplicateDeliveries(profile, results);
  stackDuplicates(profile, results);
  vendorFaults(profile, results);
  stackVendorFaults(profile, results);
  pollerKills(profile, results);
  stackPollerKills(profile, results);
  databaseRestart(profile, results);
  stackRestart(profile, results);
  contractDrift(profile, results);
  stackDrift(profile, results);
  hostileInput(profile, results);
  stackHostileInput(profile, results);
  lostEvents(profile, results);
  secretsInLogs(profile, results);
  stackSecrets(profile, results);
  databaseCrash(profile, results);

  describe('the table', function () {
    it('shows zero lost and zero duplicated in every row', function () {
      const table = formatTable(results.rows, results.started);
      process.stdout.write(`\n  fault injection, ${profile.name} profile\n\n${table.replace(/^/gm, '  ')}\n\n`);
      assert.deepEqual(tableViolations(results.rows, results.started), []);
    });
  });
});
