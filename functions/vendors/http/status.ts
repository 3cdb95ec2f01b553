import { z } from 'zod';
import type { VendorState } from '../DeletionVendor.js';
import { VendorContractError } from '../errors.js';

/** The status words the generic contract documents, nothing else. */
export const HTTP_STATUS_WORDS = ['pending', 'in_progress', 'complete', 'failed'] as const;
export type HttpStatusWord = (typeof HTTP_STATUS_WORDS)[number];

/** The generic contract's words mapped to our normalised states. */
export const HTTP_STATUS_MAP: Readonly<Record<HttpStatusWord, VendorState>> = {
  pending: 'submitted',
  in_progress: 'in_progress',
  complete: 'completed',
  failed: 'failed',
};

export const HttpStatusWordSchema = z.enum(HTTP_STATUS_WORDS);

/**
 * Maps a status word strictly: anything the contract does not document is a VendorContractError, never
 * "still pending". `sample` is the secret-free body to show with the violation (default: the word itself).
 */
export function mapHttpStatus(vendor: string, raw: unknown, sample?: string): VendorState {
  const word = HttpStatusWordSchema.safeParse(raw);
  if (!word.success) {
    const shown = typeof raw === 'string' ? `"${raw.slice(0, 60)}"` : typeof raw;
    throw new VendorContractError(vendor, `unknown status ${shown} (documented: ${HTTP_STATUS_WORDS.join(', ')})`, sample ?? JSON.stringify(raw ?? null).slice(0, 100));
  }
  return HTTP_STATUS_MAP[word.data];
}
