/**
 * What `lazy deploy` and `lazy finish` change on the new tenant's connection. Auth0's PATCH
 * replaces `options` as a whole, so the plan starts from the connection as read and changes only
 * the scripts, their configuration and the two switches.
 */
import type { Connection, TenantClient } from '../auth0/types.js';
import type { TenantConfig } from '../config.js';
import { MigrateError, coerceError } from '../errors.js';
import { identifyScript, type BuiltScripts, type ScriptIdentity, type ScriptName } from './build.js';

/** The configuration keys the scripts read; `lazy deploy` owns every key with this prefix. */
export const CONFIG_PREFIX = 'OLD_AUTH0_';
/** Configuration values never shown, whatever their prefix. */
const SECRET_KEY = /SECRET|PASSWORD|TOKEN|KEY|CREDENTIAL/i;
const SCRIPT_NAMES: ScriptName[] = ['login', 'get_user'];

export interface PlannedChange {
  /** The option's path, e.g. `customScripts.login`, `configuration.OLD_AUTH0_DOMAIN`. */
  field: string;
  /** What it is now and what it becomes, as shown to people (secrets as `[redacted]`). */
  from: string;
  to: string;
}

export interface ConnectionPlan {
  connectionId: string;
  connectionName: string;
  /** Only what actually changes. */
  changes: PlannedChange[];
  /** Scripts this tool did not write that the plan would overwrite (refused unless forced). */
  foreign: string[];
  /** Names of the other options, kept as they are. */
  kept: string[];
  /** The whole `options` to send. Holds the old tenant's client secret: never print it. */
  options: Record<string, unknown>;
}

/** The connection configuration the scripts read, from the tool's own old-tenant settings. */
export function scriptConfiguration(old: TenantConfig): Record<string, string> {
  const configuration: Record<string, string> = {
    OLD_AUTH0_DOMAIN: old.domain,
    OLD_AUTH0_CLIENT_ID: old.clientId,
    OLD_AUTH0_CLIENT_SECRET: old.clientSecret.reveal(),
    OLD_AUTH0_CONNECTION: old.connection,
  };
  if (old.baseUrl !== `https://${old.domain}`) configuration.OLD_AUTH0_BASE_URL = old.baseUrl;
  return configuration;
}

function describeScript(identity: ScriptIdentity): string {
  switch (identity.kind) {
    case 'none':
      return '(none)';
    case 'template':
      return "Auth0's unedited template";
    case 'ours':
      return (
        `auth0-migrate ${identity.name} v${identity.version}` +
        (identity.hash ? ` sha256 ${identity.hash}` : '') +
        (identity.finished ? ' (finished stub)' : '')
      );
    case 'foreign':
      return `a script auth0-migrate did not write (${identity.bytes} bytes)`;
  }
}

function shown(key: string, value: unknown): string {
  if (value === undefined) return '(unset)';
  if (SECRET_KEY.test(key)) return '[redacted]';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The options the connection gets: these scripts, this configuration for the `OLD_AUTH0_*` keys
 * (keys missing from it are removed), custom database and import mode on; everything else kept.
 */
export function planConnection(
  connection: Connection,
  target: { scripts: BuiltScripts; configuration: Record<string, string> },
): ConnectionPlan {
  if (connection.strategy !== 'auth0') {
    throw new MigrateError(
      `Connection "${connection.name}" on the new tenant is a ${connection.strategy} connection; lazy migration ` +
        'needs a database connection (strategy auth0).',
      { hint: 'Set NEW_AUTH0_CONNECTION to the database connection users should end up in.' },
    );
  }
  const options = connection.options;
  if (options === undefined || options === null || Object.keys(options).length === 0) {
    throw new MigrateError(
      `The new tenant answered with no options for connection "${connection.name}", so updating it would wipe ` +
        'its settings; nothing was changed.',
      {
        hint:
          "Give the new tenant's application the read:connections and update:connections scopes (and " +
          'read:connections_options / update:connections_options where the tenant has them).',
      },
    );
  }

  const changes: PlannedChange[] = [];
  const foreign: string[] = [];
  const scripts = { ...((options.customScripts as Record<string, unknown> | undefined) ?? {}) };
  for (const name of SCRIPT_NAMES) {
    const current = scripts[name];
    const next = target.scripts[name];
    if (current === next) continue;
    const identity = identifyScript(current);
    if (identity.kind === 'foreign') foreign.push(`customScripts.${name} (${identity.bytes} bytes)`);
    changes.push({
      field: `customScripts.${name}`,
      from: describeScript(identity),
      to: describeScript(identifyScript(next)),
    });
    scripts[name] = next;
  }

  const configuration: Record<string, unknown> = {};
  const current = (options.configuration as Record<string, unknown> | undefined) ?? {};
  for (const [k, v] of Object.entries(current)) if (!k.startsWith(CONFIG_PREFIX)) configuration[k] = v;
  Object.assign(configuration, target.configuration);
  const keys = new Set([...Object.keys(current), ...Object.keys(target.configuration)]);
  for (const key of [...keys].filter((k) => k.startsWith(CONFIG_PREFIX)).sort()) {
    const before = current[key];
    const after = target.configuration[key];
    if (before === after) continue;
    changes.push({
      field: `configuration.${key}`,
      from: shown(key, before),
      to: after === undefined ? '(removed)' : shown(key, after),
    });
  }

  for (const flag of ['enabledDatabaseCustomization', 'import_mode'] as const) {
    if (options[flag] !== true) changes.push({ field: flag, from: shown(flag, options[flag]), to: 'true' });
  }

  const touched = new Set(['customScripts', 'configuration', 'enabledDatabaseCustomization', 'import_mode']);
  return {
    connectionId: connection.id,
    connectionName: connection.name,
    changes,
    foreign,
    kept: Object.keys(options).filter((k) => !touched.has(k)),
    options: {
      ...options,
      customScripts: scripts,
      configuration,
      enabledDatabaseCustomization: true,
      import_mode: true,
    },
  };
}

/** The plan as lines for people. */
export function formatPlan(plan: ConnectionPlan, title: string): string[] {
  const lines = [`${title}: connection "${plan.connectionName}" (${plan.connectionId}) on the new tenant`];
  if (plan.changes.length === 0) {
    lines.push('  nothing to change: the connection is already set up this way');
    return lines;
  }
  const width = Math.max(...plan.changes.map((c) => c.field.length));
  for (const c of plan.changes) lines.push(`  ${c.field.padEnd(width)}  ${c.from} -> ${c.to}`);
  if (plan.kept.length > 0)
    lines.push(`  kept as they are: ${plan.kept.length} other options (${plan.kept.join(', ')})`);
  return lines;
}

/**
 * Reads the connection, plans, and (unless `dryRun`) writes it and reads it back. Refuses to replace
 * scripts it did not write unless `force`.
 */
export async function applyLazyConnection(
  client: TenantClient,
  connectionName: string,
  target: { scripts: BuiltScripts; configuration: Record<string, string> },
  options: { dryRun?: boolean; force?: boolean; title: string; print: (line: string) => void },
): Promise<ConnectionPlan> {
  const found = await client.getConnectionByName(connectionName);
  // A list answer may leave options out; the connection itself has them all.
  const connection = await client.getConnection(found.id);
  const plan = planConnection(connection, target);
  for (const line of formatPlan(plan, options.title)) options.print(line);

  if (plan.foreign.length > 0 && options.force !== true) {
    throw new MigrateError(
      `Connection "${plan.connectionName}" has scripts auth0-migrate did not write: ${plan.foreign.join(', ')}. ` +
        'Nothing was changed.',
      { hint: 'Keep a copy of those scripts, then run again with --force to replace them.' },
    );
  }
  if (plan.changes.length === 0) return plan;
  if (options.dryRun === true) {
    options.print('dry run: nothing was changed');
    return plan;
  }

  try {
    await client.updateConnection(plan.connectionId, { options: plan.options });
  } catch (thrown) {
    const err = coerceError(thrown);
    // Auth0 will not switch custom database scripts on for a connection that already holds users.
    if (/enabledDatabaseCustomization/.test(err.message)) {
      throw new MigrateError(
        `The new tenant will not turn on custom database scripts for connection "${plan.connectionName}" ` +
          'because it already holds users; nothing was changed.',
        {
          hint:
            'Create an empty database connection for the migration, enable it for your applications, and ' +
            'set NEW_AUTH0_CONNECTION to it.',
          cause: err,
        },
      );
    }
    throw err;
  }
  const after = await client.getConnection(plan.connectionId);
  const o = after.options ?? {};
  const s = (o.customScripts as Record<string, unknown> | undefined) ?? {};
  const wrong = [
    ...SCRIPT_NAMES.filter((n) => s[n] !== target.scripts[n]).map((n) => `customScripts.${n}`),
    ...(['enabledDatabaseCustomization', 'import_mode'] as const).filter((f) => o[f] !== true),
  ];
  if (wrong.length > 0) {
    throw new MigrateError(
      `The new tenant accepted the update of connection "${plan.connectionName}" but reading it back shows ` +
        `${wrong.join(', ')} not as sent.`,
      { hint: 'Check the connection in the Auth0 Dashboard, then run the command again.' },
    );
  }
  options.print(`updated connection "${plan.connectionName}"`);
  return plan;
}
