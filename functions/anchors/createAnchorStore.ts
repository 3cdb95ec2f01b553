import { Storage } from '@google-cloud/storage';
import type { AnchorStore } from './ChainAnchor.js';
import { createFileAnchorStore } from './fileAnchorStore.js';
import { createGcsAnchorStore } from './gcsAnchorStore.js';
import type { AnchorTarget } from './settings.js';

/** The anchor store a configured target names: a Cloud Storage bucket, or a folder. */
export function createAnchorStore(target: AnchorTarget, options: { projectId?: string | undefined } = {}): AnchorStore {
  if (target.kind === 'file') return createFileAnchorStore(target.dir);
  const storage = new Storage(options.projectId ? { projectId: options.projectId } : {});
  return createGcsAnchorStore({ bucket: storage.bucket(target.bucket), prefix: target.prefix });
}
