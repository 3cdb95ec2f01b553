import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../functions/clock.js';
import type { DeletionSubject, DeletionVendor, OperationToCheck, StatusReport, SubmittedOperation } from '../../functions/vendors/DeletionVendor.js';

/**
 * The one harness of the adapter tests: subjects with fresh ids, the operation to check from what a create
 * call returned (submitted at the test clock's now), one submission, one status reading.
 */
export function adapterHarness(clock: Clock) {
  const subject = (customerId = `cust-${randomUUID().slice(0, 8)}`): DeletionSubject => ({ deletionId: randomUUID(), customerId, idempotencyKey: randomUUID() });
  const toCheck = (s: DeletionSubject, op: SubmittedOperation): OperationToCheck => ({
    deletionId: s.deletionId,
    customerId: s.customerId,
    ref: op.ref,
    operationId: op.operationId,
    submittedAt: clock.now(),
  });
  /** The vendor's report on one operation; fails the test when it has none. */
  const statusOf = async (vendor: DeletionVendor, check: OperationToCheck): Promise<StatusReport> => {
    const report = (await vendor.checkStatus([check])).get(check.deletionId);
    assert.ok(report);
    return report;
  };
  /** Submits one fresh subject; fails the test when no operation comes back. */
  const submitOne = async (vendor: DeletionVendor) => {
    const s = subject();
    const [op] = await vendor.submit([s]);
    assert.ok(op);
    return { s, op, check: toCheck(s, op) };
  };
  return { subject, toCheck, statusOf, submitOne };
}
