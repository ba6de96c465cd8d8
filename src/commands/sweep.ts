import { requireTenant, type Config } from '../config.js';
import { mfaProblems, throwProblems } from '../import.js';
import { DEFAULT_RELATIONS } from '../jobs/types.js';
import { pickRun, runCommand, type CommandHooks, type RunCommandOptions } from './run.js';

export interface SweepCommandOptions extends RunCommandOptions {
  /** MFA secrets (NDJSON) merged into the users. */
  mfa?: string;
}

/** `auth0-migrate sweep [--mfa FILE] [--dry-run] [--upsert] [--run-id ID] [--no-workers]` */
export async function sweepCommand(
  config: Config,
  opts: SweepCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  requireTenant(config, 'old');
  requireTenant(config, 'new');
  if (opts.mfa !== undefined) {
    const problems: string[] = [];
    const hints = new Set<string>();
    await mfaProblems(config, opts.mfa, false, problems, hints);
    throwProblems('sweep', problems, hints);
  }
  return runCommand(
    config,
    {
      kind: 'sweep',
      ...(opts.mfa !== undefined && { mfaFile: opts.mfa }),
      ...pickRun(opts),
      ...(opts.relations !== false && { relations: DEFAULT_RELATIONS }),
    },
    opts,
    hooks,
  );
}
