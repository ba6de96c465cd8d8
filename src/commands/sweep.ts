import { requireTenant, type Config } from '../config.js';
import { DEFAULT_RELATIONS } from '../jobs/types.js';
import { pickRun, runCommand, type CommandHooks, type RunCommandOptions } from './run.js';

/** `auth0-migrate sweep [--dry-run] [--upsert] [--run-id ID] [--no-workers]` */
export async function sweepCommand(
  config: Config,
  opts: RunCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  requireTenant(config, 'old');
  requireTenant(config, 'new');
  return runCommand(
    config,
    { kind: 'sweep', ...pickRun(opts), ...(opts.relations !== false && { relations: DEFAULT_RELATIONS }) },
    opts,
    hooks,
  );
}
