import { requireTenant, type Config } from '../config.js';
import { pickRun, runCommand, type CommandHooks, type RunCommandOptions } from './run.js';

/** `auth0-migrate sweep [--dry-run] [--upsert] [--run-id ID] [--no-workers]` */
export async function sweepCommand(
  config: Config,
  opts: RunCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  requireTenant(config, 'old');
  requireTenant(config, 'new');
  return runCommand(config, { kind: 'sweep', ...pickRun(opts) }, opts, hooks);
}
