/**
 * /oauth/token of the simulated tenants: grants, Auth0's error bodies, brute-force protection with
 * `auth0-forwarded-for`, and logins through a custom database's login script in import mode.
 * Every answer is checked against the /oauth/token excerpt of the Authentication API OAS.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_CONNECTION,
  PASSWORD_REALM_GRANT,
  generatedPassword,
  startSimulator,
  type SimTenantInfo,
  type Simulator,
} from '../../src/sim/index.js';
import { Mgmt, tokenRequest } from './helpers.js';

let sim: Simulator;
let old: SimTenantInfo;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 60 });
  old = sim.tenants.old;
});

afterAll(async () => {
  await sim.close();
});

const claims = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

function generatedDbUsers() {
  return [...sim.tenant('old').users.iterate(DB_CONNECTION)].filter(
    (u) => u.email !== undefined && u.blocked !== true,
  );
}

function realmLogin(
  t: SimTenantInfo,
  username: string,
  password: string,
  headers: Record<string, string> = {},
  client?: { clientId: string; clientSecret: string },
) {
  return tokenRequest(
    t,
    {
      grant_type: PASSWORD_REALM_GRANT,
      realm: t.connection,
      client_id: client?.clientId ?? t.clientId,
      client_secret: client?.clientSecret ?? t.clientSecret,
      username,
      password,
      scope: 'openid profile email',
    },
    { headers },
  );
}

describe('client_credentials', () => {
  const body = () => ({
    grant_type: 'client_credentials',
    client_id: old.clientId,
    client_secret: old.clientSecret,
    audience: `https://${old.domain}/api/v2/`,
  });

  it('issues a Management API token from a form or a JSON body', async () => {
    for (const json of [false, true]) {
      const a = await tokenRequest(old, body(), { json });
      expect(a.status).toBe(200);
      expect(a.body).toMatchObject({ token_type: 'Bearer', expires_in: 86400 });
      expect(String(a.body.scope).split(' ')).toEqual(
        expect.arrayContaining([
          'read:users',
          'create:users',
          'read:connections',
          'update:connections',
          'create:user_tickets',
        ]),
      );
      expect(claims(String(a.body.access_token))).toMatchObject({
        aud: `https://${old.domain}/api/v2/`,
        gty: 'client-credentials',
      });
    }
  });

  it('answers 401 access_denied for a wrong secret or unknown client, 403 for an unknown audience', async () => {
    const wrong = await tokenRequest(old, { ...body(), client_secret: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'access_denied', error_description: 'Unauthorized' });
    expect((await tokenRequest(old, { ...body(), client_id: 'nobody' })).status).toBe(401);
    const aud = await tokenRequest(old, { ...body(), audience: 'https://elsewhere/' });
    expect(aud.status).toBe(403);
    expect(aud.body).toEqual({
      error: 'access_denied',
      error_description: 'Service not found: https://elsewhere/',
    });
  });
});

describe('password and password-realm', () => {
  it('log a generated user in with the documented password; the ID token carries the profile', async () => {
    const u = generatedDbUsers()[0]!;
    const a = await realmLogin(old, u.email!, generatedPassword(u.generatedIndex!));
    expect(a.status).toBe(200);
    expect(claims(String(a.body.id_token))).toMatchObject({
      sub: u.user_id,
      email: u.email,
      aud: old.clientId,
    });
    const plain = await tokenRequest(old, {
      grant_type: 'password',
      client_id: old.clientId,
      client_secret: old.clientSecret,
      username: u.email!,
      password: generatedPassword(u.generatedIndex!),
    });
    expect(plain.status).toBe(200);
    expect(plain.body.id_token).toBeUndefined();
    expect(sim.tenant('old').user(u.user_id)!.logins_count).toBe((u.logins_count ?? 0) + 2);
  });

  it('log in by username too', async () => {
    const u = generatedDbUsers().find((x) => x.username !== undefined)!;
    expect((await realmLogin(old, u.username!, generatedPassword(u.generatedIndex!))).status).toBe(200);
  });

  it('answer 403 invalid_grant "Wrong email or password." for a wrong password or an unknown user', async () => {
    const u = generatedDbUsers()[1]!;
    for (const [name, pw] of [
      [u.email!, 'wrong'],
      ['nobody@example.com', 'x'],
    ] as const) {
      const a = await realmLogin(old, name, pw);
      expect(a.status).toBe(403);
      expect(a.body).toEqual({ error: 'invalid_grant', error_description: 'Wrong email or password.' });
    }
  });

  it('answer 401 for a blocked user', async () => {
    const u = [...sim.tenant('old').users.iterate(DB_CONNECTION)].find((x) => x.email !== undefined)!;
    sim.tenant('old').users.update(u.user_id, (x) => {
      x.blocked = true;
    });
    const a = await realmLogin(old, u.email!, generatedPassword(u.generatedIndex!));
    expect(a.status).toBe(401);
    expect(a.body.error).toBe('unauthorized');
    sim.tenant('old').users.update(u.user_id, (x) => {
      delete x.blocked;
    });
  });

  it('answer 403 unauthorized_client when the grant is not enabled for the client', async () => {
    const m2m = sim.tenant('old').addClient({ name: 'm2m-only', grantTypes: ['client_credentials'] });
    const a = await realmLogin(old, 'a@example.com', 'x', {}, m2m);
    expect(a.status).toBe(403);
    expect(a.body).toEqual({
      error: 'unauthorized_client',
      error_description:
        "Grant type 'http://auth0.com/oauth/grant-type/password-realm' not allowed for the client.",
    });
  });
});

describe('brute-force protection', () => {
  it('blocks a user from one IP after 10 failures; auth0-forwarded-for counts for a trusting client', async () => {
    const u = generatedDbUsers()[5]!;
    const pw = generatedPassword(u.generatedIndex!);
    const from = (ip: string) => ({ 'auth0-forwarded-for': ip });
    for (let i = 0; i < 10; i++)
      expect((await realmLogin(old, u.email!, 'wrong', from('198.51.100.7'))).status).toBe(403);
    const blocked = await realmLogin(old, u.email!, pw, from('198.51.100.7'));
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe('too_many_attempts');
    expect((await realmLogin(old, u.email!, pw, from('198.51.100.8'))).status).toBe(200);
  });

  it('ignores auth0-forwarded-for from a client that does not trust it', async () => {
    const u = generatedDbUsers()[6]!;
    const app = sim
      .tenant('old')
      .addClient({ name: 'untrusted', grantTypes: [PASSWORD_REALM_GRANT], trustForwardedFor: false });
    for (let i = 0; i < 10; i++) {
      expect(
        (await realmLogin(old, u.email!, 'wrong', { 'auth0-forwarded-for': `198.51.100.${i + 20}` }, app))
          .status,
      ).toBe(403);
    }
    const a = await realmLogin(
      old,
      u.email!,
      generatedPassword(u.generatedIndex!),
      { 'auth0-forwarded-for': '198.51.100.99' },
      app,
    );
    expect(a.status).toBe(429);
  });
});

describe('custom database in import mode', () => {
  const script = `function login(email, password, callback) {
  if (email === 'boom@example.com') return callback(new Error('legacy database unreachable'));
  if (email === 'lazy@example.com' && password === 'pw-' + configuration.SUFFIX) {
    return callback(null, { user_id: 'legacy-42', email: 'Lazy@Example.com', name: 'Lazy One', user_metadata: { from: 'legacy' } });
  }
  return callback(new WrongUsernameOrPasswordError(email, 'wrong credentials'));
}`;

  it('runs the login script for users it does not hold, stores them as auth0|<id> with the password, then logs them in itself', async () => {
    const t = sim.tenants.new;
    const api = await Mgmt.connect(sim, 'new');
    const current = (await api.call('GET', `/connections/${t.connectionId}`)).body.options;
    const patched = await api.call('PATCH', `/connections/${t.connectionId}`, {
      json: {
        options: {
          ...current,
          import_mode: true,
          customScripts: { login: script },
          configuration: { SUFFIX: 'x' },
        },
      },
    });
    expect(patched.status).toBe(200);

    const first = await realmLogin(t, 'lazy@example.com', 'pw-x');
    expect(first.status).toBe(200);
    const stored = sim.tenant('new').rawUser('auth0|legacy-42')!;
    expect(stored).toMatchObject({
      email: 'lazy@example.com',
      name: 'Lazy One',
      user_metadata: { from: 'legacy' },
      logins_count: 1,
    });
    expect(stored.passwordHash).toMatch(/^\$2[aby]\$/);
    // Created without a picture: Auth0's gravatar, its fallback named by the name's initials.
    expect(stored.picture).toBe(
      'https://s.gravatar.com/avatar/' +
        createHash('md5').update('lazy@example.com').digest('hex') +
        '?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Flo.png',
    );
    expect(sim.tenant('new').stats.customDbLogins).toBe(1);

    // Now in the Auth0 store: the script no longer runs, the stored password decides.
    expect((await realmLogin(t, 'lazy@example.com', 'pw-x')).status).toBe(200);
    expect((await realmLogin(t, 'lazy@example.com', 'other')).status).toBe(403);
    expect(sim.tenant('new').stats.customDbLogins).toBe(1);

    const wrong = await realmLogin(t, 'someone@example.com', 'pw');
    expect(wrong.status).toBe(403);
    expect(wrong.body.error).toBe('invalid_grant');
    const boom = await realmLogin(t, 'boom@example.com', 'pw');
    expect(boom.status).toBe(403);
    expect(boom.body.error).toBe('access_denied');
    expect(boom.body.error_description).toContain('legacy database unreachable');
  });

  it("passes context with the end user's IP when the connection enables script context", async () => {
    const t = sim.tenants.new;
    const api = await Mgmt.connect(sim, 'new');
    const withContext = `function login(email, password, context, callback) {
  callback(null, { user_id: 'ctx-' + context.request.ip.replace(/\\./g, '-'), email: email });
}`;
    const current = (await api.call('GET', `/connections/${t.connectionId}`)).body.options;
    await api.call('PATCH', `/connections/${t.connectionId}`, {
      json: { options: { ...current, enable_script_context: true, customScripts: { login: withContext } } },
    });
    const a = await realmLogin(t, 'ctx@example.com', 'pw', { 'auth0-forwarded-for': '203.0.113.9' });
    expect(a.status).toBe(200);
    expect(sim.tenant('new').user('auth0|ctx-203-0-113-9')?.email).toBe('ctx@example.com');
  });
});
