import { createTenantClient } from '../auth0/index.js';
import type { TenantClient } from '../auth0/types.js';
import { requireTenant, type Config } from '../config.js';
import { InputError } from '../errors.js';
import { hashesProblems } from '../import.js';
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
}

/**
 * `auth0-migrate sweep [--dry-run] [--upsert] [--run-id ID] [--no-workers] [--members-of ORG…]
 * [--hashes FILE]`
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
  if (problems.length > 0) {
    throw new InputError(
      problems.length === 1 ? problems[0]! : `sweep cannot start:\n  - ${problems.join('\n  - ')}`,
      {
        hint: [...hints].join(' '),
      },
    );
  }
  let spec: RunSpec = {
    kind: 'sweep',
    ...(opts.hashes !== undefined && { hashesFile: opts.hashes }),
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
