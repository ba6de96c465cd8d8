/** users-imports jobs as Auth0 documents them; every answer goes through the OAS check. */
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DB_CONNECTION, startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';
import { Mgmt, managementToken, tokenRequest } from './helpers.js';

let sim: Simulator | undefined;

async function start(options: SimOptions = {}): Promise<{ sim: Simulator; api: Mgmt }> {
  sim = await startSimulator(options);
  return { sim, api: await Mgmt.connect(sim, 'new') };
}

afterEach(async () => {
  vi.useRealTimers();
  await sim?.close();
  sim = undefined;
});

describe('POST /jobs/users-imports', () => {
  it('answers 202 with the pending job, external_id only when given', async () => {
    const { api } = await start();
    const a = await api.call('POST', '/jobs/users-imports', {
      form: api.importForm([{ email: 'a@example.com' }], {
        external_id: 'run-1-0',
        upsert: 'false',
        send_completion_email: 'false',
      }),
    });
    expect(a.status).toBe(202);
    expect(a.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Object.keys(a.body).sort()).toEqual([
      'connection',
      'connection_id',
      'created_at',
      'external_id',
      'id',
      'status',
      'type',
    ]);
    expect(a.body).toMatchObject({
      type: 'users_import',
      status: 'pending',
      connection: DB_CONNECTION,
      external_id: 'run-1-0',
    });
    expect(a.body.id).toMatch(/^job_[A-Za-z0-9]{16}$/);
    const b = await api.call('POST', '/jobs/users-imports', {
      form: api.importForm([{ email: 'b@example.com' }]),
    });
    expect(b.body.external_id).toBeUndefined();
    expect(Object.hasOwn(b.body, 'external_id')).toBe(false);
  });

  it('refuses bad requests with the OAS messages', async () => {
    const { api } = await start();
    const post = (form: FormData) => api.call('POST', '/jobs/users-imports', { form });
    const noUsers = new FormData();
    noUsers.append('connection_id', api.tenant.connectionId);
    expect((await post(noUsers)).body.message).toBe("Must provide 'users' file as multipart part.");
    const noConn = new FormData();
    noConn.append('users', new Blob(['[]']), 'u.json');
    expect((await post(noConn)).body.message).toBe("Must provide 'connection_id' as multipart part.");
    expect((await post(api.importForm('', {}))).body.message).toBe('Users file must not be empty.');
    expect((await post(api.importForm('[]', { connection_id: 'con_x' }))).body.message).toBe(
      "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.",
    );
    expect((await post(api.importForm('[]', { connection_id: 'con_0000000000000000' }))).body.message).toBe(
      'The connection does not exist.',
    );
    const social = sim!.tenant('new').connectionByName('google-oauth2')!;
    expect((await post(api.importForm('[]', { connection_id: social.id }))).body.message).toBe(
      'Connection must be a database connection.',
    );
    const badBool = await post(api.importForm('[]', { upsert: 'yes' }));
    expect(badBool.status).toBe(400);
    const json = await api.call('POST', '/jobs/users-imports', { json: { users: [] } });
    expect(json.status).toBe(400);
  });

  it('answers 413 above 512000 bytes', async () => {
    const { api } = await start();
    const big = `[${JSON.stringify({ email: 'x@example.com', user_metadata: { pad: 'x'.repeat(520_000) } })}]`;
    const a = await api.call('POST', '/jobs/users-imports', { form: api.importForm(big) });
    expect(a.status).toBe(413);
    expect(a.body.message).toBe('Payload content length greater than maximum allowed: 512000');
    const fits = `[${JSON.stringify({ email: 'x@example.com', user_metadata: { pad: 'x'.repeat(500_000) } })}]`;
    expect((await api.call('POST', '/jobs/users-imports', { form: api.importForm(fits) })).status).toBe(202);
  });

  it('reads an oversized file to its end before answering 413, so fetch never meets EPIPE', async () => {
    const { api } = await start();
    const big = `[${JSON.stringify({ email: 'x@example.com', user_metadata: { pad: 'x'.repeat(600_000) } })}]`;
    const statuses: Array<number | string> = [];
    for (let i = 0; i < 20; i++) {
      try {
        const a = await api.call('POST', '/jobs/users-imports', { form: api.importForm(big) });
        statuses.push(a.status);
      } catch (err) {
        statuses.push(String((err as Error).cause ?? err));
      }
    }
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 413));
  });

  it('does not answer an oversized import until the whole body has arrived', async () => {
    const { sim } = await start();
    const token = await managementToken(sim.tenants.new);
    const url = new URL(`${sim.tenants.new.baseUrl}/api/v2/jobs/users-imports`);
    const chunk = Buffer.alloc(100_000, 0x78);
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'multipart/form-data; boundary=b',
        'content-length': String(chunk.length * 6),
      },
    });
    let answered = false;
    const answer = once(req, 'response').then(([res]) => {
      answered = true;
      return res as IncomingMessage;
    });
    req.write(chunk);
    // Before the fix the simulator answered from the content-length alone, at once.
    await new Promise((r) => setTimeout(r, 150));
    expect(answered).toBe(false);
    for (let i = 1; i < 6; i++) req.write(chunk);
    req.end();
    const res = await answer;
    let text = '';
    for await (const part of res) text += String(part);
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(text)).toEqual({
      statusCode: 413,
      error: 'Request Entity Too Large',
      message: 'Payload content length greater than maximum allowed: 512000',
    });
  });

  it('answers 429 while 2 import jobs are active, and counts the slots', async () => {
    const { sim, api } = await start({ timing: { pendingMs: 60_000 } });
    for (const n of [1, 2]) {
      expect(
        (
          await api.call('POST', '/jobs/users-imports', {
            form: api.importForm([{ email: `${n}@example.com` }]),
          })
        ).status,
      ).toBe(202);
    }
    const third = await api.call('POST', '/jobs/users-imports', {
      form: api.importForm([{ email: '3@example.com' }]),
    });
    expect(third.status).toBe(429);
    expect(third.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message:
        'There are 2 active import users jobs, please wait until some of them are finished and try again',
    });
    expect(sim.tenant('new').stats).toMatchObject({
      importJobsCreated: 2,
      importJobsRejected: 1,
      maxActiveImportJobs: 2,
      activeImportJobs: 2,
    });
  });
});

describe('processing', () => {
  it('keeps users invisible until the job processes them, with progress while processing', async () => {
    const { sim, api } = await start({ timing: { pendingMs: 0, importUsersPerSecond: 40, tickMs: 20 } });
    const users = Array.from({ length: 20 }, (_, i) => ({ email: `p${i}@example.com` }));
    const started = once(sim.tenant('new').events, 'job-started');
    const created = await api.call('POST', '/jobs/users-imports', { form: api.importForm(users) });
    expect((await api.call('GET', '/users-by-email?email=p19@example.com')).body).toEqual([]);
    await started;
    const during = await api.call('GET', `/jobs/${created.body.id}`);
    expect(during.body.status).toBe('processing');
    expect(during.body.percentage_done).toBeLessThan(100);
    expect(during.body.time_left_seconds).toBeGreaterThan(0);
    const done = await api.waitForJob(created.body.id);
    expect(done).toMatchObject({
      status: 'completed',
      summary: { inserted: 20, updated: 0, failed: 0, total: 20 },
    });
    expect((await api.call('GET', '/users-by-email?email=p19@example.com')).body).toHaveLength(1);
  });

  it('imports users with auth0| ids, email_verified false unless true, and 204 from /errors', async () => {
    const { sim, api } = await start();
    const job = await api.importUsers([
      { email: 'Keep.Case@Example.com', user_id: 'abc123', email_verified: true, given_name: 'Zoë' },
      { email: 'plain@example.com' },
    ]);
    expect(job.summary).toEqual({ failed: 0, updated: 0, inserted: 2, total: 2 });
    const state = sim.tenant('new');
    expect(state.user('auth0|abc123')).toMatchObject({
      email: 'keep.case@example.com',
      email_verified: true,
      given_name: 'Zoë',
    });
    const plain = state.users.findByEmail('plain@example.com')[0]!;
    expect(plain.user_id).toMatch(/^auth0\|[0-9a-f]{24}$/);
    expect(plain.email_verified).toBe(false);
    const errors = await api.call('GET', `/jobs/${job.id}/errors`);
    expect(errors.status).toBe(204);
    expect(state.stats.importedUserIds).toEqual(['auth0|abc123', plain.user_id]);
  });

  it('fails invalid and duplicate users alone, with Auth0 codes and hashes redacted', async () => {
    const { api } = await start();
    const job = await api.importUsers([
      {
        email: 'ok@example.com',
        password_hash: '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG',
      },
      {
        email: 'not-an-email',
        custom_password_hash: { algorithm: 'md5', hash: { value: 'abcd', encoding: 'hex' } },
      },
      { email: 'OK@example.com' },
      { name: 'no email' },
      { email: 'extra@example.com', created_at: '2020-01-01T00:00:00.000Z' },
      { email: 'enum@example.com', custom_password_hash: { algorithm: 'rot13', hash: { value: 'x' } } },
      { email: 'mfa@example.com', mfa_factors: [] },
      { email: 'reserved@example.com', app_metadata: { clientID: 'x' } },
      { email: 'type@example.com', blocked: 'no' },
      { email: 'totp@example.com', mfa_factors: [{ totp: { secret: 'lowercase' } }] },
    ]);
    expect(job).toMatchObject({
      status: 'completed',
      summary: { inserted: 1, failed: 9, total: 10, updated: 0 },
    });
    const errors = await api.call('GET', `/jobs/${job.id}/errors`);
    expect(errors.status).toBe(200);
    expect(errors.headers.get('content-type')).toBe('application/json');
    const codes = errors.body.map((e: { errors: Array<{ code: string }> }) => e.errors[0]!.code);
    expect(codes).toEqual([
      'FORMAT',
      'DUPLICATED_USER',
      'OBJECT_REQUIRED',
      'NOT_PASSED',
      'ENUM_MISMATCH',
      'MFA_FACTORS_FAILED',
      'NOT_PASSED',
      'INVALID_TYPE',
      'MFA_FACTORS_FAILED',
    ]);
    expect(errors.body[0].user.custom_password_hash.hash.value).toBe('*****');
    expect(errors.body[1].errors[0].message).toBe('A user with this email was already provided.');
    expect(errors.body[2].errors[0]).toMatchObject({
      message: 'Missing required property: email',
      path: 'email',
    });
  });

  it('fails a user nested 5,000 levels deep alone, and keeps answering', async () => {
    const { sim, api } = await start();
    const deep = `${'{"a":'.repeat(4_999)}{}${'}'.repeat(4_999)}`;
    const file = `[{"email":"before@example.com"},{"email":"deep@example.com","user_id":"deep1","user_metadata":${deep}},{"email":"after@example.com"}]`;
    const job = await api.importUsers(file);
    expect(job).toMatchObject({ status: 'completed', summary: { inserted: 2, failed: 1, total: 3 } });
    const errors = await api.call('GET', `/jobs/${job.id}/errors`);
    expect(errors.status).toBe(200);
    expect(errors.body).toEqual([
      {
        user: { email: 'deep@example.com', user_id: 'deep1' },
        errors: [
          {
            code: 'NOT_PASSED',
            message: 'Objects nest more than 100 levels deep',
            path: 'user_metadata',
          },
        ],
      },
    ]);
    expect(sim.tenant('new').users.findByEmail('after@example.com')).toHaveLength(1);
    expect((await api.call('GET', '/jobs/' + job.id)).status).toBe(200);
  });

  it("refuses metadata field names with '.' or '$' at any depth, and profiles over the extended allowance", async () => {
    const { sim, api } = await start();
    const job = await api.importUsers([
      { email: 'top@example.com', user_metadata: { 'a.b': 1 } },
      { email: 'nested@example.com', app_metadata: { plan: { $inc: 1 } } },
      { email: 'in-array@example.com', user_metadata: { list: [{ 'x.y': 1 }] } },
      { email: 'value@example.com', user_metadata: { price: '$5.00', host: 'a.example.com' } },
      // Over the 10 KB limit but within the extended allowance: stored (with a warning in tenant logs).
      { email: 'big@example.com', user_metadata: { blob: 'x'.repeat(50_000) } },
      { email: 'huge@example.com', user_metadata: { blob: 'x'.repeat(110_000) } },
    ]);
    expect(job).toMatchObject({ summary: { inserted: 2, failed: 4, total: 6 } });
    const errors = await api.call('GET', `/jobs/${job.id}/errors`);
    expect(
      errors.body.map((e: { user: { email: string }; errors: Array<{ code: string; path?: string }> }) => [
        e.user.email,
        e.errors[0]!.code,
        e.errors[0]!.path,
      ]),
    ).toEqual([
      ['top@example.com', 'NOT_PASSED', 'user_metadata.a.b'],
      ['nested@example.com', 'NOT_PASSED', 'app_metadata.plan.$inc'],
      ['in-array@example.com', 'NOT_PASSED', 'user_metadata.list[0].x.y'],
      ['huge@example.com', 'PROFILE_SIZE_EXCEEDED', undefined],
    ]);
    expect(sim.tenant('new').users.findByEmail('big@example.com')).toHaveLength(1);
  });

  it('fails existing users without upsert; with upsert updates upsertable fields and replaces metadata', async () => {
    const { sim, api } = await start();
    await api.importUsers([
      {
        email: 'u@example.com',
        user_id: 'u1',
        email_verified: true,
        name: 'Old',
        username: 'olduser',
        user_metadata: { a: 1, b: 2 },
        app_metadata: { plan: 'x' },
      },
    ]);
    const dup = await api.importUsers([{ email: 'u@example.com', name: 'New' }]);
    expect(dup.summary).toMatchObject({ failed: 1, inserted: 0, updated: 0 });
    const errs = await api.call('GET', `/jobs/${dup.id}/errors`);
    expect(errs.body[0].errors[0]).toEqual({
      code: 'DUPLICATED_USER',
      message: 'The user already exist and upsert parameter is false',
    });
    const byId = await api.importUsers([{ email: 'other@example.com', user_id: 'u1' }]);
    expect(byId.summary.failed).toBe(1);

    const up = await api.importUsers(
      [{ email: 'u@example.com', name: 'New', username: 'changed', blocked: true, user_metadata: { c: 3 } }],
      { upsert: 'true' },
    );
    expect(up.summary).toMatchObject({ updated: 1, inserted: 0, failed: 0 });
    const u = sim.tenant('new').user('auth0|u1')!;
    expect(u).toMatchObject({
      name: 'New',
      username: 'olduser',
      user_metadata: { c: 3 },
      app_metadata: { plan: 'x' },
      email_verified: false,
    });
    expect(u.blocked).toBeUndefined();
  });

  it('stores password_hash so the user logs in with the original password, and accepts custom_password_hash', async () => {
    const { sim, api } = await start();
    const hash = await bcrypt.hash('Original-Pass-1', 4);
    await api.importUsers([
      { email: 'h@example.com', password_hash: hash },
      {
        email: 'velma@example.com',
        custom_password_hash: {
          algorithm: 'md5',
          hash: { value: '5f4dcc3b5aa765d61d8327deb882cf99', encoding: 'hex' },
        },
      },
    ]);
    const t = sim.tenants.new;
    const login = (username: string, password: string) =>
      tokenRequest(t, {
        grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
        realm: t.connection,
        client_id: t.clientId,
        client_secret: t.clientSecret,
        username,
        password,
      });
    expect((await login('h@example.com', 'Original-Pass-1')).status).toBe(200);
    expect((await login('h@example.com', 'wrong')).status).toBe(403);
    expect((await login('velma@example.com', 'password')).status).toBe(200);
    // After a login Auth0 keeps a bcrypt hash instead of the imported one.
    expect(
      sim.tenant('new').rawUser(sim.tenant('new').users.findByEmail('velma@example.com')[0]!.user_id)!
        .passwordHash,
    ).toMatch(/^\$2/);
  });

  it('fails the whole job when the file is not a JSON array, /errors giving the job', async () => {
    const { api } = await start();
    for (const file of ['{"email":"a@example.com"}', 'not json']) {
      const job = await api.importUsers(file);
      expect(job.status).toBe('failed');
      expect(job.summary).toBeUndefined();
      const errors = await api.call('GET', `/jobs/${job.id}/errors`);
      expect(errors.status).toBe(200);
      expect(errors.body).toMatchObject({ id: job.id, type: 'users_import', status: 'failed' });
      expect(typeof errors.body.status_details).toBe('string');
    }
  });

  it('reports a completed import job as expired 2 hours after its creation', async () => {
    const { sim, api } = await start();
    const job = await api.importUsers([{ email: 'e@example.com' }]);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 3_600_000 + 1000 });
    const later = await Mgmt.connect(sim, 'new');
    expect((await later.call('GET', `/jobs/${job.id}`)).body).toMatchObject({
      status: 'expired',
      summary: job.summary,
    });
  });

  it('forgets jobs after the retention period (24 h by default)', async () => {
    const { api } = await start();
    const job = await api.importUsers([{ email: 'r@example.com' }]);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 86_400_000 + 1000 });
    // The token has expired by then too (tokens live 24 h).
    expect((await api.call('GET', `/jobs/${job.id}`)).status).toBe(401);
    const later = await Mgmt.connect(sim!, 'new');
    expect((await later.call('GET', `/jobs/${job.id}`)).status).toBe(404);
    expect((await later.call('GET', `/jobs/${job.id}/errors`)).status).toBe(404);
  });

  it('answers 400 for a malformed job id and 404 for an unknown one', async () => {
    const { api } = await start();
    expect((await api.call('GET', '/jobs/nope')).status).toBe(400);
    expect((await api.call('GET', '/jobs/job_0000000000000000')).status).toBe(404);
  });
});
