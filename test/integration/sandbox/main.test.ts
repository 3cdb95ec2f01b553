import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../local/sandbox/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The standalone entry, as an operator starts it by hand. */
describe('sandbox main.ts', () => {
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    child = undefined;
  });

  const run = (args: string[]) => {
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    return { output: () => out, errors: () => err, process: child };
  };

  it('serves the configured modules on the given port and stops on SIGINT', async () => {
    const p = run(['--port', '0', '--config', '{"http":{"credential":"tok","rateLimit":{"requests":3}}}']);
    const url = await new Promise<string>((resolve, reject) => {
      p.process.stdout!.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(p.output());
        if (m) resolve(m[1]!);
      });
      p.process.once('exit', (code) => reject(new Error(`exited ${code}: ${p.errors()}`)));
    });
    const config = (await (await fetch(`${url}/_sandbox/http/config`)).json()) as { credential: string; rateLimit: unknown };
    assert.equal(config.credential, 'tok');
    assert.deepEqual(config.rateLimit, { requests: 3, perMs: 1000 });
    assert.equal((await fetch(`${url}/http/deletions/op_x`)).status, 401);
    p.process.kill('SIGINT');
    const [code] = (await once(p.process, 'exit')) as [number | null];
    assert.equal(code, 0);
  });

  it('refuses a bad starting config with the reason', async () => {
    const p = run(['--port', '0', '--config', '{"http":{"failureShare":3}}']);
    const [code] = (await once(p.process, 'exit')) as [number | null];
    assert.equal(code, 1);
    assert.match(p.errors(), /failureShare/);
  });
});
