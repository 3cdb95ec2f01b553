import pLimit from 'p-limit';
import { anchorContent, anchorName, parseAnchor, type AnchorStore, type ChainAnchor, type StoredAnchor } from './ChainAnchor.js';

/** An object as the adapter uses it (a @google-cloud/storage File). */
export interface AnchorObject {
  name: string;
  save(data: string, options: { contentType: string; resumable: boolean; preconditionOpts: { ifGenerationMatch: number } }): Promise<unknown>;
  download(): Promise<[Buffer]>;
}

/** The bucket as the adapter uses it (a @google-cloud/storage Bucket). */
export interface AnchorBucket {
  name: string;
  file(name: string): AnchorObject;
  getFiles(query: { prefix: string; autoPaginate: boolean }): Promise<[AnchorObject[], ...unknown[]]>;
}

const PRECONDITION_FAILED = 412;

/**
 * Anchors as objects in a Cloud Storage bucket whose retention policy (infra/anchors.tf) forbids deleting or
 * replacing an object before it expires. Each is created with `ifGenerationMatch: 0`, so it is never replaced: an
 * object already there (a second poller anchoring the same head) answers 412, which is 'exists'. The poller's
 * account may create objects only (roles/storage.objectCreator); operators read them for `verify-log`.
 */
export function createGcsAnchorStore(deps: { bucket: AnchorBucket; prefix: string }): AnchorStore {
  const { bucket, prefix } = deps;
  return {
    where: `gs://${bucket.name}/${prefix}`,
    async write(anchor: ChainAnchor) {
      try {
        await bucket.file(`${prefix}${anchorName(anchor)}`).save(anchorContent(anchor), {
          contentType: 'application/json',
          resumable: false,
          preconditionOpts: { ifGenerationMatch: 0 },
        });
        return 'written';
      } catch (err) {
        if ((err as { code?: unknown }).code === PRECONDITION_FAILED) return 'exists';
        throw err;
      }
    },
    async list(): Promise<StoredAnchor[]> {
      const [objects] = await bucket.getFiles({ prefix, autoPaginate: true });
      const limit = pLimit(16);
      const anchors = await Promise.all(
        objects
          .filter((o) => o.name.endsWith('.json'))
          .map((o) => limit(async () => parseAnchor(`gs://${bucket.name}/${o.name}`, (await o.download())[0].toString('utf8')))),
      );
      return anchors.sort((a, b) => a.sequence - b.sequence);
    },
  };
}
