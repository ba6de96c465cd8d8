import { requireTenant, type Config } from '../config.js';
import { mfaProblems, mfaReadsCost, throwProblems } from '../import.js';
import { DEFAULT_RELATIONS } from '../jobs/types.js';
import { pickRun, runCommand, type CommandHooks, type RunCommandOptions } from './run.js';

export interface SweepCommandOptions extends RunCommandOptions {
  /** MFA secrets (NDJSON) merged into the users. */
  mfa?: string;
  /** Read each user's MFA enrolments from the old tenant when the export does not show them. */
  mfaReads?: boolean;
}

/** `auth0-migrate sweep [--mfa FILE] [--dry-run] [--upsert] [--run-id ID] [--no-workers]` */
export async function sweepCommand(
  config: Config,
  opts: SweepCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  requireTenant(config, 'old');
  requireTenant(config, 'new');
  if (opts.mfaReads === true) (hooks.out ?? process.stdout).write(mfaReadsCost(config));
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
      ...(opts.mfaReads === true && { mfaReads: true }),
      ...pickRun(opts),
      ...(opts.relations !== false && { relations: DEFAULT_RELATIONS }),
    },
    opts,
    hooks,
  );
}
