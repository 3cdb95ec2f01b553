/**
 * The two sizes of the fault suite. `npm run test:faults` runs `full` (the figures the README quotes);
 * `npm test` runs `bounded` (FAULTS_PROFILE unset), small enough for CI on two cores.
 */
export const PROFILE_NAMES = ['bounded', 'full'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface FaultProfile {
  name: ProfileName;
  /** Scenario 1: revocation events, each delivered `deliveries` times in random order. */
  events: number;
  deliveries: number;
  concurrency: number;
  /** Scenario 2: deletions pushed through the faulty vendor. */
  faultDeletions: number;
  /** Scenario 3: SIGKILLs of the poller process and the deletions it works through. */
  kills: number;
  killDeletions: number;
  /** Scenario 4: revocations ingested across the PostgreSQL restart. */
  restartEvents: number;
  /** Scenario 5: drift incidents switched on and off, and the deletions followed through them. */
  driftIncidents: number;
  driftDeletions: number;
  /** Scenario 6: fast-check runs per property. */
  hostileRuns: number;
  /** Scenario 7: customers revoked in Firestore, and the share of their trigger events dropped. */
  lostCustomers: number;
  lostShare: number;
  /** Scenario 1s: customers revoked in Firestore whose every trigger event reaches the function 3–4 times. */
  stackDuplicateCustomers: number;
  /** Scenario 2s: customers revoked in Firestore while the vendor sandbox answers with faults, through the local stack. */
  stackFaultCustomers: number;
  /** Scenario 3s: SIGKILLs of the pollDeletions process, and the customers revoked in Firestore meanwhile. */
  stackKills: number;
  stackKillCustomers: number;
  /** Scenario 5s: drift incidents switched on and off, and the customers revoked in Firestore in waves before them. */
  stackDriftIncidents: number;
  stackDriftCustomers: number;
  /** Scenario 4s: revocations written to Firestore across two PostgreSQL restarts and a SendGrid outage, through the local stack. */
  stackRestartRevocations: number;
  /** Scenario 6s: hostile document ids beyond the fixed ones (generated), and random messages published. */
  stackHostileIds: number;
  stackHostileMessages: number;
  /** Scenario 8s: revocations written to Firestore while the stack runs at trace level with credentials configured. */
  stackSecretCustomers: number;
  /** Scenario 9: revocations written to Firestore across two PostgreSQL crashes, through the local stack. */
  crashRevocations: number;
}

const PROFILES: Record<ProfileName, FaultProfile> = {
  bounded: {
    name: 'bounded',
    events: 1_000,
    deliveries: 3,
    concurrency: 8,
    faultDeletions: 300,
    kills: 10,
    killDeletions: 300,
    restartEvents: 200,
    driftIncidents: 4,
    driftDeletions: 100,
    hostileRuns: 100,
    lostCustomers: 150,
    lostShare: 0.2,
    crashRevocations: 150,
    stackDuplicateCustomers: 150,
    stackFaultCustomers: 150,
    stackKills: 4,
    stackKillCustomers: 150,
    stackDriftIncidents: 4,
    stackDriftCustomers: 100,
    stackRestartRevocations: 100,
    stackHostileIds: 30,
    stackHostileMessages: 100,
    stackSecretCustomers: 30,
  },
  full: {
    name: 'full',
    events: 10_000,
    deliveries: 3,
    concurrency: 8,
    faultDeletions: 2_000,
    kills: 50,
    killDeletions: 2_000,
    restartEvents: 1_000,
    driftIncidents: 8,
    driftDeletions: 500,
    hostileRuns: 1_000,
    lostCustomers: 1_000,
    lostShare: 0.2,
    crashRevocations: 1_000,
    stackDuplicateCustomers: 1_000,
    stackFaultCustomers: 1_000,
    stackKills: 20,
    stackKillCustomers: 1_000,
    stackDriftIncidents: 8,
    stackDriftCustomers: 500,
    stackRestartRevocations: 1_000,
    stackHostileIds: 500,
    stackHostileMessages: 1_000,
    stackSecretCustomers: 150,
  },
};

/** The profile named by FAULTS_PROFILE (bounded when unset); an unknown name is an error that says which exist. */
export function faultProfile(value: string | undefined): FaultProfile {
  const name = (value ?? '').trim() || 'bounded';
  if (!(PROFILE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`FAULTS_PROFILE: unknown profile "${name}" (known: ${PROFILE_NAMES.join(', ')})`);
  }
  return PROFILES[name as ProfileName];
}
