import { createTenantClient } from '../auth0/index.js';
import type { TenantClient } from '../auth0/types.js';
import { requireTenant, type Config } from '../config.js';
import { hashesProblems, mfaProblems, mfaReadsCost, throwProblems } from '../import.js';
import { newRunId, type RunSpec } from '../jobs/flow.js';
import { selectMembers } from '../jobs/members-of.js';
import { DEFAULT_RELATIONS } from '../jobs/types.js';
import { pickRun, runCommand, type CommandHooks, type RunCommandOptions } from './run.js';

export interface SweepCommandOptions extends RunCommandOptions {
  /**
   * `--members-of ORG…`: import only the members of these organizations of the old tenant (by
   * name), e.g. before their applications switch to organization login.
   */
  membersOf?: string[];
  /** Password hashes (NDJSON) merged into the users; without them imported users need a reset. */
  hashes?: string;
  /** Allow `hashes` without PAYLOAD_KEY. */
  allowPlaintextHashes?: boolean;
  /** MFA secrets (NDJSON) merged into the users. */
  mfa?: string;
  /** Read each user's MFA enrolments from the old tenant when the export does not show them. */
  mfaReads?: boolean;
}

/**
 * `auth0-migrate sweep [--mfa FILE] [--mfa-reads] [--dry-run] [--upsert] [--run-id ID]
 * [--no-workers] [--members-of ORG…] [--hashes FILE]`
 */
export async function sweepCommand(
  config: Config,
  opts: SweepCommandOptions = {},
  hooks: CommandHooks & { oldClient?: TenantClient } = {},
): Promise<number> {
  const old = requireTenant(config, 'old');
  requireTenant(config, 'new');
  const problems: string[] = [];
  const hints = new Set<string>();
  await hashesProblems(config, opts, problems, hints);
  if (opts.mfa !== undefined) await mfaProblems(config, opts.mfa, false, problems, hints);
  throwProblems('sweep', problems, hints);
  if (opts.mfaReads === true) (hooks.out ?? process.stdout).write(mfaReadsCost(config));
  let spec: RunSpec = {
    kind: 'sweep',
    ...(opts.hashes !== undefined && { hashesFile: opts.hashes }),
    ...(opts.mfa !== undefined && { mfaFile: opts.mfa }),
    ...(opts.mfaReads === true && { mfaReads: true }),
    ...pickRun(opts),
    ...(opts.relations !== false && { relations: DEFAULT_RELATIONS }),
  };
  const names = [...new Set(opts.membersOf ?? [])];
  if (names.length > 0) {
    const runId = opts.runId ?? newRunId('sweep');
    const client = hooks.oldClient ?? createTenantClient(old, { label: 'old' });
    const selection = await selectMembers(client, config.reportsDir, runId, names);
    const out = hooks.out ?? process.stdout;
    if (selection.perOrganization !== undefined) {
      const each = selection.perOrganization.map((o) => `${o.name} (${o.members})`).join(', ');
      out.write(`Members of ${each}: ${selection.users} users selected from the old tenant.\n`);
    }
    spec = { ...spec, runId, membersOf: names, membersFile: selection.file };
  }
  return runCommand(config, spec, opts, hooks);
}
