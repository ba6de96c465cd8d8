/**
 * Linked accounts: POST/DELETE /users/{id}/identities answered as real tenants answer, the
 * secondary gone as a user and back on unlink, exports listing a linked user once with all its
 * identities, logins with a linked database identity, and `/__sim/idp-login` (a social user's
 * logins to a tenant). Every Management API answer goes through the OAS check in helpers.ts.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_CONNECTION,
  SOCIAL_CONNECTION,
  generatedPassword,
  startSimulator,
  type Simulator,
} from '../../src/sim/index.js';
import { Mgmt, managementToken, tokenRequest, type Loose } from './helpers.js';

let sim: Simulator;
let newApi: Mgmt;
let oldApi: Mgmt;
const enc = encodeURIComponent;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 400, seedLinked: 0.5 });
  newApi = await Mgmt.connect(sim, 'new');
  oldApi = await Mgmt.connect(sim, 'old');
});

afterAll(async () => {
  await sim.close();
});

async function idpLogin(body: Record<string, unknown>): Promise<{ status: number; body: Loose }> {
  const res = await fetch(`${sim.url}/__sim/idp-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function exportLines(api: Mgmt, connectionId?: string): Promise<Loose[]> {
  const created = await api.call('POST', '/jobs/users-exports', {
    json: {
      format: 'json',
      ...(connectionId !== undefined ? { connection_id: connectionId } : {}),
      fields: [{ name: 'user_id' }, { name: 'email' }, { name: 'identities' }],
    },
  });
  const done = await api.waitForJob(created.body.id);
  const file = gunzipSync(Buffer.from(await (await fetch(done.location)).arrayBuffer())).toString();
  return file
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Loose);
}

/** Old-tenant users (generated) with a linked identity. */
function linkedOld(primaryConnection: string): Loose[] {
  return [...sim.tenant('old').listUsers()].filter((u: Loose) => {
    return u.identities.length > 1 && u.identities[0].connection === primaryConnection;
  });
}

describe('linking', () => {
  it("answers 201 with the primary's identities, each with its profile; the secondary stops being a user", async () => {
    await newApi.importUsers([
      { email: 'primary@example.com', user_id: 'p1', name: 'Primary', user_metadata: { keep: 1 } },
      { email: 'second@example.com', user_id: 's1', given_name: 'Sec', user_metadata: { lost: 1 } },
    ]);
    const linked = await newApi.call('POST', '/users/auth0%7Cp1/identities', {
      json: { provider: 'auth0', user_id: 'auth0|s1', connection_id: sim.tenants.new.connectionId },
    });
    expect(linked.status).toBe(201);
    expect(linked.body).toEqual([
      expect.objectContaining({ provider: 'auth0', user_id: 'p1', connection: DB_CONNECTION }),
      {
        profileData: expect.objectContaining({ email: 'second@example.com', given_name: 'Sec' }),
        connection: DB_CONNECTION,
        user_id: 's1',
        provider: 'auth0',
        isSocial: false,
      },
    ]);
    expect(linked.body[0].profileData.email).toBe('primary@example.com');

    expect((await newApi.call('GET', '/users/auth0%7Cs1')).status).toBe(404);
    const primary = (await newApi.call('GET', '/users/auth0%7Cp1')).body;
    expect(primary.identities).toHaveLength(2);
    expect(primary.identities[0].profileData).toBeUndefined();
    expect(primary.identities[1].profileData.email).toBe('second@example.com');
    expect(primary.user_metadata).toEqual({ keep: 1 });
    expect((await newApi.call('GET', '/users-by-email?email=second@example.com')).body).toEqual([]);
    const listed = (await newApi.call('GET', '/users?per_page=100')).body.map((u: Loose) => u.user_id);
    expect(listed).toContain('auth0|p1');
    expect(listed).not.toContain('auth0|s1');

    // The secondary's email and id stay taken in its connection.
    const again = await newApi.importUsers([
      { email: 'second@example.com' },
      { email: 'fresh@example.com', user_id: 's1' },
    ]);
    expect(again.summary).toMatchObject({ inserted: 0, failed: 2 });

    const lines = await exportLines(newApi, sim.tenants.new.connectionId);
    const mine = lines.filter((l) => l.user_id === 'auth0|p1' || l.user_id === 'auth0|s1');
    expect(mine).toHaveLength(1);
    expect(mine[0].identities.map((i: Loose) => i.user_id)).toEqual(['p1', 's1']);
  });

  it('refuses what Auth0 refuses: itself, twice, another primary’s identity, unknown users, link_with tokens', async () => {
    await newApi.importUsers([
      { email: 'a@example.com', user_id: 'a' },
      { email: 'b@example.com', user_id: 'b' },
      { email: 'c@example.com', user_id: 'c' },
    ]);
    const link = (primary: string, json: unknown) =>
      newApi.call('POST', `/users/${enc(primary)}/identities`, { json });
    expect((await link('auth0|a', { provider: 'auth0', user_id: 'b' })).status).toBe(201);

    const cases: Array<[string, unknown, number, string]> = [
      ['auth0|a', { provider: 'auth0', user_id: 'a' }, 400, 'Main identity and the new one are the same.'],
      ['auth0|a', { provider: 'auth0', user_id: 'auth0|b' }, 409, 'Specified identity already exists.'],
      ['auth0|c', { provider: 'auth0', user_id: 'b' }, 400, 'Unable to link with the secondary account.'],
      ['auth0|c', { provider: 'auth0', user_id: 'nobody' }, 400, 'Provided secondary account not found.'],
      [
        'auth0|nobody',
        { provider: 'auth0', user_id: 'c' },
        400,
        'Unable to link with the secondary account.',
      ],
      [
        'auth0|c',
        { provider: 'auth0', user_id: 'a', connection_id: 'con_0000000000000000' },
        400,
        'The provider/connection is not configured.',
      ],
    ];
    for (const [primary, body, status, message] of cases) {
      const a = await link(primary, body);
      expect([a.status, a.body.message]).toEqual([status, message]);
    }
    const badProvider = await link('auth0|c', { provider: 'myspace', user_id: 'a' });
    expect(badProvider.body).toMatchObject({ statusCode: 400, errorCode: 'invalid_body' });

    const hs256Token = (
      await tokenRequest(sim.tenants.new, {
        grant_type: 'client_credentials',
        client_id: sim.tenants.new.clientId,
        client_secret: sim.tenants.new.clientSecret,
        audience: `https://${sim.tenants.new.domain}/api/v2/`,
      })
    ).body.access_token as string;
    expect((await link('auth0|c', { link_with: hs256Token })).body.message).toBe(
      'JWT (link_with) must have an alg of RS256.',
    );
    expect((await link('auth0|c', { link_with: 'not-a-token' })).body.message).toBe(
      'Invalid token (link_with).',
    );
    expect((await link('auth0|c', { link_with: hs256Token, provider: 'auth0' })).status).toBe(400);

    const token = await managementToken(sim.tenants.new, 'read:users');
    const denied = await newApi.call('POST', '/users/auth0%7Cc/identities', {
      token,
      json: { provider: 'auth0', user_id: 'a' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe(
      'Insufficient scope, expected: update:users, update:current_user_identities',
    );
  });
});

describe('unlinking', () => {
  it('answers 200 with the identities that remain and makes the secondary a standalone user again', async () => {
    await newApi.importUsers([
      { email: 'keep@example.com', user_id: 'keep' },
      { email: 'go@example.com', user_id: 'go', name: 'Goer', app_metadata: { dropped: true } },
    ]);
    await newApi.call('POST', '/users/auth0%7Ckeep/identities', {
      json: { provider: 'auth0', user_id: 'go' },
    });

    const left = await newApi.call('DELETE', '/users/auth0%7Ckeep/identities/auth0/go');
    expect(left.status).toBe(200);
    expect(left.body.map((i: Loose) => i.user_id)).toEqual(['keep']);
    const back = (await newApi.call('GET', '/users/auth0%7Cgo')).body;
    expect(back).toMatchObject({ user_id: 'auth0|go', email: 'go@example.com', name: 'Goer' });
    expect(back.app_metadata).toBeUndefined();
    expect((await newApi.call('GET', '/users/auth0%7Ckeep')).body.identities).toHaveLength(1);

    const unchanged = await newApi.call('DELETE', '/users/auth0%7Ckeep/identities/auth0/go');
    expect(unchanged.status).toBe(200);
    expect(unchanged.body).toHaveLength(1);
    const main = await newApi.call('DELETE', '/users/auth0%7Ckeep/identities/auth0/keep');
    expect([main.status, main.body.message]).toEqual([400, 'Main identity cannot be removed.']);
    expect((await newApi.call('DELETE', '/users/auth0%7Ckeep/identities/myspace/1')).status).toBe(400);
  });
});

describe('the old tenant’s linked users', () => {
  it('are exported once with every identity, in each connection they have an identity in', async () => {
    const dbPrimaries = linkedOld(DB_CONNECTION);
    const socialPrimaries = linkedOld(SOCIAL_CONNECTION);
    expect(dbPrimaries.length).toBeGreaterThan(5);
    expect(socialPrimaries.length).toBeGreaterThan(0);
    const lines = await exportLines(oldApi, sim.tenants.old.connectionId);
    expect(lines).toHaveLength(sim.tenant('old').userCount(DB_CONNECTION));
    expect(new Set(lines.map((l) => l.user_id)).size).toBe(lines.length);
    const byId = new Map(lines.map((l) => [l.user_id, l]));
    for (const u of [...dbPrimaries, ...socialPrimaries]) {
      expect(byId.get(u.user_id)?.identities).toEqual(u.identities);
    }
    expect(socialPrimaries[0].identities[1]).toMatchObject({ connection: DB_CONNECTION, provider: 'auth0' });
    expect(dbPrimaries[0].identities[1]).toMatchObject({ connection: SOCIAL_CONNECTION, isSocial: true });
  });

  it('log in with their linked database identity and get the primary', async () => {
    const u = linkedOld(SOCIAL_CONNECTION)[0];
    const secondary = u.identities[1];
    const t = sim.tenants.old;
    const index = sim.tenant('old').rawUser(u.user_id)!.generatedIndex!;
    const login = await tokenRequest(t, {
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
      realm: DB_CONNECTION,
      client_id: t.clientId,
      client_secret: t.clientSecret,
      username: secondary.profileData.email,
      password: generatedPassword(index),
      scope: 'openid',
    });
    expect(login.status).toBe(200);
    const claims = JSON.parse(
      Buffer.from(String(login.body.id_token).split('.')[1]!, 'base64url').toString(),
    );
    expect(claims.sub).toBe(u.user_id);
    const wrong = await tokenRequest(t, {
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
      realm: DB_CONNECTION,
      client_id: t.clientId,
      client_secret: t.clientSecret,
      username: secondary.profileData.email,
      password: 'not it',
    });
    expect(wrong.status).toBe(403);
  });
});

describe('/__sim/idp-login', () => {
  it('creates a social user on the first login with the id and profile the old tenant knows, then relinks', async () => {
    const u = linkedOld(DB_CONNECTION)[1];
    const google = u.identities[1];
    const googleId = `${google.provider}|${google.user_id}`;
    await newApi.importUsers([{ email: u.email, user_id: u.user_id.slice('auth0|'.length) }]);

    const first = await idpLogin({ tenant: 'new', user_id: googleId });
    expect(first.status).toBe(201);
    expect(first.body.user).toMatchObject({
      user_id: googleId,
      email: google.profileData.email,
      logins_count: 1,
      identities: [
        { connection: SOCIAL_CONNECTION, provider: 'google-oauth2', user_id: google.user_id, isSocial: true },
      ],
    });
    const seen = await newApi.call('GET', `/users/${enc(googleId)}`);
    expect(seen.body.email).toBe(google.profileData.email);
    const second = await idpLogin({ tenant: 'new', user_id: googleId });
    expect([second.status, second.body.user.logins_count]).toEqual([200, 2]);

    const relinked = await newApi.call('POST', `/users/${enc(u.user_id)}/identities`, {
      json: { provider: google.provider, user_id: google.user_id },
    });
    expect(relinked.status).toBe(201);
    const afterLink = await idpLogin({ tenant: 'new', user_id: googleId });
    expect([afterLink.status, afterLink.body.user.user_id]).toEqual([200, u.user_id]);
  });

  it('takes a profile for an id no tenant knows, and refuses what it cannot do', async () => {
    const made = await idpLogin({
      tenant: 'new',
      user_id: 'google-oauth2|777',
      profile: { email: 'New.Person@gmail.com', name: 'New Person' },
    });
    expect(made.status).toBe(201);
    expect(made.body.user).toMatchObject({ email: 'new.person@gmail.com', name: 'New Person' });
    expect((await idpLogin({ tenant: 'new', user_id: 'google-oauth2|778' })).status).toBe(400);
    expect((await idpLogin({ tenant: 'new', user_id: 'samlp|1', profile: {} })).body.error).toContain(
      'no social or enterprise connection',
    );
    expect((await idpLogin({ tenant: 'new', user_id: 'auth0|1', profile: {} })).status).toBe(400);
    expect((await idpLogin({ tenant: 'nowhere', user_id: 'google-oauth2|1' })).status).toBe(400);
  });
});
