/** Rate limits, fault injection (programmatic and over HTTP), whole-job failures, stats. */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';
import { Mgmt, tokenRequest } from './helpers.js';

let sim: Simulator | undefined;

async function start(options: SimOptions = {}): Promise<{ sim: Simulator; api: Mgmt }> {
  sim = await startSimulator(options);
  return { sim, api: await Mgmt.connect(sim, 'new') };
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('rate limits', () => {
  it('answer 429 with Auth0 body and headers once the bucket is empty, per tenant', async () => {
    const { sim, api } = await start({ rateLimit: { capacity: 3, refillPerSecond: 0.5 } });
    const answers = [];
    const before = Date.now();
    for (let i = 0; i < 4; i++) answers.push(await api.call('GET', '/connections'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers.map((a) => a.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
    const limited = answers[3]!;
    expect(limited.headers.get('x-ratelimit-limit')).toBe('3');
    // When a token is back (one per 2 s): after the first call, and within 2 s of the last.
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThan(before / 1000);
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 2);
    expect(limited.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message:
        'Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.',
      errorCode: 'too_many_requests',
    });
    expect(sim.tenant('new').stats.rateLimited).toBe(1);
    const other = await Mgmt.connect(sim, 'old');
    expect((await other.call('GET', '/connections')).status).toBe(200);
  });
});

describe('the token endpoint bucket', () => {
  it('answers 429 too_many_requests with x-ratelimit headers once empty', async () => {
    const { sim } = await start({ authRateLimit: { capacity: 2, refillPerSecond: 0.5 } });
    const t = sim.tenants.old;
    const body = {
      grant_type: 'client_credentials',
      client_id: t.clientId,
      client_secret: t.clientSecret,
      audience: `https://${t.domain}/api/v2/`,
    };
    const answers = [await tokenRequest(t, body), await tokenRequest(t, body), await tokenRequest(t, body)];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers[2]!.body.error).toBe('too_many_requests');
    expect(answers[2]!.headers.get('x-ratelimit-limit')).toBe('2');
    expect(answers[2]!.headers.get('x-ratelimit-remaining')).toBe('0');
  });
});

describe('faults', () => {
  it('answer 5xx, 429 storms, slow answers and dropped connections, then stop', async () => {
    const { sim, api } = await start();
    sim.faults.add({ kind: 'error', status: 503, tenant: 'new', path: '/api/v2/connections', times: 2 });
    expect((await api.call('GET', '/connections')).status).toBe(503);
    expect((await api.call('GET', '/connections')).status).toBe(503);
    expect((await api.call('GET', '/connections')).status).toBe(200);

    sim.faults.add({ kind: 'rate-limit', tenant: 'new', times: 3, resetSeconds: 7 });
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      const a = await api.call('GET', '/connections');
      expect(a.status).toBe(429);
      expect(Number(a.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(
        Math.floor(before / 1000) + 7,
      );
    }
    expect((await api.call('GET', '/connections')).status).toBe(200);

    sim.faults.add({ kind: 'delay', delayMs: 300, path: '/api/v2/connections' });
    const t0 = Date.now();
    expect((await api.call('GET', '/connections')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);

    sim.faults.add({ kind: 'drop', method: 'GET', path: '/api/v2/connections' });
    await expect(fetch(`${api.tenant.baseUrl}/api/v2/connections`)).rejects.toThrow();
    expect((await api.call('GET', '/connections')).status).toBe(200);
    expect(sim.tenant('new').stats.faultsInjected).toBe(7);
  });

  it('skip the first matching requests and run until removed with times 0', async () => {
    const { sim, api } = await start();
    const id = sim.faults.add({ kind: 'error', path: '/api/v2/connections', skip: 1, times: 0 });
    expect((await api.call('GET', '/connections')).status).toBe(200);
    expect((await api.call('GET', '/connections')).status).toBe(500);
    expect((await api.call('GET', '/connections')).status).toBe(500);
    expect(sim.faults.remove(id)).toBe(true);
    expect((await api.call('GET', '/connections')).status).toBe(200);
  });

  it('hit /oauth/token with the Authentication API error shape', async () => {
    const { sim } = await start();
    sim.faults.add({ kind: 'rate-limit', path: '/oauth/token' });
    const t = sim.tenants.old;
    const a = await tokenRequest(t, {
      grant_type: 'client_credentials',
      client_id: t.clientId,
      client_secret: t.clientSecret,
      audience: `https://${t.domain}/api/v2/`,
    });
    expect(a.status).toBe(429);
    expect(a.body.error).toBe('too_many_requests');
  });

  it('fail a job as a whole with or without summary; /errors answers 204 or the job', async () => {
    const { sim, api } = await start();
    sim.faults.failJob({ tenant: 'new' });
    const bare = await api.importUsers([{ email: 'a@example.com' }, { email: 'b@example.com' }]);
    expect(bare.status).toBe('failed');
    expect(bare.summary).toBeUndefined();
    expect((await api.call('GET', `/jobs/${bare.id}/errors`)).status).toBe(204);

    sim.faults.failJob({
      tenant: 'new',
      summary: true,
      statusDetails: 'Internal error while processing the job',
    });
    const withSummary = await api.importUsers([{ email: 'a@example.com' }, { email: 'b@example.com' }]);
    expect(withSummary).toMatchObject({
      status: 'failed',
      summary: { failed: 2, inserted: 0, updated: 0, total: 2 },
      status_details: 'Internal error while processing the job',
    });
    const errors = await api.call('GET', `/jobs/${withSummary.id}/errors`);
    expect(errors.status).toBe(200);
    expect(errors.body).toMatchObject({
      id: withSummary.id,
      status: 'failed',
      status_details: 'Internal error while processing the job',
    });
    expect(sim.tenant('new').users.findByEmail('a@example.com')).toEqual([]);
  });

  it('expire export links early', async () => {
    const { sim } = await start({ seedOld: 5 });
    const old = await Mgmt.connect(sim, 'old');
    const created = await old.call('POST', '/jobs/users-exports', {
      json: { format: 'json', fields: [{ name: 'user_id' }] },
    });
    const done = await old.waitForJob(created.body.id);
    expect(sim.faults.expireExportLinks('old')).toBe(1);
    expect((await fetch(done.location)).status).toBe(403);
    const fresh = (await old.call('GET', `/jobs/${done.id}`)).body.location;
    expect((await fetch(fresh)).status).toBe(200);
  });

  it('start from SimOptions.faults', async () => {
    const { api } = await start({
      faults: [{ kind: 'error', status: 502, tenant: 'new', path: '/api/v2/jobs' }],
    });
    expect((await api.call('GET', '/jobs/job_0000000000000000')).status).toBe(502);
  });
});

describe('control endpoints under /__sim', () => {
  it('add, list and clear faults, fail jobs and expire links over HTTP; serve stats', async () => {
    const { sim, api } = await start();
    const post = (path: string, body: unknown) =>
      fetch(`${sim.url}/__sim${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const added = await post('/faults', {
      kind: 'error',
      status: 500,
      tenant: 'new',
      path: '/api/v2/users-by-email',
    });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: string };
    const list = (await (await fetch(`${sim.url}/__sim/faults`)).json()) as { faults: Array<{ id: string }> };
    expect(list.faults.map((f) => f.id)).toEqual([id]);
    expect((await api.call('GET', '/users-by-email?email=a@example.com')).status).toBe(500);
    expect((await post('/faults', { kind: 'explode' })).status).toBe(400);
    expect((await fetch(`${sim.url}/__sim/faults`, { method: 'DELETE' })).status).toBe(204);
    expect(sim.faults.list()).toEqual([]);

    expect((await post('/jobs/fail', { tenant: 'new', statusDetails: 'boom' })).status).toBe(204);
    const failed = await api.importUsers([{ email: 'z@example.com' }]);
    expect(failed).toMatchObject({ status: 'failed', status_details: 'boom' });
    expect((await post('/jobs/fail', {})).status).toBe(400);

    expect(((await (await post('/exports/expire', {})).json()) as { expired: number }).expired).toBe(0);

    const ok = await api.importUsers([{ email: 'y@example.com' }]);
    expect(ok.status).toBe('completed');
    const stats = (await (await fetch(`${sim.url}/__sim/stats?ids=true`)).json()) as {
      tenants: Record<
        string,
        {
          importJobsCreated: number;
          maxActiveImportJobs: number;
          importedUsers: number;
          importedUserIds: string[];
        }
      >;
    };
    expect(stats.tenants.new).toMatchObject({
      importJobsCreated: 2,
      maxActiveImportJobs: 1,
      importedUsers: 1,
    });
    expect(stats.tenants.new!.importedUserIds).toHaveLength(1);
  });
});

describe('jobs take time by the timing profile', () => {
  it('stay pending for pendingMs, then process at the configured users per second', async () => {
    const { sim, api } = await start({ timing: { pendingMs: 150, importUsersPerSecond: 100, tickMs: 10 } });
    const users = Array.from({ length: 30 }, (_, i) => ({ email: `t${i}@example.com` }));
    const t0 = Date.now();
    const created = await api.call('POST', '/jobs/users-imports', { form: api.importForm(users) });
    await once(sim.tenant('new').events, 'job-started');
    const started = Date.now() - t0;
    await sim.tenant('new').jobEnded(created.body.id);
    const total = Date.now() - t0;
    // Never sooner than configured (a slow machine only makes it later).
    expect(started).toBeGreaterThanOrEqual(140);
    // 30 users at 100 users/s: at least about 300 ms of processing after the pending time.
    expect(total - started).toBeGreaterThanOrEqual(250);
  });
});
