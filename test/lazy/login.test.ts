/**
 * The BUILT login and get_user scripts, run in the custom-database sandbox against a stand-in old
 * tenant that answers each way Auth0 can.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildScripts, type BuiltScripts } from '../../src/lazy/build.js';
import {
  createScriptRuntime,
  runGetUserScript,
  runLoginScript,
  type ScriptContext,
  type ScriptOutcome,
  type ScriptRuntime,
} from '../../src/sim/auth/custom-db.js';
import {
  endlessJson,
  hugeContentLength,
  redirectTo,
  startHostileServer,
  tricklingJson,
  type HostileServer,
} from '../hostile-servers.js';
import { startFakeOldTenant, type FakeOldTenant, type FakeUser } from './fake-old-tenant.js';

const ALICE: FakeUser = {
  user_id: 'auth0|64b7f0c2a1d3e4f5a6b7c8d9',
  email: 'alice@example.com',
  password: 'correct horse battery',
  email_verified: true,
  username: 'alice',
  name: 'Alice Liddell',
  nickname: 'ali',
  given_name: 'Alice',
  family_name: 'Liddell',
  picture: 'https://example.com/a.png',
  user_metadata: { lang: 'fr' },
  app_metadata: { plan: 'gold', roles: ['admin'] },
  logins_count: 12,
  last_ip: '198.51.100.1',
  created_at: '2020-01-01T00:00:00.000Z',
};
const BOB: FakeUser = {
  user_id: 'auth0|b0b',
  email: 'bob@example.com',
  password: 'bob password',
  blocked: true,
};
const CAROL: FakeUser = {
  user_id: 'auth0|ca401',
  email: 'carol@example.com',
  password: 'carol password',
  mfa: true,
};
// The same email on a social connection: users-by-email returns it too, it must be ignored.
const ALICE_SOCIAL: FakeUser = {
  user_id: 'google-oauth2|1234',
  email: 'alice@example.com',
  password: '',
  connection: 'google-oauth2',
};

let scripts: BuiltScripts;
let old: FakeOldTenant;
let runtime: ScriptRuntime;
const outcomes: ScriptOutcome[] = [];

beforeAll(() => {
  scripts = buildScripts();
});

beforeEach(async () => {
  old = await startFakeOldTenant([{ ...ALICE }, { ...BOB }, { ...CAROL }, { ...ALICE_SOCIAL }]);
  runtime = createScriptRuntime();
});

afterEach(async () => {
  // Any late second callback would show up by now: the scripts settle in one promise chain.
  await new Promise((r) => setImmediate(r));
  expect(runtime.problems).toEqual([]);
  await old.close();
});

async function login(
  username: string,
  password: string,
  options: { context?: ScriptContext; configuration?: Record<string, string> } = {},
): Promise<ScriptOutcome> {
  const outcome = await runLoginScript({
    script: scripts.login,
    configuration: old.configuration(options.configuration),
    username,
    password,
    context: options.context,
    runtime,
  });
  outcomes.push(outcome);
  return outcome;
}

async function getUser(email: string, context?: ScriptContext): Promise<ScriptOutcome> {
  const outcome = await runGetUserScript({
    script: scripts.get_user,
    configuration: old.configuration(),
    email,
    context,
    runtime,
  });
  outcomes.push(outcome);
  return outcome;
}

function errorOf(outcome: ScriptOutcome): { name: string; message: string } {
  if (outcome.ok) throw new Error(`expected an error, got ${JSON.stringify(outcome.profile)}`);
  return outcome.error;
}

function expectTryAgain(outcome: ScriptOutcome): void {
  const error = errorOf(outcome);
  expect(error.name).toBe('Error');
  expect(error.message).toMatch(/try again/i);
  expect(error.message).not.toMatch(/wrong|password/i);
}

describe('login', () => {
  it('returns the old profile with the id the bulk import gives (no auth0| prefix)', async () => {
    const outcome = await login('alice@example.com', ALICE.password);
    expect(outcome).toEqual({
      ok: true,
      profile: {
        user_id: '64b7f0c2a1d3e4f5a6b7c8d9',
        email: 'alice@example.com',
        email_verified: true,
        username: 'alice',
        name: 'Alice Liddell',
        nickname: 'ali',
        given_name: 'Alice',
        family_name: 'Liddell',
        picture: 'https://example.com/a.png',
        user_metadata: { lang: 'fr' },
        app_metadata: { plan: 'gold', roles: ['admin'] },
      },
    });
    const lookup = old.requests.find((r) => r.endpoint === 'users-by-email');
    expect(lookup?.url).toBe('/api/v2/users-by-email?email=alice%40example.com');
  });

  it('checks the password with the password-realm grant on the configured connection', async () => {
    await login('alice@example.com', ALICE.password);
    const request = old.requests.find((r) => r.endpoint === 'login');
    expect(request?.body).toMatchObject({
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
      realm: old.connection,
      client_id: old.clientId,
      username: 'alice@example.com',
    });
  });

  it('looks the profile up by the lower-cased email', async () => {
    const outcome = await login('Alice@Example.COM', ALICE.password);
    expect(outcome.ok && outcome.profile?.user_id).toBe('64b7f0c2a1d3e4f5a6b7c8d9');
    const lookup = old.requests.find((r) => r.endpoint === 'users-by-email');
    expect(lookup?.url).toBe('/api/v2/users-by-email?email=alice%40example.com');
  });

  it("sends the end user's IP as auth0-forwarded-for when the context has it (context before callback)", async () => {
    const withIp = await login('alice@example.com', ALICE.password, {
      context: { request: { ip: '203.0.113.7' } },
    });
    expect(withIp.ok).toBe(true);
    const without = await login('alice@example.com', ALICE.password);
    expect(without.ok).toBe(true);
    const logins = old.requests.filter((r) => r.endpoint === 'login');
    expect(logins[0]?.headers['auth0-forwarded-for']).toBe('203.0.113.7');
    expect(logins[1]?.headers['auth0-forwarded-for']).toBeUndefined();
  });

  it('answers a wrong password with WrongUsernameOrPasswordError and asks nothing of the Management API', async () => {
    const error = errorOf(await login('alice@example.com', 'not it'));
    expect(error.name).toBe('WrongUsernameOrPasswordError');
    expect(old.count('token')).toBe(0);
    expect(old.count('users-by-email')).toBe(0);
  });

  it('answers an unknown user with WrongUsernameOrPasswordError', async () => {
    expect(errorOf(await login('nobody@example.com', 'whatever')).name).toBe('WrongUsernameOrPasswordError');
  });

  it('answers an empty password with WrongUsernameOrPasswordError without asking the old tenant', async () => {
    expect(errorOf(await login('alice@example.com', '')).name).toBe('WrongUsernameOrPasswordError');
    expect(old.requests).toEqual([]);
  });

  it('does not migrate a user the old tenant reports as blocked', async () => {
    const error = errorOf(await login('bob@example.com', BOB.password));
    expect(error.name).toBe('UnauthorizedError');
    expect(error.message).toMatch(/blocked/);
  });

  it('does not migrate a user whose old profile is blocked even when the password grant succeeds', async () => {
    old.users.push({ user_id: 'auth0|d4ve', email: 'dave@example.com', password: 'dave password' });
    // The profile says blocked, the token endpoint did not (e.g. blocked after the check).
    old.overrides['users-by-email'] = {
      status: 200,
      body: [{ user_id: 'auth0|d4ve', email: 'dave@example.com', blocked: true }],
    };
    const error = errorOf(await login('dave@example.com', 'dave password'));
    expect(error.name).toBe('UnauthorizedError');
    expect(error.message).toMatch(/blocked/);
  });

  it('explains mfa_required instead of calling it a wrong password', async () => {
    const error = errorOf(await login('carol@example.com', CAROL.password));
    expect(error.name).toBe('UnauthorizedError');
    expect(error.message).toMatch(/multi-factor/);
    expect(error.message).not.toMatch(/wrong/i);
  });

  it('turns a brute-force block on the old tenant into a clear error', async () => {
    old.overrides.login = {
      status: 429,
      body: {
        error: 'too_many_attempts',
        error_description: 'Your account has been blocked after multiple attempts.',
      },
    };
    const error = errorOf(await login('alice@example.com', ALICE.password));
    expect(error.name).toBe('UnauthorizedError');
    expect(error.message).toMatch(/too many failed logins/);
  });

  it.each([
    ['login', 429, { error: 'too_many_requests', error_description: 'Global limit has been reached' }],
    ['login', 500, { error: 'server_error' }],
    ['login', 503, ''],
    ['token', 429, { error: 'too_many_requests' }],
    ['token', 502, 'Bad gateway'],
    [
      'users-by-email',
      429,
      { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' },
    ],
    ['users-by-email', 500, { statusCode: 500, error: 'Internal Server Error' }],
  ] as const)('answers %s %i with an error that says try again', async (endpoint, status, body) => {
    old.overrides[endpoint] = { status, body };
    expectTryAgain(await login('alice@example.com', ALICE.password));
  });

  it('gives up on a slow old tenant within its own time limit and says try again', async () => {
    old.delays.login = 600;
    const started = Date.now();
    const outcome = await login('alice@example.com', ALICE.password, {
      configuration: { OLD_AUTH0_TIMEOUT_MS: '100' },
    });
    expectTryAgain(outcome);
    expect(errorOf(outcome).message).toMatch(/did not answer within 100 ms/);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('stops when the calls together run out of time, before Auth0 would', async () => {
    // Each answer is within the per-call limit, but three of them are not within the budget (3 x 100 ms).
    old.delays.login = 90;
    old.delays.token = 90;
    old.delays['users-by-email'] = 90;
    old.overrides['users-by-email'] = { status: 401, body: { statusCode: 401 }, times: 1 };
    const outcome = await login('alice@example.com', ALICE.password, {
      configuration: { OLD_AUTH0_TIMEOUT_MS: '100' },
    });
    expectTryAgain(outcome);
  });

  it('says try again when the old tenant cannot be reached', async () => {
    const down = await startFakeOldTenant();
    const url = down.url;
    await down.close();
    const outcome = await login('alice@example.com', ALICE.password, {
      configuration: { OLD_AUTH0_BASE_URL: url },
    });
    expectTryAgain(outcome);
    expect(errorOf(outcome).message).toMatch(/could not be reached/);
  });

  it('keeps the management token in global between logins of one container', async () => {
    expect((await login('alice@example.com', ALICE.password)).ok).toBe(true);
    expect((await login('alice@example.com', ALICE.password)).ok).toBe(true);
    expect(old.count('token')).toBe(1);
    expect(JSON.stringify(runtime.global.auth0MigrateManagementTokens)).toContain('mgmt-1');
    // A new container starts without it.
    runtime = createScriptRuntime();
    expect((await login('alice@example.com', ALICE.password)).ok).toBe(true);
    expect(old.count('token')).toBe(2);
  });

  it('renews an expired management token before using it', async () => {
    old.tokenLifetime = 0.001;
    expect((await login('alice@example.com', ALICE.password)).ok).toBe(true);
    expect((await login('alice@example.com', ALICE.password)).ok).toBe(true);
    expect(old.count('token')).toBe(2);
    expect(old.count('users-by-email')).toBe(2);
  });

  it('renews the management token once when the old tenant answers 401, and carries on', async () => {
    expect((await login('alice@example.com', ALICE.password)).ok).toBe(true);
    old.revokeTokens();
    const outcome = await login('alice@example.com', ALICE.password);
    expect(outcome.ok && outcome.profile?.user_id).toBe('64b7f0c2a1d3e4f5a6b7c8d9');
    expect(old.count('token')).toBe(2);
    expect(old.count('users-by-email')).toBe(3);
  });

  it('does not loop when a renewed token is refused too: it names the missing scope', async () => {
    old.overrides['users-by-email'] = {
      status: 403,
      body: {
        statusCode: 403,
        error: 'Forbidden',
        message: 'Insufficient scope, expected any of: read:users',
      },
    };
    const error = errorOf(await login('alice@example.com', ALICE.password));
    expect(error.message).toMatch(/read:users/);
    expect(error.name).toBe('Error');
    expect(old.count('users-by-email')).toBe(1);
  });

  it("passes on a refusal by the old tenant's rules or actions as UnauthorizedError", async () => {
    old.overrides.login = {
      status: 403,
      body: { error: 'access_denied', error_description: 'Please verify your email first.' },
    };
    const error = errorOf(await login('alice@example.com', ALICE.password));
    expect(error).toEqual({
      name: 'UnauthorizedError',
      message: 'The old tenant refused this login: Please verify your email first.',
    });
  });

  it('names the Password grant when the old application does not allow it', async () => {
    old.overrides.login = {
      status: 403,
      body: {
        error: 'unauthorized_client',
        error_description:
          "Grant type 'http://auth0.com/oauth/grant-type/password-realm' not allowed for the client.",
      },
    };
    const error = errorOf(await login('alice@example.com', ALICE.password));
    expect(error.name).toBe('Error');
    expect(error.message).toMatch(/Password grant/);
  });

  it('reports rejected client credentials as misconfiguration, without the secret', async () => {
    const error = errorOf(
      await login('alice@example.com', ALICE.password, {
        configuration: { OLD_AUTH0_CLIENT_SECRET: 'a-wrong-secret-value' },
      }),
    );
    expect(error.name).toBe('Error');
    expect(error.message).toMatch(/OLD_AUTH0_CLIENT_SECRET/);
    expect(error.message).not.toContain('a-wrong-secret-value');
  });

  it('names the missing configuration', async () => {
    const outcome = await runLoginScript({
      script: scripts.login,
      configuration: { OLD_AUTH0_DOMAIN: old.domain },
      username: 'alice@example.com',
      password: ALICE.password,
      runtime,
    });
    expect(errorOf(outcome).message).toMatch(
      /OLD_AUTH0_CLIENT_ID, OLD_AUTH0_CLIENT_SECRET, OLD_AUTH0_CONNECTION/,
    );
  });

  it('finds the profile without an id_token when the email is unique on the connection', async () => {
    old.sendIdToken = false;
    const outcome = await login('alice@example.com', ALICE.password);
    expect(outcome.ok && outcome.profile?.user_id).toBe('64b7f0c2a1d3e4f5a6b7c8d9');
  });

  it('refuses to pick one of two users with the same email when the old tenant did not say which', async () => {
    old.sendIdToken = false;
    old.users.push({ user_id: 'auth0|second', email: 'alice@example.com', password: 'x' });
    const error = errorOf(await login('alice@example.com', ALICE.password));
    expect(error.message).toMatch(/2 users with this email/);
  });

  it('never hands over a different user than the one the old tenant vouched for', async () => {
    old.overrides['users-by-email'] = {
      status: 200,
      body: [{ user_id: 'auth0|someone-else', email: 'alice@example.com' }],
    };
    expectTryAgain(await login('alice@example.com', ALICE.password));
  });

  it('logs in by username through the id the old tenant vouched for', async () => {
    const outcome = await login('alice', ALICE.password);
    expect(outcome.ok && outcome.profile?.user_id).toBe('64b7f0c2a1d3e4f5a6b7c8d9');
    expect(old.count('user')).toBe(1);
    expect(old.count('users-by-email')).toBe(0);
  });

  it('puts no secret and no password in any error it gives', () => {
    const texts = outcomes.filter((o) => !o.ok).map((o) => JSON.stringify(o));
    expect(texts.length).toBeGreaterThan(15);
    for (const text of texts) {
      expect(text).not.toContain(old.clientSecret);
      for (const u of [ALICE, BOB, CAROL]) expect(text).not.toContain(u.password);
    }
  });
});

describe('get_user', () => {
  it('returns the same profile as login for a user of the old connection', async () => {
    const found = await getUser('alice@example.com');
    const loggedIn = await login('alice@example.com', ALICE.password);
    expect(found.ok && found.profile).toEqual(loggedIn.ok && loggedIn.profile);
  });

  it('takes the context before the callback as well', async () => {
    const found = await getUser('Alice@example.com', { request: { ip: '203.0.113.9' } });
    expect(found.ok && found.profile?.user_id).toBe('64b7f0c2a1d3e4f5a6b7c8d9');
  });

  it('answers callback(null) for an email the old connection does not have', async () => {
    expect(await getUser('nobody@example.com')).toEqual({ ok: true, profile: null });
    old.users.splice(0, old.users.length, { ...ALICE_SOCIAL });
    expect(await getUser('alice@example.com')).toEqual({ ok: true, profile: null });
  });

  it('fails with an error, not "not found", when the old tenant fails', async () => {
    old.overrides['users-by-email'] = { status: 503, body: '' };
    expectTryAgain(await getUser('alice@example.com'));
  });

  it('does not hand over a blocked user', async () => {
    expect(errorOf(await getUser('bob@example.com')).name).toBe('UnauthorizedError');
  });
});

describe('time limits', () => {
  it('caps every call at 5 s, whatever the configuration says (Auth0 allows 20 s in all)', async () => {
    const aborted: number[] = [];
    const hanging = createScriptRuntime({
      fetch: (async (_url: unknown, init?: { signal?: AbortSignal }) => {
        const started = Date.now();
        return new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => {
            aborted.push(Date.now() - started);
            reject(init.signal?.reason);
          });
        });
      }) as typeof fetch,
    });
    const outcome = await runLoginScript({
      script: scripts.login,
      configuration: {
        OLD_AUTH0_DOMAIN: 'old.example.com',
        OLD_AUTH0_CLIENT_ID: 'id',
        OLD_AUTH0_CLIENT_SECRET: 'secret-value',
        OLD_AUTH0_CONNECTION: 'db',
        OLD_AUTH0_TIMEOUT_MS: '60000',
      },
      username: 'alice@example.com',
      password: 'pw-value',
      runtime: hanging,
    });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.message).toMatch(/did not answer within 5000 ms.*try again/);
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toBeGreaterThanOrEqual(4900);
    expect(aborted[0]).toBeLessThan(6500);
    expect(hanging.problems).toEqual([]);
  });
});

describe('a hostile old tenant', () => {
  const servers: HostileServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const serve = async (...args: Parameters<typeof startHostileServer>) => {
    const server = await startHostileServer(...args);
    servers.push(server);
    return server;
  };

  it.each([301, 302, 303, 307, 308])(
    'never follows a %i: the client secret and the password reach no other host',
    async (status) => {
      const elsewhere = await serve((_req, res) => res.writeHead(200).end('{}'), '127.0.0.2');
      const hostile = await serve(redirectTo(() => elsewhere.url, status));
      const outcome = await login('alice@example.com', ALICE.password, {
        configuration: { OLD_AUTH0_BASE_URL: hostile.url },
      });
      expect(hostile.requests.map((r) => r.url)).toEqual(['/oauth/token']);
      expect(elsewhere.requests).toEqual([]);
      const error = errorOf(outcome);
      expect(error.message).toMatch(
        new RegExp(`misconfigured.*redirect \\(HTTP ${status} to 127\\.0\\.0\\.2`),
      );
      expect(error.message).not.toMatch(/wrong/i);
      expect(JSON.stringify(outcome)).not.toContain(old.clientSecret);
      expect(JSON.stringify(outcome)).not.toContain(ALICE.password);
    },
  );

  it('stops reading an answer that never ends, well before the time limit, and hangs up', async () => {
    const hostile = await serve(endlessJson());
    const started = Date.now();
    const outcome = await login('alice@example.com', ALICE.password, {
      configuration: { OLD_AUTH0_BASE_URL: hostile.url },
    });
    expectTryAgain(outcome);
    expect(errorOf(outcome).message).toMatch(/more than 1048576 bytes/);
    expect(Date.now() - started).toBeLessThan(4_000);
    await hostile.hungUp;
    // What the server got to write: the 1 MiB read, plus what the sockets buffer on the way.
    expect(hostile.sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('keeps its time limit on an answer that trickles on forever', async () => {
    const hostile = await serve(tricklingJson());
    const outcome = await login('alice@example.com', ALICE.password, {
      configuration: { OLD_AUTH0_BASE_URL: hostile.url, OLD_AUTH0_TIMEOUT_MS: '300' },
    });
    expectTryAgain(outcome);
    expect(errorOf(outcome).message).toMatch(/did not answer within 300 ms/);
  });

  it('refuses an answer whose declared length is over the limit without reading it', async () => {
    const hostile = await serve(hugeContentLength(4 * 1024 ** 3));
    const outcome = await login('alice@example.com', ALICE.password, {
      configuration: { OLD_AUTH0_BASE_URL: hostile.url },
    });
    expectTryAgain(outcome);
    expect(errorOf(outcome).message).toMatch(/more than 1048576 bytes/);
  });
});
