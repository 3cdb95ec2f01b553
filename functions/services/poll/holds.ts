import type pg from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { MASS_REFUSAL_DEFAULTS, type MassRefusalPolicy } from '../../domain/failureClasses.js';
import { countRecentRefusals } from '../../store/countRecentRefusals.js';
import type { DeletionVendor } from '../../vendors/DeletionVendor.js';
import type { Incidents } from './incidents.js';

/**
 * Mass refusals: the same refusal across many deletions of one vendor within a window holds the vendor's
 * submissions (one `mass_refusal` incident, one alert naming the cause) instead of refusing deletion after
 * deletion. The hold is keyed by the vendor's configuration and revision (services/vendorHolds.ts): a deployment
 * that changes either releases it, as does `consent-erasure vendors resume <vendor>`.
 */
export interface Holds {
  /** Whether `vendor`'s submissions are held now (a hold made under another configuration is released here). */
  held(vendor: DeletionVendor): Promise<boolean>;
  /** After a refusal with these words: holds the vendor when enough deletions got it in the window. */
  afterRefusal(vendor: DeletionVendor, signature: string): Promise<boolean>;
}

export function createHolds(deps: {
  pool: pg.Pool;
  log: Logger;
  clock: Clock;
  incidents: Incidents;
  keyOf: (vendor: string) => string;
  policy?: MassRefusalPolicy | undefined;
}): Holds {
  const { pool, log, clock, incidents, keyOf } = deps;
  const policy = deps.policy ?? MASS_REFUSAL_DEFAULTS;
  return {
    async held(vendor) {
      const key = incidents.holdKey(vendor.name);
      if (key === undefined) return false;
      if (key !== null && key !== keyOf(vendor.name)) {
        await incidents.close(vendor.name, ['mass_refusal']);
        log.warn({ event: 'vendor_hold_released', vendor: vendor.name, reason: 'configuration changed' }, `${vendor.name}'s configuration changed since the mass refusal; submissions resume`);
        return false;
      }
      return true;
    },
    async afterRefusal(vendor, signature) {
      if (incidents.holdKey(vendor.name) !== undefined) return true;
      const now = clock.now();
      const deletions = await countRecentRefusals(pool, { vendor: vendor.name, signature, since: new Date(now.getTime() - policy.windowMs) });
      if (deletions < policy.deletions) return false;
      const minutes = Math.round(policy.windowMs / 60_000);
      const detail = `${deletions} deletions refused with the same words within ${minutes} minutes: ${signature}`;
      await incidents.open(vendor.name, 'mass_refusal', detail, undefined, { holdKey: keyOf(vendor.name) });
      log.error(
        { event: 'vendor_mass_refusal', vendor: vendor.name, deletions, windowMinutes: minutes, refusal: signature },
        `${vendor.name} refuses deletion after deletion; its submissions are held`,
      );
      return true;
    },
  };
}
