/**
 * Organization logins during lazy migration, against the simulator: `lazy deploy` lists the new
 * tenant's organizations that enable the lazy connection with their members still missing, and an
 * organization login of a user not yet a member is refused, as Auth0 refuses it, until the
 * membership arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { loadConfig, toTenantConfig, withTenants, type Config } from '../../src/config.js';
import { lazyDeployCommand } from '../../src/commands/lazy.js';
import { checkOrganizationLogins, formatOrganizationLogins } from '../../src/lazy/organizations.js';
import { DB_CONNECTION, generatedPassword, startSimulator, type Simulator } from '../../src/sim/index.js';
import { Mgmt } from '../sim/helpers.js';

let sim: Simulator;
let config: Config;
let oldApi: Mgmt;
let newApi: Mgmt;
/** Old users, the first five members of "acme" in the old tenant. */
let users: Array<{ id: string; email: string; password: string }>;
let acmeNew: string;

async function organization(api: Mgmt, body: Record<string, unknown>): Promise<string> {
  const a = await api.call('POST', '/organizations', { json: body });
  expect(a.status).toBe(201);
  return a.body.id as string;
}

async function login(email: string, password: string, organization?: string) {
  const info = sim.tenants.new;
  const res = await fetch(`${info.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
      realm: info.connection,
      client_id: info.clientId,
      client_secret: info.clientSecret,
      username: email,
      password,
      scope: 'openid',
      ...(organization === undefined ? {} : { organization }),
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 40, timing: 'fast' });
  config = withTenants(loadConfig({ env: {}, dotenvPath: false }), {
    old: toTenantConfig(sim.tenants.old),
    new: toTenantConfig(sim.tenants.new),
  });
  oldApi = await Mgmt.connect(sim, 'old');
  newApi = await Mgmt.connect(sim, 'new');
  users = [...sim.tenant('old').users.iterate(DB_CONNECTION)]
    .filter((u) => u.email !== undefined && u.blocked !== true && u.generatedIndex !== undefined)
    .slice(0, 6)
    .map((u) => ({ id: u.user_id, email: u.email!, password: generatedPassword(u.generatedIndex!) }));

  const acmeOld = await organization(oldApi, { name: 'acme-lazy' });
  const added = await oldApi.call('POST', `/organizations/${acmeOld}/members`, {
    json: { members: users.slice(0, 5).map((u) => u.id) },
  });
  expect(added.status).toBe(204);
  const link = { connection_id: sim.tenants.new.connectionId, assign_membership_on_login: false };
  acmeNew = await organization(newApi, { name: 'acme-lazy', enabled_connections: [link] });
  await organization(newApi, {
    name: 'open-lazy',
    enabled_connections: [{ ...link, assign_membership_on_login: true }],
  });
  await organization(newApi, { name: 'unrelated-lazy' });
  await organization(newApi, { name: 'only-new-lazy', enabled_connections: [link] });
});

afterAll(async () => {
  await sim?.close();
});

describe('organization logins and lazy migration', () => {
  it('lazy deploy --dry-run lists the organizations enabling the connection and the members missing', async () => {
    const lines: string[] = [];
    const before = structuredClone(sim.tenant('new').connectionByName(DB_CONNECTION)!.options);
    expect(await lazyDeployCommand(config, { dryRun: true }, { print: (l) => lines.push(l) })).toBe(0);
    const text = lines.join('\n');
    expect(text).toContain('dry run: nothing was changed');
    const seededOrgs = sim.tenant('new').organizations.size;
    expect(text).toContain(`organization logins through connection "${DB_CONNECTION}": `);
    expect(text).toMatch(new RegExp(`acme-lazy \\(${acmeNew}\\): 5 of 5 old members are not members yet`));
    expect(text).toMatch(/open-lazy \(org_\w+\): assigns membership on login: nobody is refused/);
    expect(text).toMatch(/only-new-lazy \(org_\w+\): no organization of that name in the old tenant/);
    expect(text).not.toContain('unrelated-lazy');
    expect(text).toContain('auth0-migrate sweep --members-of acme-lazy');
    expect(text).toContain(`of the new tenant's ${seededOrgs} organizations enable it`);
    expect(text).not.toContain(sim.tenants.old.clientSecret);
    expect(sim.tenant('new').connectionByName(DB_CONNECTION)!.options).toEqual(before);
  });

  it('refuses the organization login of a user who is not yet a member, then admits them once they are', async () => {
    expect(await lazyDeployCommand(config, {}, { print: () => undefined })).toBe(0);
    const u = users[0]!;
    const refused = await login(u.email, u.password, acmeNew);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'access_denied' });
    expect(String(refused.body.error_description)).toContain(`is not part of the ${acmeNew} organization`);
    // The login script ran and Auth0 stored the user before refusing the organization.
    expect(sim.tenant('new').users.get(u.id)?.user_id).toBe(u.id);

    const plain = await login(u.email, u.password);
    expect(plain.status).toBe(200);

    const client = createTenantClient(config.tenants.new!, { label: 'new' });
    await client.addOrganizationMembers(acmeNew, [u.id]);
    const admitted = await login(u.email, u.password, acmeNew);
    expect(admitted.status).toBe(200);

    const check = await checkOrganizationLogins(
      { old: createTenantClient(config.tenants.old!, { label: 'old' }), new: client },
      { id: sim.tenants.new.connectionId, name: DB_CONNECTION },
    );
    expect(check.organizations.find((o) => o.name === 'acme-lazy')).toMatchObject({
      oldMembers: 5,
      notYetMembers: 4,
    });
    expect(formatOrganizationLogins(check).join('\n')).toContain('4 of 5 old members are not members yet');
  });

  it('says what scopes it needs when the organizations cannot be read', () => {
    const lines = formatOrganizationLogins({
      connectionName: 'users',
      organizationsRead: 0,
      organizations: [],
      error: 'The new tenant refused GET /organizations: missing scope read:organizations.',
    });
    expect(lines[0]).toContain('not checked');
    expect(lines[1]).toContain('read:organizations');
  });
});
