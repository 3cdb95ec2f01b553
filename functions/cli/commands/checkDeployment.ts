import { checkDeployments, parseDeployments } from '../deployment.js';
import { defineCommand } from '../context.js';

export default defineCommand({
  order: 90,
  register(program, ctx) {
    program
      .command('check-deployment')
      .description(
        "validate each function's deployment before it is made (the build's preflight): after --, one " +
          '--function=NAME per function followed by the --set-env-vars=… and --set-secrets=… its gcloud functions ' +
          "deploy step passes; checks them with the functions' own configuration rules (mounted secrets count as " +
          'present, their values are not read) and that no function mounts a secret it does not use',
      )
      .argument('<flags...>', '--function=NAME --set-env-vars=… --set-secrets=…, repeated (after --)')
      .action((flags: string[]) => {
        const checked = checkDeployments(parseDeployments(flags));
        for (const c of checked)
          ctx.out(`${c.name}: configuration valid (vendors ${c.vendors.join(', ')}; secrets mounted: ${c.mounted.join(', ') || 'none'})`);
      });
  },
});
