/**
 * The built scripts against the simulator: run in the sandbox against its old tenant (with its
 * faults), and deployed on its new tenant, where logins of users it does not hold go through them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, toTenantConfig, withTenants, type Config } from '../../src/config.js';
import { SCRIPT_SIZE_LIMIT, buildScripts, identifyScript, type BuiltScripts } from '../../src/lazy/build.js';
import { lazyDeployCommand, lazyFinishCommand } from '../../src/commands/lazy.js';
import { scriptConfiguration } from '../../src/lazy/deploy.js';
import {
  createScriptRuntime,
  runGetUserScript,
  runLoginScript,
  type ScriptOutcome,
  type ScriptRuntime,
} from '../../src/sim/auth/custom-db.js';
import { DB_CONNECTION, generatedPassword, startSimulator, type Simulator } from '../../src/sim/index.js';

interface OldUser {
  id: string;
  email: string;
  username?: string;
  password: string;
}

let sim: Simulator;
let scripts: BuiltScripts;
let users: OldUser[];
let blocked: OldUser;
let withUsername: OldUser;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 120, timing: 'fast' });
  scripts = buildScripts();
  const old = sim.tenant('old');
  const all = [...old.users.iterate(DB_CONNECTION)].filter(
    (u) => u.email !== undefined && u.blocked !== true,
  );
  users = all.map((u) => ({
    id: u.user_id,
    email: u.email!,
    username: u.username,
    password: generatedPassword(u.generatedIndex!),
  }));
  blocked = users.pop()!;
  old.users.update(blocked.id, (u) => {
    u.blocked = true;
  });
  withUsername = users.find((u) => u.username !== undefined)!;
  expect(users.length).toBeGreaterThan(20);
  expect(withUsername).toBeDefined();
});

afterAll(async () => {
  await sim?.close();
});

describe('scripts against the old tenant of the simulator', () => {
  let runtime: ScriptRuntime;
  const failures: ScriptOutcome[] = [];

  const login = async (username: string, password: string, extra: Record<string, string> = {}) => {
    const outcome = await runLoginScript({
      script: scripts.login,
      configuration: { ...scriptConfiguration(toTenantConfig(sim.tenants.old)), ...extra },
      username,
      password,
      runtime,
    });
    if (!outcome.ok) failures.push(outcome);
    return outcome;
  };
  const expectTryAgain = (outcome: ScriptOutcome): void => {
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.name).toBe('Error');
    expect(outcome.error.message).toMatch(/try again/);
    expect(outcome.error.message).not.toMatch(/wrong|password/i);
  };

  beforeAll(() => {
    runtime = createScriptRuntime();
  });

  afterEach(async () => {
    sim.faults.clear();
    await new Promise((r) => setImmediate(r));
    expect(runtime.problems).toEqual([]);
  });

  it('are small enough for Auth0', () => {
    expect(Buffer.byteLength(scripts.login)).toBeLessThan(SCRIPT_SIZE_LIMIT);
    expect(Buffer.byteLength(scripts.get_user)).toBeLessThan(SCRIPT_SIZE_LIMIT);
  });

  it('migrate a user with the id the bulk import gives and the old profile', async () => {
    const user = users[0]!;
    const stored = sim.tenant('old').users.get(user.id)!;
    const outcome = await login(user.email, user.password);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(`auth0|${String(outcome.profile?.user_id)}`).toBe(user.id);
    expect(outcome.profile).toMatchObject({
      email: stored.email,
      email_verified: stored.email_verified === true,
      name: stored.name,
      nickname: stored.nickname,
      picture: stored.picture,
    });
    if (stored.user_metadata !== undefined)
      expect(outcome.profile?.user_metadata).toEqual(stored.user_metadata);
    if (stored.app_metadata !== undefined) expect(outcome.profile?.app_metadata).toEqual(stored.app_metadata);
    for (const k of ['identities', 'logins_count', 'last_ip', 'created_at', 'blocked']) {
      expect(outcome.profile).not.toHaveProperty(k);
    }
  });

  it('log in by username through the id the old tenant vouches for', async () => {
    const outcome = await login(withUsername.username!, withUsername.password);
    expect(outcome.ok && `auth0|${String(outcome.profile?.user_id)}`).toBe(withUsername.id);
  });

  it('send the end user IP, which the old tenant records for the login', async () => {
    const user = users[1]!;
    const outcome = await runLoginScript({
      script: scripts.login,
      configuration: scriptConfiguration(toTenantConfig(sim.tenants.old)),
      username: user.email,
      password: user.password,
      context: { request: { ip: '203.0.113.77' } },
      runtime,
    });
    expect(outcome.ok).toBe(true);
    expect(sim.tenant('old').users.get(user.id)?.last_ip).toBe('203.0.113.77');
  });

  it('refuse a wrong password and an unknown user as WrongUsernameOrPasswordError', async () => {
    const wrong = await login(users[2]!.email, 'not the password');
    expect(!wrong.ok && wrong.error.name).toBe('WrongUsernameOrPasswordError');
    const unknown = await login('nobody.at.all@example.com', 'whatever it is');
    expect(!unknown.ok && unknown.error.name).toBe('WrongUsernameOrPasswordError');
  });

  it('do not migrate a blocked user', async () => {
    const outcome = await login(blocked.email, blocked.password);
    expect(!outcome.ok && outcome.error).toMatchObject({
      name: 'UnauthorizedError',
      message: expect.stringMatching(/blocked/),
    });
  });

  it('say try again when the old tenant is rate-limited, failing or unreachable', async () => {
    sim.faults.add({ kind: 'rate-limit', tenant: 'old', path: '/oauth/token' });
    expectTryAgain(await login(users[3]!.email, users[3]!.password));
    sim.faults.add({ kind: 'error', status: 503, tenant: 'old', path: '/api/v2/users-by-email' });
    expectTryAgain(await login(users[3]!.email, users[3]!.password));
    sim.faults.add({ kind: 'rate-limit', tenant: 'old', path: '/api/v2/users-by-email' });
    expectTryAgain(await login(users[3]!.email, users[3]!.password));
    sim.faults.add({ kind: 'drop', tenant: 'old', path: '/oauth/token' });
    expectTryAgain(await login(users[3]!.email, users[3]!.password));
    expect((await login(users[3]!.email, users[3]!.password)).ok).toBe(true);
  });

  it('give up on a slow old tenant within their own limit and say try again', async () => {
    sim.faults.add({ kind: 'delay', delayMs: 1500, tenant: 'old', path: '/oauth/token' });
    const started = Date.now();
    expectTryAgain(await login(users[4]!.email, users[4]!.password, { OLD_AUTH0_TIMEOUT_MS: '150' }));
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reuse the management token, renew it when expired and when the old tenant refuses it', async () => {
    const stats = sim.tenant('old').stats;
    const slots = () =>
      Object.values(
        runtime.global.auth0MigrateManagementTokens as Record<string, { token: string; expiresAt: number }>,
      );
    expect((await login(users[5]!.email, users[5]!.password)).ok).toBe(true);
    let before = stats.tokenRequests;
    expect((await login(users[5]!.email, users[5]!.password)).ok).toBe(true);
    expect(stats.tokenRequests - before).toBe(1); // the password check only

    slots()[0]!.expiresAt = Date.now() - 1;
    before = stats.tokenRequests;
    expect((await login(users[5]!.email, users[5]!.password)).ok).toBe(true);
    expect(stats.tokenRequests - before).toBe(2); // password check + a new management token

    slots()[0]!.token = 'a-token-the-old-tenant-does-not-accept';
    before = stats.tokenRequests;
    const outcome = await login(users[5]!.email, users[5]!.password);
    expect(outcome.ok && `auth0|${String(outcome.profile?.user_id)}`).toBe(users[5]!.id);
    expect(stats.tokenRequests - before).toBe(2);
    expect(slots()[0]!.token).not.toBe('a-token-the-old-tenant-does-not-accept');
  });

  it('get_user finds a user of the old connection, misses others, fails loudly when the tenant fails', async () => {
    const configuration = scriptConfiguration(toTenantConfig(sim.tenants.old));
    const run = (email: string) =>
      runGetUserScript({ script: scripts.get_user, configuration, email, runtime });
    const found = await run(users[6]!.email.toUpperCase());
    expect(found.ok && `auth0|${String(found.profile?.user_id)}`).toBe(users[6]!.id);
    expect(await run('nobody.at.all@example.com')).toEqual({ ok: true, profile: null });
    const social = [...sim.tenant('old').users.iterate('google-oauth2')][0];
    if (social?.email !== undefined) expect(await run(social.email)).toEqual({ ok: true, profile: null });
    sim.faults.add({ kind: 'error', status: 500, tenant: 'old', path: '/api/v2/users-by-email' });
    expectTryAgain(await run(users[6]!.email));
  });

  it('never put the client secret or a password in an error', () => {
    expect(failures.length).toBeGreaterThan(5);
    const text = JSON.stringify(failures);
    expect(text).not.toContain(sim.tenants.old.clientSecret);
    for (const u of users.slice(0, 8)) expect(text).not.toContain(u.password);
  });
});

describe('lazy deploy on the new tenant of the simulator', () => {
  let config: Config;
  let lines: string[];
  const print = (line: string): void => {
    lines.push(line);
  };
  const newConnection = () => sim.tenant('new').connectionByName(DB_CONNECTION)!;

  /** A password-realm login at the NEW tenant, as an application would make it. */
  const loginAtNew = async (username: string, password: string) => {
    const info = sim.tenants.new;
    const res = await fetch(`${info.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'auth0-forwarded-for': '198.51.100.23' },
      body: JSON.stringify({
        grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
        realm: info.connection,
        client_id: info.clientId,
        client_secret: info.clientSecret,
        username,
        password,
        scope: 'openid',
      }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(() => {
    config = withTenants(loadConfig({ env: {}, dotenvPath: false }), {
      old: toTenantConfig(sim.tenants.old),
      new: toTenantConfig(sim.tenants.new),
    });
  });

  afterEach(() => {
    lines = [];
  });

  it('refuses to overwrite a login script it did not write, and changes nothing on a dry run', async () => {
    lines = [];
    const before = structuredClone(newConnection().options);
    newConnection().options.customScripts = { login: 'function login(e, p, cb) { cb(null, null); }' };
    await expect(lazyDeployCommand(config, {}, { print })).rejects.toThrow(
      /did not write: customScripts\.login/,
    );
    newConnection().options = before;

    lines = [];
    expect(await lazyDeployCommand(config, { dryRun: true }, { print })).toBe(0);
    expect(lines.join('\n')).toMatch(/customScripts\.login\s+\(none\) -> auth0-migrate login/);
    expect(lines.join('\n')).not.toContain(sim.tenants.old.clientSecret);
    expect(newConnection().options).toEqual(before);
  });

  it('installs the scripts and their configuration through the Management API, keeping the other options', async () => {
    const before = structuredClone(newConnection().options);
    lines = [];
    expect(await lazyDeployCommand(config, {}, { print })).toBe(0);
    const options = newConnection().options;
    expect(identifyScript((options.customScripts as Record<string, string>).login)).toMatchObject({
      kind: 'ours',
    });
    expect((options.customScripts as Record<string, string>).get_user).toBe(scripts.get_user);
    expect(options.configuration).toEqual(scriptConfiguration(toTenantConfig(sim.tenants.old)));
    expect(options).toMatchObject({ import_mode: true, enabledDatabaseCustomization: true });
    for (const [k, v] of Object.entries(before)) {
      if (!['customScripts', 'configuration'].includes(k)) expect(options[k]).toEqual(v);
    }
    expect(lines.join('\n')).not.toContain(sim.tenants.old.clientSecret);
  });

  it('migrates users as they log in to the new tenant, with the same ids, and lets them in again from the store', async () => {
    const picked = users.slice(10, 13);
    const newTenant = sim.tenant('new');
    const lazyBefore = newTenant.stats.customDbLogins;
    for (const u of picked) {
      expect(newTenant.users.get(u.id)).toBeUndefined();
      const first = await loginAtNew(u.email, u.password);
      expect(first.status).toBe(200);
      const stored = newTenant.users.get(u.id);
      expect(stored?.email).toBe(u.email);
      expect(stored?.user_id).toBe(u.id);
      expect(stored?.passwordHash).toBeDefined();
    }
    expect(newTenant.stats.customDbLogins - lazyBefore).toBe(3);

    for (const u of picked) expect((await loginAtNew(u.email, u.password)).status).toBe(200);
    expect(newTenant.stats.customDbLogins - lazyBefore).toBe(3);
    expect((await loginAtNew(picked[0]!.email, 'not the password')).status).toBe(403);
    // Exactly those three arrived; nobody else, nobody twice.
    expect([...newTenant.users.iterate(DB_CONNECTION)].map((u) => u.user_id).sort()).toEqual(
      picked.map((u) => u.id).sort(),
    );
  });

  it("passes the end user's IP on to the old tenant when the connection gives scripts their context", async () => {
    const user = users[17]!;
    newConnection().options.enable_script_context = true;
    try {
      expect((await loginAtNew(user.email, user.password)).status).toBe(200);
    } finally {
      delete newConnection().options.enable_script_context;
    }
    expect(sim.tenant('old').users.get(user.id)?.last_ip).toBe('198.51.100.23');
    expect(sim.tenant('new').users.get(user.id)?.user_id).toBe(user.id);
  });

  it('leaves out wrong passwords, unknown users and blocked users, with the answers Auth0 gives', async () => {
    const newTenant = sim.tenant('new');
    const count = newTenant.users.count(DB_CONNECTION);
    const wrong = await loginAtNew(users[14]!.email, 'not the password');
    expect(wrong).toMatchObject({ status: 403, body: { error: 'invalid_grant' } });
    expect((await loginAtNew('nobody.at.all@example.com', 'whatever')).status).toBe(403);
    const blockedAnswer = await loginAtNew(blocked.email, blocked.password);
    expect(blockedAnswer).toMatchObject({
      status: 401,
      body: { error_description: expect.stringMatching(/blocked/) },
    });
    sim.faults.add({ kind: 'error', status: 503, tenant: 'old', path: '/oauth/token' });
    const down = await loginAtNew(users[15]!.email, users[15]!.password);
    // The new tenant refuses the login with the script's own error: not a wrong password.
    expect(down).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(String(down.body.error_description)).toMatch(/try again/);
    sim.faults.clear();
    expect(newTenant.users.count(DB_CONNECTION)).toBe(count);
  });

  it('lazy finish turns the scripts into stubs and keeps import mode: migrated users still log in, others no longer migrate', async () => {
    lines = [];
    expect(await lazyFinishCommand(config, {}, { print })).toBe(0);
    const options = newConnection().options;
    expect(options.import_mode).toBe(true);
    expect(identifyScript((options.customScripts as Record<string, string>).login)).toMatchObject({
      kind: 'ours',
      finished: true,
    });
    expect(options.configuration).toEqual({});
    expect((await loginAtNew(users[10]!.email, users[10]!.password)).status).toBe(200);
    expect((await loginAtNew(users[16]!.email, users[16]!.password)).status).toBe(403);
    expect(sim.tenant('new').users.get(users[16]!.id)).toBeUndefined();
  });

  it('explains why a connection that already holds users cannot be switched to custom database scripts', async () => {
    const connection = newConnection();
    connection.options = { ...connection.options, enabledDatabaseCustomization: false };
    expect(sim.tenant('new').users.count(DB_CONNECTION)).toBeGreaterThan(0);
    await expect(lazyDeployCommand(config, {}, { print })).rejects.toMatchObject({
      name: 'MigrateError',
      message: expect.stringMatching(/already holds users; nothing was changed/),
      hint: expect.stringMatching(/empty database connection/),
    });
    expect(newConnection().options.enabledDatabaseCustomization).toBe(false);
  });
});
