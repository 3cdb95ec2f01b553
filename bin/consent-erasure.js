#!/usr/bin/env node
// Runs the TypeScript source through tsx in a checkout (so the CLI never lags behind the code), and the
// compiled build where tsx is not installed (a production-only install).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'functions', 'cli', 'main.ts');
const compiled = join(root, 'dist', 'functions', 'cli', 'main.js');

let tsx;
try {
  tsx = await import('tsx/esm/api');
} catch {
  tsx = undefined;
}
if (tsx && existsSync(source)) {
  tsx.register();
  await import(pathToFileURL(source).href);
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write('consent-erasure: neither the source with tsx nor a build (npm run build) was found\n');
  process.exit(1);
}
