/**
 * Logins in an organization's context (`organization` on the password grants): members get tokens
 * with `org_id`, non-members are refused as Auth0 refuses them, a connection granting membership on
 * login admits and enrols, and a user arriving through a custom database's login script is stored
 * but refused: the lazy-migration problem a rehearsal has to show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_CONNECTION,
  PASSWORD_REALM_GRANT,
  generatedPassword,
  startSimulator,
  type SimTenantInfo,
  type Simulator,
} from '../../src/sim/index.js';
import type { SimUser } from '../../src/sim/tenant/users.js';
import { Mgmt, tokenRequest } from './helpers.js';

let sim: Simulator;
let old: Mgmt;
let people: SimUser[];

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 60 });
  old = await Mgmt.connect(sim, 'old');
  people = [...sim.tenant('old').users.iterate(DB_CONNECTION)].filter(
    (u) => u.email !== undefined && u.blocked !== true,
  );
});

afterAll(async () => {
  await sim.close();
});

const claims = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

function login(t: SimTenantInfo, username: string, password: string, organization?: string) {
  return tokenRequest(t, {
    grant_type: PASSWORD_REALM_GRANT,
    realm: t.connection,
    client_id: t.clientId,
    client_secret: t.clientSecret,
    username,
    password,
    scope: 'openid email',
    ...(organization === undefined ? {} : { organization }),
  });
}

async function organization(m: Mgmt, name: string, assign: boolean): Promise<string> {
  const a = await m.call('POST', '/organizations', {
    json: {
      name,
      enabled_connections: [{ connection_id: m.tenant.connectionId, assign_membership_on_login: assign }],
    },
  });
  expect(a.status).toBe(201);
  return a.body.id;
}

describe('organization logins', () => {
  it('give a member tokens carrying org_id, and refuse a non-member with access_denied', async () => {
    const org = await organization(old, 'login-members', false);
    const [member, outsider] = people as [SimUser, SimUser];
    await old.call('POST', `/organizations/${org}/members`, { json: { members: [member.user_id] } });

    const ok = await login(sim.tenants.old, member.email!, generatedPassword(member.generatedIndex!), org);
    expect(ok.status).toBe(200);
    expect(claims(ok.body.access_token as string).org_id).toBe(org);
    expect(claims(ok.body.id_token as string).org_id).toBe(org);

    const refused = await login(
      sim.tenants.old,
      outsider.email!,
      generatedPassword(outsider.generatedIndex!),
      org,
    );
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      error: 'access_denied',
      error_description: `user ${outsider.user_id} is not part of the ${org} organization`,
    });
    const stats = (await (await fetch(`${sim.url}/__sim/stats`)).json()) as {
      tenants: Record<string, Record<string, unknown>>;
    };
    expect(stats.tenants.old).toMatchObject({
      organizationLoginsRefused: 1,
      organizations: sim.tenant('old').organizations.size,
    });

    // Without the organization the same user logs in; with a wrong password, the password fails first.
    expect(
      (await login(sim.tenants.old, outsider.email!, generatedPassword(outsider.generatedIndex!))).status,
    ).toBe(200);
    const wrong = await login(sim.tenants.old, outsider.email!, 'nope', org);
    expect(wrong.body.error).toBe('invalid_grant');
  });

  it('refuses an organization name, an unknown organization and a connection the organization does not enable', async () => {
    const user = people[2]!;
    const password = generatedPassword(user.generatedIndex!);
    const byName = await login(sim.tenants.old, user.email!, password, 'login-members');
    expect(byName.status).toBe(400);
    expect(byName.body).toEqual({
      error: 'invalid_request',
      error_description: 'authorization request parameter organization must be an organization id',
    });
    expect((await login(sim.tenants.old, user.email!, password, 'org_0000000000000000')).status).toBe(400);
    const bare = await old.call('POST', '/organizations', { json: { name: 'no-connections' } });
    await old.call('POST', `/organizations/${bare.body.id}/members`, { json: { members: [user.user_id] } });
    const closed = await login(sim.tenants.old, user.email!, password, bare.body.id);
    expect(closed.status).toBe(403);
    expect(closed.body.error).toBe('access_denied');
  });

  it('admit anyone through a connection that assigns membership on login, and enrol them', async () => {
    const org = await organization(old, 'login-open', true);
    const user = people[3]!;
    const ok = await login(sim.tenants.old, user.email!, generatedPassword(user.generatedIndex!), org);
    expect(ok.status).toBe(200);
    const members = await old.call('GET', `/organizations/${org}/members`);
    expect(members.body.map((m: { user_id: string }) => m.user_id)).toEqual([user.user_id]);
  });
});

describe('a lazy migration through an organization login', () => {
  it('stores the user the login script returns, refuses the login, and admits them once a member', async () => {
    const api = await Mgmt.connect(sim, 'new');
    const db = sim.tenants.new.connectionId;
    const options = (await api.call('GET', `/connections/${db}`)).body.options;
    const script = `function login(email, password, callback) {
      if (password !== 'Legacy-Passw0rd!') return callback(new WrongUsernameOrPasswordError(email));
      callback(null, { user_id: 'legacy-7', email: email, email_verified: true });
    }`;
    await api.call('PATCH', `/connections/${db}`, {
      json: { options: { ...options, customScripts: { login: script } } },
    });
    const org = await organization(api, 'lazy-org', false);

    const first = await login(sim.tenants.new, 'legacy@example.com', 'Legacy-Passw0rd!', org);
    expect(first.status).toBe(403);
    expect(first.body.error_description).toBe(`user auth0|legacy-7 is not part of the ${org} organization`);
    expect((await api.call('GET', '/users/auth0%7Clegacy-7')).body.email).toBe('legacy@example.com');
    expect(sim.tenant('new').stats.customDbLogins).toBe(1);

    await api.call('POST', `/organizations/${org}/members`, { json: { members: ['auth0|legacy-7'] } });
    const second = await login(sim.tenants.new, 'legacy@example.com', 'Legacy-Passw0rd!', org);
    expect(second.status).toBe(200);
    expect(claims(second.body.access_token as string).org_id).toBe(org);
    expect(sim.tenant('new').stats.customDbLogins).toBe(1);
  });
});
