import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createTenantClient, isAuth0Error, type Auth0Error } from '../../src/auth0/index.js';
import { CLIENT_SECRET, JOB, drop, startMockTenant, type Handler, type MockTenant } from './mock-tenant.js';

const retry = { baseDelayMs: 5, maxDelayMs: 50, rateLimitFallbackMs: 5 };
let tenant: MockTenant | undefined;

afterEach(async () => {
  await tenant?.close();
  tenant = undefined;
});

async function start(routes: Record<string, Handler>, options?: Parameters<typeof startMockTenant>[1]) {
  tenant = await startMockTenant(routes, options);
  return tenant;
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

const errorBody = (status: number, message: string, errorCode?: string) => ({
  statusCode: status,
  error: status === 403 ? 'Forbidden' : status === 429 ? 'Too Many Requests' : 'Error',
  message,
  ...(errorCode === undefined ? {} : { errorCode }),
});

/** The form fields of a multipart body, read crudely (enough for the text parts). */
function formFields(raw: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of raw
    .toString('utf8')
    .matchAll(/name="([^"]+)"(?:; filename="[^"]*")?\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/g)) {
    fields[m[1]!] = m[2]!;
  }
  return fields;
}

describe('token', () => {
  it('is fetched once and reused; requests reach the base URL, not https://<domain>', async () => {
    const t = await start({ 'GET /jobs/:id': (req) => JOB({ id: (req.params as { id: string }).id }) });
    const client = createTenantClient(t.config, { label: 'old', retry });
    const jobs = await Promise.all([client.getJob('job_1'), client.getJob('job_2'), client.getJob('job_3')]);
    expect(jobs.map((j) => j.id)).toEqual(['job_1', 'job_2', 'job_3']);
    expect(t.tokenRequests).toBe(1);
    expect(new Set(t.tokensSeen)).toEqual(new Set(['Bearer token-1']));
  });

  it('is fetched again when it is about to expire', async () => {
    // expires_in 10 s is inside the SDK's 10 s refresh margin: every call needs a new token.
    const t = await start({ 'GET /jobs/:id': () => JOB() }, { expiresIn: 10 });
    const client = createTenantClient(t.config, { label: 'old', retry });
    await client.getJob('job_1');
    await client.getJob('job_1');
    expect(t.tokenRequests).toBe(2);
  });

  it('is renewed once when the API refuses it', async () => {
    const t = await start({
      'GET /jobs/:id': (_req, reply, n) =>
        n === 0 ? reply.code(401).send(errorBody(401, 'Expired token')) : JOB(),
    });
    const client = createTenantClient(t.config, { label: 'old', retry });
    await expect(client.getJob('job_1')).resolves.toMatchObject({ id: JOB().id });
    expect(t.tokenRequests).toBe(2);
    expect(t.tokensSeen).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('gives bad_credentials when the renewed token is refused too', async () => {
    const t = await start({
      'GET /jobs/:id': (_req, reply) => reply.code(401).send(errorBody(401, 'Invalid token')),
    });
    const client = createTenantClient(t.config, { label: 'new', retry });
    const err = await failure(client.getJob('job_1'));
    expect(err.code).toBe('bad_credentials');
    expect(err.message).toContain('NEW_AUTH0_CLIENT_ID / NEW_AUTH0_CLIENT_SECRET');
    expect(t.calls).toHaveLength(2);
  });

  it('names the variables to check when the client id or secret is wrong', async () => {
    const t = await start({ 'GET /jobs/:id': () => JOB() });
    const client = createTenantClient({ ...t.config, clientId: 'wrong-client' }, { label: 'old', retry });
    const err = await failure(client.getJob('job_1'));
    expect(err.code).toBe('bad_credentials');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('check OLD_AUTH0_CLIENT_ID / OLD_AUTH0_CLIENT_SECRET');
    expect(t.tokenRequests).toBe(1);
    expect(t.calls).toHaveLength(0);
  });

  it('never puts the secret or a token in a message, even when the server echoes them', async () => {
    const t = await start(
      {
        'GET /jobs/:id': (req, reply) =>
          reply.code(400).send(errorBody(400, `bad ${req.headers.authorization}`)),
      },
      {
        token: (req, reply, n) =>
          n === 0
            ? reply.code(401).send({
                error: 'access_denied',
                error_description: `no ${(req.body as Record<string, string>).client_secret}`,
              })
            : { access_token: 'token-SECRET-xyz', token_type: 'Bearer', expires_in: 86400 },
      },
    );
    const client = createTenantClient(t.config, { label: 'old', retry });
    const first = await failure(client.getJob('job_1'));
    expect(first.code).toBe('bad_credentials');
    expect(first.message).not.toContain(CLIENT_SECRET);
    const second = await failure(client.getJob('job_1'));
    expect(second.code).toBe('bad_request');
    expect(second.message).toContain('[redacted]');
    expect(second.message).not.toContain('token-SECRET-xyz');
  });

  it('explains an application not authorised for the Management API', async () => {
    const t = await start(
      { 'GET /jobs/:id': () => JOB() },
      {
        token: (_req, reply) =>
          reply.code(403).send({
            error: 'access_denied',
            error_description:
              'Client is not authorized to access "https://mock.auth0.test/api/v2/". You need to create a "client-grant" associated to this API.',
          }),
      },
    );
    const err = await failure(createTenantClient(t.config, { label: 'old', retry }).getJob('job_1'));
    expect(err.code).toBe('missing_scope');
    expect(err.message).toContain('OLD_AUTH0_CLIENT_ID may not get a Management API token');
    expect(err.message).toContain('authorize the application');
  });
});

describe('errors a caller can act on', () => {
  it('names a missing scope and where to grant it', async () => {
    const t = await start({
      'GET /jobs/:id': (_req, reply) =>
        reply
          .code(403)
          .send(
            errorBody(
              403,
              'Insufficient scope, expected any of: read:users,create:users',
              'insufficient_scope',
            ),
          ),
    });
    const err = await failure(createTenantClient(t.config, { label: 'old', retry }).getJob('job_1'));
    expect(err.code).toBe('missing_scope');
    expect(err.scope).toBe('read:users');
    expect(err.message).toMatch(/OLD_AUTH0_CLIENT_ID lacks the read:users scope/);
    expect(err.message).toContain('Auth0 Management API > Machine To Machine Applications');
    expect(t.calls).toHaveLength(1);
  });

  it('falls back to the scope the call needs when Auth0 does not name it', async () => {
    const t = await start({
      'POST /tickets/password-change': (_req, reply) =>
        reply.code(403).send(errorBody(403, 'Insufficient scope', 'insufficient_scope')),
    });
    const err = await failure(
      createTenantClient(t.config, { label: 'new', retry }).createPasswordChangeTicket({ userId: 'auth0|1' }),
    );
    expect(err.code).toBe('missing_scope');
    expect(err.scope).toBe('create:user_tickets');
  });

  it('lists the connections that exist when the name is wrong', async () => {
    const connections = [
      { id: 'con_aaaaaaaaaaaaaaaa', name: 'Username-Password-Authentication', strategy: 'auth0' },
      { id: 'con_bbbbbbbbbbbbbbbb', name: 'google-oauth2', strategy: 'google-oauth2' },
    ];
    const t = await start({
      'GET /connections': (req) => {
        const name = (req.query as { name?: string }).name;
        return { connections: name === undefined ? connections : connections.filter((c) => c.name === name) };
      },
    });
    const client = createTenantClient(t.config, { label: 'old', retry });
    await expect(client.getConnectionByName('Username-Password-Authentication')).resolves.toMatchObject({
      id: 'con_aaaaaaaaaaaaaaaa',
    });
    const err = await failure(client.getConnectionByName('users-db'));
    expect(err.code).toBe('unknown_connection');
    expect(err.message).toContain('no connection named "users-db"');
    expect(err.message).toContain('OLD_AUTH0_CONNECTION');
    expect(err.message).toContain('Username-Password-Authentication (auth0), google-oauth2 (google-oauth2)');
  });

  it('maps 404, 409 and 413', async () => {
    const t = await start({
      'GET /jobs/:id': (_req, reply) => reply.code(404).send(errorBody(404, 'Job not found.')),
      'PATCH /connections/:id': (_req, reply) => reply.code(409).send(errorBody(409, 'conflict')),
      'POST /jobs/users-imports': (_req, reply) => reply.code(413).send(errorBody(413, 'Payload Too Large')),
    });
    const client = createTenantClient(t.config, { label: 'new', retry });
    expect((await failure(client.getJob('job_x'))).code).toBe('not_found');
    expect((await failure(client.updateConnection('con_x', { options: {} }))).code).toBe('already_exists');
    const big = await failure(client.createImportJob({ connectionId: 'con_x', users: Buffer.from('[]') }));
    expect(big.code).toBe('payload_too_large');
    expect(big.message).toContain('512000');
  });

  it('reads the three shapes of /errors', async () => {
    const t = await start({
      'GET /jobs/:id/errors': (req, reply) => {
        const id = (req.params as { id: string }).id;
        if (id === 'none') return reply.code(204).send();
        if (id === 'job') return JOB({ status: 'failed', status_details: 'boom' });
        return [{ user: { email: 'a@example.com' }, errors: [{ code: 'DUPLICATED_USER', message: 'dup' }] }];
      },
    });
    const client = createTenantClient(t.config, { label: 'new', retry });
    expect(await client.getJobErrors('none')).toEqual({ kind: 'none' });
    expect(await client.getJobErrors('job')).toMatchObject({ kind: 'job', job: { status: 'failed' } });
    expect(await client.getJobErrors('users')).toMatchObject({
      kind: 'users',
      errors: [{ errors: [{ code: 'DUPLICATED_USER' }] }],
    });
  });
});

describe('retries', () => {
  it('waits until x-ratelimit-reset before trying again', async () => {
    let resetAt = 0;
    const t = await start({
      'GET /jobs/:id': (_req, reply, n) => {
        if (n > 0) return JOB();
        resetAt = Math.floor(Date.now() / 1000) + 1;
        return reply
          .code(429)
          .header('x-ratelimit-limit', '2')
          .header('x-ratelimit-remaining', '0')
          .header('x-ratelimit-reset', String(resetAt))
          .send(errorBody(429, 'Too many requests.'));
      },
    });
    const client = createTenantClient(t.config, { label: 'old', retry: { jitter: 0 } });
    await client.getJob('job_1');
    const retriedAt = Date.now();
    expect(t.calls).toHaveLength(2);
    expect(retriedAt).toBeGreaterThanOrEqual(resetAt * 1000 - 5);
  });

  it('rides out a 429 storm, 5xx answers and dropped connections on reads', async () => {
    const t = await start({
      'GET /jobs/:id': (_req, reply, n) => {
        if (n < 6)
          return reply.code(429).header('x-ratelimit-reset', '0').send(errorBody(429, 'Too many requests.'));
        if (n < 8) return reply.code(503).send(errorBody(503, 'unavailable'));
        if (n < 10) return drop(reply);
        return JOB({ status: 'completed' });
      },
    });
    const client = createTenantClient(t.config, { label: 'old', retry: { ...retry, maxAttempts: 6 } });
    await expect(client.getJob('job_1')).resolves.toMatchObject({ status: 'completed' });
    expect(t.calls).toHaveLength(11);
  });

  it('stops after maxAttempts on persistent 5xx', async () => {
    const t = await start({ 'GET /jobs/:id': (_req, reply) => reply.code(500).send(errorBody(500, 'boom')) });
    const err = await failure(
      createTenantClient(t.config, { label: 'old', retry: { ...retry, maxAttempts: 3 } }).getJob('job_1'),
    );
    expect(err.code).toBe('server_error');
    expect(err.retryable).toBe(true);
    expect(t.calls).toHaveLength(3);
  });

  it('reports a tenant that cannot be reached as a network error of the call its retries name', async () => {
    const t = await start({});
    const config = t.config;
    await t.close();
    tenant = undefined;
    const logged: Array<{ operation?: string; msg: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const err = await failure(
      createTenantClient(config, { label: 'old', logger, retry: { ...retry, maxAttempts: 3 } }).getJob(
        'job_1',
      ),
    );
    expect(err.code).toBe('network');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).toContain('OLD_AUTH0_BASE_URL');
    // The token request is what fails, but it is this call's: one name in the retries and the error.
    expect(logged.map((l) => l.operation)).toEqual(['GET /jobs/{id}', 'GET /jobs/{id}']);
    expect(err.message).toMatch(/^GET \/jobs\/\{id\} on the old tenant/);
  });
});

describe('job creation is never repeated blindly', () => {
  const users = Buffer.from(JSON.stringify([{ email: 'a@example.com' }]));

  it('sends upsert=false, send_completion_email=false and the external id', async () => {
    let fields: Record<string, string> = {};
    const t = await start({
      'POST /jobs/users-imports': (req, reply) => {
        fields = formFields(req.body as Buffer);
        return reply.code(202).send(JOB({ external_id: fields.external_id }));
      },
    });
    const job = await createTenantClient(t.config, { label: 'new', retry }).createImportJob({
      connectionId: 'con_abcdefghijklmnop',
      users,
      externalId: 'run1-0',
    });
    expect(job.external_id).toBe('run1-0');
    expect(fields).toMatchObject({
      connection_id: 'con_abcdefghijklmnop',
      upsert: 'false',
      send_completion_email: 'false',
      external_id: 'run1-0',
    });
    expect(JSON.parse(fields.users!)).toEqual([{ email: 'a@example.com' }]);
  });

  it('repeats a create refused by the rate limit (nothing was created)', async () => {
    const t = await start({
      'POST /jobs/users-imports': (_req, reply, n) =>
        n === 0
          ? reply.code(429).header('x-ratelimit-reset', '0').send(errorBody(429, 'Too many requests.'))
          : reply.code(202).send(JOB()),
    });
    await expect(
      createTenantClient(t.config, { label: 'new', retry }).createImportJob({ connectionId: 'con_x', users }),
    ).resolves.toMatchObject({ id: JOB().id });
    expect(t.calls).toHaveLength(2);
  });

  it('leaves "2 active import users jobs" to the caller as import_slots_busy', async () => {
    const t = await start({
      'POST /jobs/users-imports': (_req, reply) =>
        reply.code(429).send({
          statusCode: 429,
          error: 'Too Many Requests',
          message:
            'There are 2 active import users jobs, please wait until some of them are finished and try again',
        }),
    });
    const err = await failure(
      createTenantClient(t.config, { label: 'new', retry }).createImportJob({ connectionId: 'con_x', users }),
    );
    expect(err.code).toBe('import_slots_busy');
    expect(err.retryAfterMs).toBeUndefined();
    expect(t.calls).toHaveLength(1);
  });

  it.each([
    ['a 5xx', (reply: Parameters<Handler>[1]) => reply.code(503).send(errorBody(503, 'unavailable'))],
    ['a dropped connection', (reply: Parameters<Handler>[1]) => drop(reply)],
  ])('turns %s on creation into outcome_unknown, sent once', async (_name, answer) => {
    const t = await start({ 'POST /jobs/users-imports': (_req, reply) => answer(reply) });
    const err = await failure(
      createTenantClient(t.config, { label: 'new', retry }).createImportJob({
        connectionId: 'con_x',
        users,
        externalId: 'run1-3',
      }),
    );
    expect(err.code).toBe('outcome_unknown');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('DUPLICATED_USER');
    expect(t.calls).toHaveLength(1);
  });

  it('creates an export job asking for json and the given fields', async () => {
    let body: Record<string, unknown> = {};
    const t = await start({
      'POST /jobs/users-exports': (req) => {
        body = req.body as Record<string, unknown>;
        return { ...JOB({ type: 'users_export' }), ...body };
      },
    });
    await createTenantClient(t.config, { label: 'old', retry }).createExportJob({
      connectionId: 'con_abcdefghijklmnop',
      fields: [{ name: 'user_id' }, { name: 'app_metadata' }],
    });
    expect(body).toEqual({
      connection_id: 'con_abcdefghijklmnop',
      format: 'json',
      fields: [{ name: 'user_id' }, { name: 'app_metadata' }],
    });
  });

  it('says when the plan does not offer bulk export', async () => {
    const t = await start({
      'POST /jobs/users-exports': (_req, reply) =>
        reply
          .code(403)
          .send(errorBody(403, 'This feature is not available on your plan', 'operation_not_supported')),
    });
    const err = await failure(
      createTenantClient(t.config, { label: 'old', retry }).createExportJob({
        fields: [{ name: 'user_id' }],
      }),
    );
    expect(err.code).toBe('not_available');
    expect(err.message).toContain('does not offer bulk user export');
  });
});

describe('download', () => {
  it('streams the file and calls an expired signature link_expired', async () => {
    const t = await start({
      'GET /files/:name': (req, reply) => {
        const q = req.query as { sig?: string };
        if (q.sig !== 'good')
          return reply
            .code(403)
            .send('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
        return reply.header('content-type', 'application/gzip').send(Buffer.from('gzip-bytes'));
      },
    });
    const client = createTenantClient(t.config, { label: 'old', retry });
    const chunks: Buffer[] = [];
    for await (const c of await client.download(`${t.url}/files/x.json.gz?sig=good`))
      chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('gzip-bytes');
    const err = await failure(client.download(`${t.url}/files/x.json.gz?sig=old`));
    expect(err.code).toBe('link_expired');
    expect(t.tokensSeen.every((h) => h === '')).toBe(true);
  });
});
