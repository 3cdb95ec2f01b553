import { defineCommand } from '../context.js';
import { registerVendorsCheck } from './vendorsCheck.js';
import { registerVendorsResume } from './vendorsResume.js';

/**
 * The `vendors` group: commands about the configured vendors themselves. Each subcommand lives in its own file
 * beside this one (a named register function, no default export) and is registered here with one line.
 */
export default defineCommand({
  order: 75,
  register(program, ctx) {
    const vendors = program.command('vendors').description('the configured vendors: check their live API contract, release a held vendor');
    registerVendorsCheck(vendors, ctx);
    registerVendorsResume(vendors, ctx);
  },
});
