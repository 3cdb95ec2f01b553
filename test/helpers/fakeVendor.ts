import sinon from 'sinon';
import { DAY, HOUR, MINUTE, SECOND } from '../../functions/clock.js';
import type {
  DeletionSubject,
  DeletionVendor,
  OperationToCheck,
  StatusReport,
  SubmittedOperation,
  VendorPolicy,
  VerificationReport,
} from '../../functions/vendors/DeletionVendor.js';

/** The policy of a fake vendor unless a test overrides it. */
export const TEST_POLICY: VendorPolicy = {
  maxBatchSize: 10,
  requestsPerSecond: 1000,
  concurrency: 4,
  expectedDurationMs: 3 * DAY,
  noProgressMs: 3 * DAY,
  minCheckIntervalMs: 5 * MINUTE,
  maxCheckIntervalMs: 6 * HOUR,
  maxSubmitAttempts: 2,
  timeoutMs: 10 * SECOND,
};

export interface FakeVendorOptions {
  policy?: Partial<VendorPolicy>;
  /** The create call's answer (default: it refuses, the fake takes no submissions). */
  submit?: (subjects: DeletionSubject[]) => Promise<SubmittedOperation[]>;
  /** Each operation's status report; undefined means not read this time (default: nothing is read). */
  check?: (operation: OperationToCheck) => StatusReport | undefined | Promise<StatusReport | undefined>;
  /** Offered only when given. */
  verify?: (operation: OperationToCheck) => Promise<VerificationReport>;
  /** Offered only when given. */
  cancel?: (operation: OperationToCheck) => Promise<boolean>;
}

export type FakeVendor = DeletionVendor & {
  submit: sinon.SinonStub<[DeletionSubject[]], Promise<SubmittedOperation[]>>;
  checkStatus: sinon.SinonStub<[OperationToCheck[]], Promise<Map<string, StatusReport>>>;
  /** Every subject list the vendor was asked to delete, in order. */
  readonly calls: DeletionSubject[][];
  /** Every deletion id whose status was asked for, in order. */
  readonly checked: string[];
};

/**
 * The one fake vendor of the tests, for rules that need no HTTP: sinon stubs whose behaviour each test
 * scripts, with what they were asked recorded (`calls`, `checked`, and sinon's own call history).
 */
export function fakeVendor(name: string, options: FakeVendorOptions = {}): FakeVendor {
  const answer = sinon.spy(options.check ?? (() => undefined));
  const submit = sinon.stub<[DeletionSubject[]], Promise<SubmittedOperation[]>>().callsFake(
    options.submit ??
      (async () => {
        throw new Error(`fake vendor ${name} takes no submissions`);
      }),
  );
  const checkStatus = sinon.stub<[OperationToCheck[]], Promise<Map<string, StatusReport>>>().callsFake(async (operations) => {
    const out = new Map<string, StatusReport>();
    for (const op of operations) {
      const report = await answer(op);
      if (report) out.set(op.deletionId, report);
    }
    return out;
  });
  return {
    name,
    policy: { ...TEST_POLICY, ...options.policy },
    submit,
    checkStatus,
    ...(options.verify ? { verify: sinon.spy(options.verify) } : {}),
    ...(options.cancel ? { cancel: sinon.spy(options.cancel) } : {}),
    get calls() {
      return submit.args.map(([subjects]) => subjects);
    },
    get checked() {
      return answer.args.map(([op]) => op.deletionId);
    },
  };
}
