import assert from 'node:assert/strict';
import { digestAlertId, incidentAlertId } from '../../../functions/services/raiseAlerts.js';

describe('alert ids', () => {
  const items = [
    { deletionId: '3', escalation: 0 },
    { deletionId: '1', escalation: 0 },
  ];
  it('a digest id is the same for the same rows and steps, whatever their order', () => {
    assert.equal(digestAlertId('stale', 'http', items), digestAlertId('stale', 'http', [...items].reverse()));
  });
  it('changes with the escalation step, the rows, the kind and the vendor', () => {
    const base = digestAlertId('stale', 'http', items);
    const variants = [
      digestAlertId('stale', 'http', [{ deletionId: '3', escalation: 1 }, items[1]!]),
      digestAlertId('stale', 'http', [items[0]!]),
      digestAlertId('no_progress', 'http', items),
      digestAlertId('stale', 'segment', items),
    ];
    assert.equal(new Set([base, ...variants]).size, 5);
    for (const id of [base, ...variants]) assert.ok(id.length <= 200);
  });
  it('a vendor incident id names the incident and its step', () => {
    const openedAt = new Date('2026-03-02T00:00:00Z');
    const a = incidentAlertId({ vendor: 'http', kind: 'contract_violation', openedAt, escalation: 0 });
    assert.equal(a, incidentAlertId({ vendor: 'http', kind: 'contract_violation', openedAt, escalation: 0 }));
    assert.notEqual(a, incidentAlertId({ vendor: 'http', kind: 'contract_violation', openedAt, escalation: 1 }));
    assert.notEqual(a, incidentAlertId({ vendor: 'http', kind: 'contract_violation', openedAt: new Date(openedAt.getTime() + 1), escalation: 0 }));
  });
});
