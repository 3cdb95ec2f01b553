import { defineCommand } from '../context.js';
import { registerConsentCommand } from '../consentCommand.js';

export default defineCommand({ order: 21, register: (program, ctx) => registerConsentCommand(program, ctx, 'grant') });
