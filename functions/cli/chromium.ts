import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Debian's package (`apt-get install chromium`); CHROMIUM_PATH names another. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/**
 * Headless, and quiet: no sandbox (containers run as root), no GPU, no background traffic, no updates, no sync,
 * no first-run work. Each run gets a fresh profile directory (--user-data-dir), removed afterwards.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

/** The Chromium executable to use, or null (with where it was looked for) when there is none. */
export function findChromium(env: Readonly<Record<string, string | undefined>>): { path: string } | { path: null; lookedAt: string } {
  const path = env['CHROMIUM_PATH'] || DEFAULT_CHROMIUM;
  return existsSync(path) ? { path } : { path: null, lookedAt: path };
}

/** Runs headless Chromium on one local HTML file with extra flags, in a fresh profile; resolves with its stdout. */
export async function runChromium(chromium: string, htmlFile: string, flags: string[], timeoutMs = 60_000): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'consent-erasure-chromium-'));
  try {
    return await new Promise<string>((resolve, reject) => {
      execFile(
        chromium,
        [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...flags, pathToFileURL(htmlFile).href],
        { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`chromium failed: ${err.message}${stderr ? `\n${stderr.slice(-2000)}` : ''}`, { cause: err }));
          else resolve(stdout);
        },
      );
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** Prints an HTML document to PDF with Chromium's own print (A4, no header or footer); returns the PDF bytes. */
export async function printToPdf(chromium: string, html: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'consent-erasure-report-'));
  try {
    const page = join(dir, 'report.html');
    const pdf = join(dir, 'report.pdf');
    await writeFile(page, html);
    await runChromium(chromium, page, [`--print-to-pdf=${pdf}`, '--no-pdf-header-footer']);
    const bytes = await readFile(pdf);
    if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error('chromium wrote no PDF');
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
