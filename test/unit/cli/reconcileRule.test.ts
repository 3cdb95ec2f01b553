import assert from 'node:assert/strict';
import { reconcileVerdict } from '../../../functions/cli/reconcileRule.js';
import type { ScannedCustomer } from '../../../functions/cli/firestoreAdmin.js';

const created = new Date('2026-01-01T00:00:00Z');
const updated = new Date('2026-02-01T00:00:00Z');
const doc = (consent: unknown, updateTime = updated): ScannedCustomer => ({
  customerId: 'c',
  consent,
  createTime: created,
  updateTime,
  updateTimeText: updateTime.toISOString(),
});

describe('reconcileVerdict', () => {
  const cases: Array<[string, ScannedCustomer, Parameters<typeof reconcileVerdict>[1], boolean, string]> = [
    ['consent true', doc(true), undefined, false, 'consented'],
    ['false, no request, updated since creation', doc(false), undefined, false, 'missing'],
    ['field removed, no request', doc(undefined), undefined, false, 'missing'],
    ['"false" as a string is not true', doc('false'), undefined, false, 'missing'],
    ['false since creation, never updated', doc(false, created), undefined, false, 'never_consented'],
    ['never updated, included on request', doc(false, created), undefined, true, 'missing'],
    ['open request', doc(false), { customerId: 'c', revokedAt: updated, regrantedAt: null }, false, 'covered'],
    ['regranted, then revoked again later', doc(false), { customerId: 'c', revokedAt: created, regrantedAt: new Date('2026-01-15T00:00:00Z') }, false, 'missing'],
    ['regranted request newer than the last write', doc(false), { customerId: 'c', revokedAt: new Date('2026-03-01T00:00:00Z'), regrantedAt: new Date('2026-03-02T00:00:00Z') }, false, 'covered'],
  ];
  for (const [name, customer, latest, include, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(reconcileVerdict(customer, latest, include), expected));
  }
});
