// The `consent-erasure` executable (bin/consent-erasure.js loads this file). The only place the CLI touches
// process: it hands argv and the environment to runCli and turns the result into the exit code.
import { runCli } from './program.js';

process.env['METADATA_SERVER_DETECTION'] ??= 'none';
process.exitCode = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
