import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTenantClient } from '../auth0/index.js';
import type { TenantClient } from '../auth0/types.js';
import { requireTenant, type Config } from '../config.js';
import { ExitCode } from '../errors.js';
import { buildFinishedScripts, buildScripts } from '../lazy/build.js';
import { applyLazyConnection, scriptConfiguration } from '../lazy/deploy.js';
import { checkOrganizationLogins, formatOrganizationLogins } from '../lazy/organizations.js';

/** What the commands print to and talk to; tests replace them. */
export interface LazyCommandDeps {
  /** @defaultValue a line on stdout */
  print?: (line: string) => void;
  /** The new tenant. @defaultValue `createTenantClient` on the configured new tenant */
  client?: TenantClient;
  /** The old tenant (`lazy deploy` compares organization members). @defaultValue `createTenantClient` on it */
  oldClient?: TenantClient;
}

function printer(deps: LazyCommandDeps): (line: string) => void {
  return deps.print ?? ((line) => process.stdout.write(`${line}\n`));
}

/** `lazy build [--out DIR]`: writes login.js and get_user.js as Auth0 runs them. */
export async function lazyBuildCommand(
  _config: Config,
  opts: { out: string },
  deps: LazyCommandDeps = {},
): Promise<number> {
  const print = printer(deps);
  const scripts = buildScripts();
  const dir = resolve(opts.out);
  await mkdir(dir, { recursive: true });
  for (const name of ['login', 'get_user'] as const) {
    const file = join(dir, `${name}.js`);
    await writeFile(file, scripts[name]);
    print(`wrote ${file} (${Buffer.byteLength(scripts[name])} bytes, v${scripts.version})`);
  }
  print(
    'Paste them into the new connection (Custom Database > Login / Get User) with the configuration ' +
      'OLD_AUTH0_DOMAIN, OLD_AUTH0_CLIENT_ID, OLD_AUTH0_CLIENT_SECRET, OLD_AUTH0_CONNECTION ' +
      '(and OLD_AUTH0_BASE_URL off the public cloud), or let `auth0-migrate lazy deploy` do it.',
  );
  return ExitCode.ok;
}

/**
 * `lazy deploy [--dry-run] [--force]`: installs the scripts on the new tenant's connection, then
 * lists the organizations whose logins through it would refuse users not yet members.
 */
export async function lazyDeployCommand(
  config: Config,
  opts: { dryRun?: boolean; force?: boolean },
  deps: LazyCommandDeps = {},
): Promise<number> {
  const old = requireTenant(config, 'old');
  const target = requireTenant(config, 'new');
  const client = deps.client ?? createTenantClient(target, { label: 'new' });
  const print = printer(deps);
  const plan = await applyLazyConnection(
    client,
    target.connection,
    { scripts: buildScripts(), configuration: scriptConfiguration(old) },
    { dryRun: opts.dryRun, force: opts.force, title: 'lazy deploy', print },
  );
  const check = await checkOrganizationLogins(
    { old: deps.oldClient ?? createTenantClient(old, { label: 'old' }), new: client },
    { id: plan.connectionId, name: plan.connectionName },
  );
  for (const line of formatOrganizationLogins(check)) print(line);
  return ExitCode.ok;
}

/**
 * `lazy finish [--dry-run] [--force]`: the scripts become stubs and their configuration (the old
 * tenant's client secret) goes; import mode stays on, as Auth0 advises.
 */
export async function lazyFinishCommand(
  config: Config,
  opts: { dryRun?: boolean; force?: boolean },
  deps: LazyCommandDeps = {},
): Promise<number> {
  const target = requireTenant(config, 'new');
  const client = deps.client ?? createTenantClient(target, { label: 'new' });
  await applyLazyConnection(
    client,
    target.connection,
    { scripts: buildFinishedScripts(), configuration: {} },
    { dryRun: opts.dryRun, force: opts.force, title: 'lazy finish', print: printer(deps) },
  );
  return ExitCode.ok;
}
