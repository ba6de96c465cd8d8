/**
 * The tenant client against a base URL that answers as an attacker would: redirects to another
 * host (which records whatever reaches it), answers that never end, lengths it never keeps to.
 * No request carrying the client secret, a token or users follows a redirect; no answer grows the
 * process beyond its cap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTenantClient, isAuth0Error, type Auth0Error } from '../../src/auth0/index.js';
import { Secret, type TenantConfig } from '../../src/config.js';
import {
  endlessJson,
  hugeContentLength,
  redirectTo,
  startHostileServer,
  tricklingJson,
  type Answer,
  type HostileServer,
} from '../hostile-servers.js';

const SECRET = 'hostile-test-client-secret-VALUE';
const retry = { baseDelayMs: 5, maxDelayMs: 20, rateLimitFallbackMs: 5, maxAttempts: 2 };
const servers: HostileServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(answer: Answer, host?: string): Promise<HostileServer> {
  const server = await startHostileServer(answer, host);
  servers.push(server);
  return server;
}

function configFor(server: HostileServer): TenantConfig {
  return {
    domain: 'hostile.auth0.test',
    clientId: 'hostile-client',
    clientSecret: new Secret(SECRET),
    connection: 'Username-Password-Authentication',
    baseUrl: server.url,
  };
}

async function failure(p: Promise<unknown>): Promise<Auth0Error> {
  try {
    await p;
  } catch (err) {
    if (isAuth0Error(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

/** A tenant whose token endpoint works and whose other answers come from `api`. */
function withToken(api: Answer): Answer {
  return (req, res, count) => {
    if (req.url === '/oauth/token') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ access_token: 'hostile-token-VALUE', token_type: 'Bearer', expires_in: 86400 }),
        );
      return;
    }
    api(req, res, count);
  };
}

const ok: Answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');

describe('a tenant that redirects', () => {
  it.each([301, 302, 303, 307, 308])(
    'the token request (client secret) is not sent on after a %i',
    async (status) => {
      const elsewhere = await serve(ok, '127.0.0.2');
      const hostile = await serve(redirectTo(() => elsewhere.url, status));
      const client = createTenantClient(configFor(hostile), { label: 'new', retry });
      const err = await failure(client.getJob('job_abcdefghijklmnop'));
      expect(err.code).toBe('redirected');
      expect(err.message).toMatch(new RegExp(`POST /oauth/token .*HTTP ${status} to 127\\.0\\.0\\.2`));
      expect(err.message).toMatch(/NEW_AUTH0_BASE_URL/);
      expect(err.message).not.toContain(SECRET);
      expect(hostile.requests).toHaveLength(1);
      expect(elsewhere.requests).toEqual([]);
    },
  );

  it('an import job (users, token) is not sent on', async () => {
    const elsewhere = await serve(ok, '127.0.0.2');
    const hostile = await serve(withToken(redirectTo(() => elsewhere.url)));
    const client = createTenantClient(configFor(hostile), { label: 'new', retry });
    const err = await failure(
      client.createImportJob({
        connectionId: 'con_abcdefghijklmnop',
        users: Buffer.from(JSON.stringify([{ email: 'victim@example.com' }])),
      }),
    );
    expect(err.code).toBe('redirected');
    expect(err.message).toMatch(/POST \/api\/v2\/jobs\/users-imports/);
    expect(elsewhere.requests).toEqual([]);
    expect(hostile.requests.map((r) => r.url)).toEqual(['/oauth/token', '/api/v2/jobs/users-imports']);
  });

  it('a change-password email request is not sent on', async () => {
    const elsewhere = await serve(ok, '127.0.0.2');
    const hostile = await serve(redirectTo(() => elsewhere.url));
    const client = createTenantClient(configFor(hostile), { label: 'new', retry });
    const err = await failure(
      client.sendPasswordChangeEmail({
        email: 'victim@example.com',
        connection: 'Username-Password-Authentication',
      }),
    );
    expect(err.code).toBe('redirected');
    expect(elsewhere.requests).toEqual([]);
  });
});

describe('a tenant whose answers never end', () => {
  it('the token answer is cut off at the cap, and the connection closed', async () => {
    const hostile = await serve(endlessJson());
    const client = createTenantClient(configFor(hostile), {
      label: 'old',
      retry,
      maxAnswerBytes: 1024 * 1024,
    });
    const err = await failure(client.getJob('job_abcdefghijklmnop'));
    expect(err.code).toBe('answer_too_large');
    expect(err.message).toMatch(/POST \/oauth\/token .*more than 1048576 bytes/);
    await hostile.hungUp;
    expect(hostile.sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('an API answer is cut off at the cap', async () => {
    const hostile = await serve(withToken(endlessJson()));
    const client = createTenantClient(configFor(hostile), {
      label: 'old',
      retry,
      maxAnswerBytes: 1024 * 1024,
    });
    const err = await failure(client.getJob('job_abcdefghijklmnop'));
    expect(err.code).toBe('answer_too_large');
    expect(err.message).toMatch(/GET \/api\/v2\/jobs\/job_abcdefghijklmnop/);
    await hostile.hungUp;
    expect(hostile.sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('an answer that trickles on forever ends at the time limit', async () => {
    const hostile = await serve(withToken(tricklingJson()));
    const client = createTenantClient(configFor(hostile), { label: 'old', retry, requestTimeoutMs: 1_000 });
    const started = Date.now();
    const err = await failure(client.getJob('job_abcdefghijklmnop'));
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/GET \/api\/v2\/jobs\/job_abcdefghijklmnop.*1000 ms/);
    // Two attempts of 1 s each, not forever.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('an answer declaring more than the cap is refused unread', async () => {
    const hostile = await serve(withToken(hugeContentLength(4 * 1024 ** 3)));
    const client = createTenantClient(configFor(hostile), { label: 'old', retry });
    const err = await failure(client.getJob('job_abcdefghijklmnop'));
    expect(err.code).toBe('answer_too_large');
  });

  it('an export download stops at the largest file allowed, streaming, without buffering it', async () => {
    const hostile = await serve(endlessJson());
    const client = createTenantClient(configFor(hostile), {
      label: 'old',
      retry,
      maxDownloadBytes: 8 * 1024 * 1024,
    });
    const stream = await client.download(`${hostile.url}/export.json.gz`);
    let received = 0;
    const err = await failure(
      (async () => {
        for await (const chunk of stream) received += (chunk as Buffer).length;
      })(),
    );
    expect(err.code).toBe('answer_too_large');
    expect(err.message).toMatch(/EXPORT_MAX_BYTES/);
    expect(received).toBeLessThanOrEqual(8 * 1024 * 1024);
    await hostile.hungUp;
    expect(hostile.sent).toBeLessThan(40 * 1024 * 1024);
  });

  it('an export download declaring more than the largest file allowed is refused unread', async () => {
    const hostile = await serve(hugeContentLength(20 * 1024 ** 3));
    const client = createTenantClient(configFor(hostile), { label: 'old', retry });
    const err = await failure(client.download(`${hostile.url}/export.json.gz`));
    expect(err.code).toBe('answer_too_large');
    expect(err.message).toMatch(/EXPORT_MAX_BYTES/);
  });

  it('an endless error answer to a download is not read to its end', async () => {
    const hostile = await serve(endlessJson(500));
    const client = createTenantClient(configFor(hostile), { label: 'old', retry });
    const err = await failure(client.download(`${hostile.url}/export.json.gz`));
    expect(err.code).not.toBe('answer_too_large');
    await hostile.hungUp;
    expect(hostile.sent).toBeLessThan(32 * 1024 * 1024);
  });
});
