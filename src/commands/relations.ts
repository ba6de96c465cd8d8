/**
 * `auth0-migrate relations [--dry-run] [--run-id ID] [--update-roles] [--direct-permissions]`:
 * a run of the relations stage alone (the sweep runs it after the users; RELATIONS_CRON runs this
 * during the lazy-migration weeks).
 */
import { requireTenant, type Config } from '../config.js';
import { createTenantClient } from '../auth0/index.js';
import { coerceError } from '../errors.js';
import { formatDuration, n } from '../report/format.js';
import { pickRun, runCommand, type CommandHooks, type RunCommandOptions } from './run.js';

export interface RelationsCommandOptions extends RunCommandOptions {
  updateRoles?: boolean;
  directPermissions?: boolean;
}

/** "1,000,000 calls ≈ 17 h at 16 requests/s": one read per old-tenant user. */
export function directPermissionsCost(users: number, rps: number): string {
  return `${n(users)} call${users === 1 ? '' : 's'} ≈ ${formatDuration(Math.ceil((users / rps) * 1000))} at ${n(rps)} requests/s`;
}

export async function relationsCommand(
  config: Config,
  opts: RelationsCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  const old = requireTenant(config, 'old');
  requireTenant(config, 'new');
  const out = hooks.out ?? process.stdout;
  if (opts.directPermissions === true && opts.runId === undefined) {
    // The cost before it is spent: GET /users/{id}/permissions once per user of the old tenant.
    try {
      const answer = (await createTenantClient(old, { label: 'old' }).request(
        'GET',
        '/users?per_page=1&page=0&include_totals=true&search_engine=v3',
      )) as { total?: unknown } | undefined;
      const total = typeof answer?.total === 'number' ? answer.total : undefined;
      out.write(
        total === undefined
          ? `--direct-permissions reads each old-tenant user's permissions: one call per user at ${n(config.maxRps.old)} requests/s.\n`
          : `--direct-permissions reads each old-tenant user's permissions: ${directPermissionsCost(total, config.maxRps.old)} (OLD_AUTH0_MAX_RPS).\n`,
      );
    } catch (err) {
      out.write(
        `--direct-permissions: the old tenant's user count could not be read (${coerceError(err).message}).\n`,
      );
    }
  }
  return runCommand(
    config,
    {
      kind: 'relations',
      ...pickRun(opts),
      relations: {
        updateRoles: opts.updateRoles === true,
        directPermissions: opts.directPermissions === true,
      },
    },
    opts,
    hooks,
  );
}
