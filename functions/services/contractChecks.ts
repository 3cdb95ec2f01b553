import type { Clock } from '../clock.js';
import type { ContractCheck } from '../vendors/contract/probe.js';
import { checkContract, hasProbe } from '../vendors/contract/vendorProbes.js';
import type { VendorConfig } from '../vendors/settings.js';

export type { ContractCheck, ProbeCall, CheckOutcome } from '../vendors/contract/probe.js';

export interface ContractCheckDeps {
  clock: Clock;
  /** Per-call timeout. */
  timeoutMs: number;
  newId?: () => string;
}

/**
 * The live contract check of each configured vendor, one after another: its documented test or discovery
 * endpoints called read-only with the configured credentials, each answer compared with the documented shapes
 * (vendors/contract/). A vendor without such an endpoint is `no_probe`; one whose credentials this process was not
 * given has `failed`, saying so.
 */
export async function checkVendorContracts(configs: readonly VendorConfig[], deps: ContractCheckDeps): Promise<ContractCheck[]> {
  const checks: ContractCheck[] = [];
  for (const config of configs) {
    if (hasProbe(config.name) && config.absentCredentials?.length) {
      checks.push({ vendor: config.name, outcome: 'failed', calls: [], note: `this process was not given its credentials (${config.absentCredentials.join(', ')})` });
      continue;
    }
    checks.push(await checkContract(config, deps));
  }
  return checks;
}

/** What a check found, one line per call that did not match: kept to tell a new mismatch from the same one. */
export function checkDifferences(check: ContractCheck): string {
  return check.calls
    .filter((c) => c.outcome !== 'matches')
    .flatMap((c) => [...(c.problem ? [`${c.call}: ${c.problem}`] : []), ...c.differences.map((d) => `${c.call}: ${d}`)])
    .join('\n');
}

/** One paragraph for a log line or an alert. */
export function describeCheck(check: ContractCheck): string {
  const found = checkDifferences(check);
  return `${check.vendor} contract check (${check.note}): ${check.outcome}${found ? `; ${found.split('\n').join('; ')}` : ''}`;
}
