/** `lazy deploy` / `lazy finish` against an in-memory connection: the plan, the refusals, the merge. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Connection, TenantClient } from '../../src/auth0/types.js';
import { Secret, loadConfig, withTenants, type Config, type TenantConfig } from '../../src/config.js';
import { buildFinishedScripts, buildScripts, type BuiltScripts } from '../../src/lazy/build.js';
import { lazyDeployCommand, lazyFinishCommand } from '../../src/commands/lazy.js';
import { planConnection, scriptConfiguration } from '../../src/lazy/deploy.js';

const OLD: TenantConfig = {
  domain: 'old.example.com',
  clientId: 'old-client',
  clientSecret: new Secret('old-secret-DO-NOT-PRINT'),
  connection: 'Username-Password-Authentication',
  baseUrl: 'https://old.example.com',
};
const NEW: TenantConfig = {
  domain: 'new.example.com',
  clientId: 'new-client',
  clientSecret: new Secret('new-secret'),
  connection: 'users',
  baseUrl: 'https://new.example.com',
};
const FOREIGN_LOGIN =
  'function login(email, password, callback) { return callback(null, { user_id: email }); }';

/** A connection held in memory, with Auth0's PATCH semantics: `options` is replaced as a whole. */
function fakeClient(initial: Connection) {
  let connection = structuredClone(initial);
  const updates: Array<Record<string, unknown>> = [];
  const client = {
    label: 'new',
    // A tenant without organizations.
    async listOrganizationsPage() {
      return { items: [] };
    },
    async getConnectionByName(name: string) {
      if (name !== connection.name) throw new Error(`no connection ${name}`);
      return { id: connection.id, name: connection.name, strategy: connection.strategy };
    },
    async getConnection(id: string) {
      if (id !== connection.id) throw new Error(`no connection ${id}`);
      return structuredClone(connection);
    },
    async updateConnection(id: string, patch: Record<string, unknown>) {
      if (id !== connection.id) throw new Error(`no connection ${id}`);
      updates.push(structuredClone(patch));
      connection = { ...connection, ...structuredClone(patch) } as Connection;
      return structuredClone(connection);
    },
  } as unknown as TenantClient;
  return { client, updates, current: () => connection };
}

function dbConnection(options: Record<string, unknown>): Connection {
  return { id: 'con_0123456789abcdef', name: 'users', strategy: 'auth0', options };
}

let config: Config;
let lines: string[];
const print = (line: string): void => {
  lines.push(line);
};
let scripts: BuiltScripts;

beforeEach(() => {
  config = withTenants(loadConfig({ env: {}, dotenvPath: false }), { old: OLD, new: NEW });
  lines = [];
  scripts = buildScripts();
});

const existingOptions = {
  passwordPolicy: 'good',
  brute_force_protection: true,
  mfa: { active: true, return_enroll_settings: true },
  password_history: { enable: true, size: 5 },
  configuration: {
    SOMETHING_ELSE: 'kept',
    OLD_AUTH0_STALE: 'from an earlier set-up',
    OLD_AUTH0_API_KEY: 'stale-secret-DO-NOT-PRINT',
  },
  customScripts: { create: 'function create(user, callback) { callback(null); }' },
};

describe('lazy deploy', () => {
  it('shows the plan with the secret redacted, then installs scripts, configuration and switches, keeping the rest', async () => {
    const fake = fakeClient(dbConnection(existingOptions));
    expect(await lazyDeployCommand(config, {}, { client: fake.client, print })).toBe(0);

    const text = lines.join('\n');
    expect(text).not.toContain('old-secret-DO-NOT-PRINT');
    expect(text).toMatch(
      /customScripts\.login\s+\(none\) -> auth0-migrate login v1\.0\.0 sha256 [0-9a-f]{12}/,
    );
    expect(text).toMatch(/customScripts\.get_user\s+\(none\) -> auth0-migrate get_user v1\.0\.0/);
    expect(text).toMatch(/configuration\.OLD_AUTH0_CLIENT_SECRET\s+\(unset\) -> \[redacted\]/);
    expect(text).toMatch(/configuration\.OLD_AUTH0_DOMAIN\s+\(unset\) -> old\.example\.com/);
    expect(text).toMatch(/configuration\.OLD_AUTH0_STALE\s+from an earlier set-up -> \(removed\)/);
    expect(text).toMatch(/configuration\.OLD_AUTH0_API_KEY\s+\[redacted\] -> \(removed\)/);
    expect(text).not.toContain('stale-secret-DO-NOT-PRINT');
    expect(text).toMatch(/enabledDatabaseCustomization\s+\(unset\) -> true/);
    expect(text).toMatch(/import_mode\s+\(unset\) -> true/);
    expect(text).toContain(
      'kept as they are: 4 other options (passwordPolicy, brute_force_protection, mfa, password_history)',
    );
    expect(text).not.toMatch(/OLD_AUTH0_BASE_URL/);
    expect(text).toContain('updated connection "users"');

    expect(fake.updates).toHaveLength(1);
    expect(fake.current().options).toEqual({
      ...existingOptions,
      customScripts: { ...existingOptions.customScripts, login: scripts.login, get_user: scripts.get_user },
      configuration: {
        SOMETHING_ELSE: 'kept',
        OLD_AUTH0_DOMAIN: 'old.example.com',
        OLD_AUTH0_CLIENT_ID: 'old-client',
        OLD_AUTH0_CLIENT_SECRET: 'old-secret-DO-NOT-PRINT',
        OLD_AUTH0_CONNECTION: 'Username-Password-Authentication',
      },
      enabledDatabaseCustomization: true,
      import_mode: true,
    });
  });

  it('sets OLD_AUTH0_BASE_URL only when the old tenant is not at https://<domain>', () => {
    expect(scriptConfiguration(OLD).OLD_AUTH0_BASE_URL).toBeUndefined();
    expect(scriptConfiguration({ ...OLD, baseUrl: 'http://127.0.0.1:4010/old' }).OLD_AUTH0_BASE_URL).toBe(
      'http://127.0.0.1:4010/old',
    );
  });

  it('changes nothing on a dry run', async () => {
    const fake = fakeClient(dbConnection(existingOptions));
    expect(await lazyDeployCommand(config, { dryRun: true }, { client: fake.client, print })).toBe(0);
    expect(fake.updates).toEqual([]);
    expect(lines.at(-2)).toBe('dry run: nothing was changed');
    expect(lines.at(-1)).toBe(
      'organization logins through connection "users": none of the new tenant\'s 0 organizations enables it; nothing to do',
    );
    expect(lines.join('\n')).toMatch(/customScripts\.login/);
  });

  it('refuses to overwrite a script it did not write, even on a dry run, and overwrites it with --force', async () => {
    const fake = fakeClient(dbConnection({ ...existingOptions, customScripts: { login: FOREIGN_LOGIN } }));
    await expect(lazyDeployCommand(config, {}, { client: fake.client, print })).rejects.toMatchObject({
      name: 'MigrateError',
      message: expect.stringMatching(
        /scripts auth0-migrate did not write: customScripts\.login \(\d+ bytes\)/,
      ),
      hint: expect.stringMatching(/--force/),
    });
    await expect(lazyDeployCommand(config, { dryRun: true }, { client: fake.client, print })).rejects.toThrow(
      /did not write/,
    );
    expect(fake.updates).toEqual([]);
    expect(lines.join('\n')).toMatch(
      /customScripts\.login\s+a script auth0-migrate did not write \(\d+ bytes\)/,
    );

    expect(await lazyDeployCommand(config, { force: true }, { client: fake.client, print })).toBe(0);
    expect((fake.current().options?.customScripts as Record<string, string>).login).toBe(scripts.login);
  });

  it("replaces Auth0's untouched templates and its own earlier scripts without --force", async () => {
    const template =
      "function login(email, password, callback) {\n  const msg = 'Please implement the Login script for this database connection ' +\n    'at https://manage.auth0.com/#/connections/database';\n  return callback(new Error(msg));\n}";
    const earlier = scripts.get_user.replace('v1.0.0', 'v0.9.0');
    const fake = fakeClient(
      dbConnection({ ...existingOptions, customScripts: { login: template, get_user: earlier } }),
    );
    expect(await lazyDeployCommand(config, {}, { client: fake.client, print })).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/customScripts\.login\s+Auth0's unedited template -> auth0-migrate login/);
    expect(text).toMatch(
      /customScripts\.get_user\s+auth0-migrate get_user v0\.9\.0 sha256 [0-9a-f]+ -> auth0-migrate get_user v1\.0\.0/,
    );
  });

  it('does nothing when the connection is already set up this way', async () => {
    const fake = fakeClient(dbConnection(existingOptions));
    await lazyDeployCommand(config, {}, { client: fake.client, print });
    lines = [];
    expect(await lazyDeployCommand(config, {}, { client: fake.client, print })).toBe(0);
    expect(fake.updates).toHaveLength(1);
    expect(lines).toEqual([
      'lazy deploy: connection "users" (con_0123456789abcdef) on the new tenant',
      '  nothing to change: the connection is already set up this way',
      'organization logins through connection "users": none of the new tenant\'s 0 organizations enables it; nothing to do',
    ]);
  });

  it('refuses a connection that is not a database connection', () => {
    expect(() =>
      planConnection(
        { id: 'con_x', name: 'google', strategy: 'google-oauth2', options: { scope: ['email'] } },
        { scripts, configuration: {} },
      ),
    ).toThrow(/google-oauth2 connection; lazy migration needs a database connection/);
  });

  it('refuses to write when it could not read the options (PATCH would wipe them)', async () => {
    const fake = fakeClient({ id: 'con_0123456789abcdef', name: 'users', strategy: 'auth0' });
    await expect(lazyDeployCommand(config, {}, { client: fake.client, print })).rejects.toThrow(
      /no options for connection "users".*nothing was changed/,
    );
    expect(fake.updates).toEqual([]);
  });

  it('fails loudly when the tenant does not keep what was sent', async () => {
    const fake = fakeClient(dbConnection(existingOptions));
    const update = fake.client.updateConnection.bind(fake.client);
    fake.client.updateConnection = async (id, patch) => {
      const options = patch.options as Record<string, unknown>;
      return update(id, { options: { ...options, import_mode: false } });
    };
    await expect(lazyDeployCommand(config, {}, { client: fake.client, print })).rejects.toThrow(
      /reading it back shows import_mode not as sent/,
    );
  });

  it('needs both tenants configured', async () => {
    const fake = fakeClient(dbConnection(existingOptions));
    const onlyNew = withTenants(loadConfig({ env: {}, dotenvPath: false }), { new: NEW });
    await expect(lazyDeployCommand(onlyNew, {}, { client: fake.client, print })).rejects.toThrow(
      /old tenant is not configured/,
    );
  });
});

describe('lazy finish', () => {
  it('turns the scripts into stubs, removes the old credentials and leaves import mode on', async () => {
    const fake = fakeClient(dbConnection(existingOptions));
    await lazyDeployCommand(config, {}, { client: fake.client, print });
    lines = [];
    expect(await lazyFinishCommand(config, {}, { client: fake.client, print })).toBe(0);
    const finished = buildFinishedScripts();
    const options = fake.current().options!;
    expect(options.customScripts).toEqual({
      create: existingOptions.customScripts.create,
      login: finished.login,
      get_user: finished.get_user,
    });
    expect(options.configuration).toEqual({ SOMETHING_ELSE: 'kept' });
    expect(options.import_mode).toBe(true);
    expect(options.enabledDatabaseCustomization).toBe(true);
    const text = lines.join('\n');
    expect(text).toMatch(
      /customScripts\.login\s+auth0-migrate login v1\.0\.0 sha256 \w+ -> auth0-migrate login v1\.0\.0 sha256 \w+ \(finished stub\)/,
    );
    expect(text).toMatch(/configuration\.OLD_AUTH0_CLIENT_SECRET\s+\[redacted\] -> \(removed\)/);
    expect(text).not.toContain('old-secret-DO-NOT-PRINT');
  });

  it('refuses to replace foreign scripts unless forced, and needs no old tenant', async () => {
    const fake = fakeClient(dbConnection({ ...existingOptions, customScripts: { login: FOREIGN_LOGIN } }));
    const onlyNew = withTenants(loadConfig({ env: {}, dotenvPath: false }), { new: NEW });
    await expect(lazyFinishCommand(onlyNew, {}, { client: fake.client, print })).rejects.toThrow(
      /did not write/,
    );
    expect(fake.updates).toEqual([]);
    expect(await lazyFinishCommand(onlyNew, { force: true }, { client: fake.client, print })).toBe(0);
    expect(fake.updates).toHaveLength(1);
  });
});
