import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { anchorContent, anchorName, parseAnchor, type AnchorStore, type ChainAnchor, type StoredAnchor } from './ChainAnchor.js';

/**
 * Anchors as read-only files in a folder (the local stack's state folder): created exclusively, never
 * overwritten. Locally this is evidence against a changed database only; in production the bucket's retention
 * policy makes anchors unchangeable for their holder too.
 */
export function createFileAnchorStore(dir: string): AnchorStore {
  return {
    where: dir,
    async write(anchor: ChainAnchor) {
      await mkdir(dir, { recursive: true });
      try {
        await writeFile(join(dir, anchorName(anchor)), anchorContent(anchor), { flag: 'wx', mode: 0o444 });
        return 'written';
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
        throw err;
      }
    },
    async list(): Promise<StoredAnchor[]> {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const anchors = await Promise.all(
        names.filter((n) => n.endsWith('.json')).sort().map(async (n) => parseAnchor(join(dir, n), await readFile(join(dir, n), 'utf8'))),
      );
      return anchors.sort((a, b) => a.sequence - b.sequence);
    },
  };
}
