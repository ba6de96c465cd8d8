/**
 * exportUsers and the export command against the tenant simulator: what ends up in the file,
 * and how the client rides out the tenant's limits and failures.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTenantClient, type RetryOptions } from '../../src/auth0/index.js';
import { Secret, loadConfig, toTenantConfig, withTenants } from '../../src/config.js';
import { exportCommand } from '../../src/export.js';
import { exportUsers, type ExportProgress } from '../../src/jobs/users-export.js';
import { EXPORT_FIELDS } from '../../src/pipeline/export-fields.js';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { captureLogger } from '../jobs/helpers.js';

const SEEDED = 240;
const retry: RetryOptions = { baseDelayMs: 5, maxDelayMs: 40, rateLimitFallbackMs: 5 };
let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: SEEDED, timing: 'fast' });
  dir = await mkdtemp(join(tmpdir(), 'export-sim-'));
});

afterEach(() => {
  sim.faults.clear();
});

afterAll(async () => {
  await sim?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

let n = 0;
const out = () => join(dir, `export-${++n}.ndjson.gz`);
const oldClient = (retryOptions: RetryOptions = retry) =>
  createTenantClient(toTenantConfig(sim.tenants.old), { label: 'old', retry: retryOptions });
const run = (extra: Partial<Parameters<typeof exportUsers>[1]> = {}, client = oldClient()) =>
  exportUsers(client, {
    connection: DB_CONNECTION,
    out: out(),
    pollIntervalMs: 5,
    maxPollIntervalMs: 20,
    ...extra,
  });

async function usersIn(file: string): Promise<Array<Record<string, unknown>>> {
  const text = gunzipSync(await readFile(file)).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function tenantUserIds(): string[] {
  return [...sim.tenant('old').listUsers(DB_CONNECTION)].map((u) => String(u.user_id)).sort();
}

async function expectWholeExport(result: { file: string; users: number }): Promise<void> {
  const users = await usersIn(result.file);
  expect(result.users).toBe(users.length);
  expect(users.map((u) => String(u.user_id)).sort()).toEqual(tenantUserIds());
}

describe('export against the simulator', () => {
  it('saves every user of the connection, with the fields asked for, 0600', async () => {
    const expected = tenantUserIds();
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThanOrEqual(SEEDED);
    const result = await run();
    await expectWholeExport(result);
    const users = await usersIn(result.file);
    for (const u of users) {
      expect(u.identities).toEqual([
        expect.objectContaining({ connection: DB_CONNECTION, provider: 'auth0' }),
      ]);
    }
    expect(users.filter((u) => typeof u.email === 'string').length).toBeGreaterThan(users.length / 2);
    const keys = new Set(users.flatMap((u) => Object.keys(u)));
    for (const k of keys) expect(EXPORT_FIELDS.map((f) => f.name)).toContain(k);
    expect((await stat(result.file)).mode & 0o777).toBe(0o600);
  });

  it('waits for the rate limit to reset as x-ratelimit-reset says', async () => {
    sim.faults.add({
      kind: 'rate-limit',
      tenant: 'old',
      method: 'GET',
      path: '/api/v2/connections',
      resetSeconds: 1,
    });
    const log = captureLogger('warn');
    const client = createTenantClient(toTenantConfig(sim.tenants.old), {
      label: 'old',
      retry: { ...retry, maxDelayMs: 5000, jitter: 0 },
      logger: log.logger,
    });
    const started = Date.now();
    const connection = await client.getConnectionByName(DB_CONNECTION);
    const elapsed = Date.now() - started;
    expect(connection.id).toBe(sim.tenants.old.connectionId);
    const waits = log.lines.filter((l) => l.waitMs !== undefined).map((l) => Number(l.waitMs));
    // The fault answers reset = ceil(now) + 1 s: one wait until then, at most 2 s (less when the
    // answer took long to arrive), and the retry comes no sooner than 1 s after the request.
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeLessThanOrEqual(2000);
    expect(elapsed).toBeGreaterThanOrEqual(950);
  });

  it('ends in a whole file through a 429 storm', async () => {
    sim.faults.add({ kind: 'rate-limit', tenant: 'old', path: '/api/v2', times: 12, resetSeconds: 0 });
    const before = sim.tenant('old').stats.faultsInjected;
    await expectWholeExport(await run());
    expect(sim.tenant('old').stats.faultsInjected - before).toBe(12);
  });

  it("ends in a whole file under the tenant's own token bucket", async () => {
    const tight = await startSimulator({
      seedOld: 60,
      timing: 'fast',
      // One token a second: the export's back-to-back calls (the connection, the job, its polls)
      // meet a 429 however slowly a loaded machine runs them.
      rateLimit: { capacity: 1, refillPerSecond: 1 },
    });
    try {
      const client = createTenantClient(toTenantConfig(tight.tenants.old), {
        label: 'old',
        retry: { ...retry, maxDelayMs: 100 },
      });
      const result = await exportUsers(client, {
        connection: DB_CONNECTION,
        out: out(),
        pollIntervalMs: 1,
        maxPollIntervalMs: 2,
      });
      const ids = [...tight.tenant('old').listUsers(DB_CONNECTION)].map((u) => String(u.user_id)).sort();
      expect((await usersIn(result.file)).map((u) => String(u.user_id)).sort()).toEqual(ids);
      expect(tight.tenant('old').stats.rateLimited).toBeGreaterThan(0);
    } finally {
      await tight.close();
    }
  });

  it('ends in a whole file through 5xx answers, on polls and on the job creation', async () => {
    sim.faults.add({
      kind: 'error',
      status: 503,
      tenant: 'old',
      method: 'GET',
      path: '/api/v2/jobs/',
      times: 3,
    });
    sim.faults.add({
      kind: 'error',
      status: 500,
      tenant: 'old',
      method: 'POST',
      path: '/api/v2/jobs/users-exports',
      times: 1,
    });
    sim.faults.add({ kind: 'error', status: 502, tenant: 'old', path: '/__exports', times: 2 });
    const created = sim.tenant('old').stats.exportJobsCreated;
    await expectWholeExport(await run());
    expect(sim.faults.list()).toEqual([]);
    expect(sim.tenant('old').stats.exportJobsCreated - created).toBe(1);
  });

  it('ends in a whole file through dropped connections', async () => {
    sim.faults.add({ kind: 'drop', tenant: 'old', method: 'GET', path: '/api/v2/jobs/', times: 2 });
    sim.faults.add({ kind: 'drop', tenant: 'old', path: '/__exports', times: 2 });
    sim.faults.add({ kind: 'drop', tenant: 'old', path: '/oauth/token', times: 1 });
    await expectWholeExport(await run());
    expect(sim.faults.list()).toEqual([]);
  });

  it('downloads again when the transfer of the file breaks off half way', async () => {
    const downloadsBefore = sim.tenant('old').stats.exportDownloads;
    // The first download gets the headers and 2,000 bytes of the gzip; the second, 0 bytes.
    sim.faults.add({ kind: 'cut', tenant: 'old', path: '/__exports', afterBytes: 2000, times: 1 });
    sim.faults.add({ kind: 'cut', tenant: 'old', path: '/__exports', afterBytes: 0, times: 1 });
    // And a poll whose JSON answer breaks off: read again.
    sim.faults.add({
      kind: 'cut',
      tenant: 'old',
      method: 'GET',
      path: '/api/v2/jobs/',
      afterBytes: 10,
      times: 1,
    });
    await expectWholeExport(await run());
    expect(sim.tenant('old').stats.exportDownloads - downloadsBefore).toBe(3);
    expect(sim.faults.list()).toEqual([]);
  });

  it('fetches a fresh link when the first one has expired', async () => {
    const downloadsBefore = sim.tenant('old').stats.exportDownloads;
    let expired = 0;
    const onProgress = (p: ExportProgress): void => {
      if (p.phase === 'waiting' && p.status === 'completed') expired = sim.faults.expireExportLinks('old');
    };
    const result = await run({ onProgress });
    expect(expired).toBeGreaterThan(0);
    await expectWholeExport(result);
    expect(sim.tenant('old').stats.exportDownloads - downloadsBefore).toBe(1);
  });

  it('expires links on its own after the configured lifetime', async () => {
    const short = await startSimulator({ seedOld: 20, timing: 'fast', exportLinkTtlSeconds: 0.05 });
    try {
      const client = createTenantClient(toTenantConfig(short.tenants.old), { label: 'old', retry });
      // A slow first download attempt: the link lapses before the answer comes.
      short.faults.add({ kind: 'delay', tenant: 'old', path: '/__exports', delayMs: 120, times: 1 });
      const result = await exportUsers(client, { connection: DB_CONNECTION, out: out(), pollIntervalMs: 1 });
      expect(result.users).toBe(short.tenant('old').userCount(DB_CONNECTION));
    } finally {
      await short.close();
    }
  });
});

describe('export mistakes give messages that say what to do', () => {
  it('wrong client secret', async () => {
    const bad = createTenantClient(
      { ...toTenantConfig(sim.tenants.old), clientSecret: new Secret('wrong') },
      { label: 'old', retry },
    );
    const err = await run({}, bad).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'Auth0Error', code: 'bad_credentials' });
    expect((err as Error).message).toContain('check OLD_AUTH0_CLIENT_ID / OLD_AUTH0_CLIENT_SECRET');
  });

  it('wrong client id, on the new tenant', async () => {
    const bad = createTenantClient(
      { ...toTenantConfig(sim.tenants.new), clientId: 'no-such-client' },
      { label: 'new', retry },
    );
    const err = await bad.getConnectionByName(DB_CONNECTION).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'bad_credentials' });
    expect((err as Error).message).toContain('check NEW_AUTH0_CLIENT_ID / NEW_AUTH0_CLIENT_SECRET');
  });

  it.each([
    [['read:connections'], 'read:users'],
    [['read:users'], 'read:connections'],
  ])('an application holding only %j lacks %s', async (scopes, missing) => {
    const app = sim.tenant('old').addClient({ name: `limited-${missing}`, scopes });
    const client = createTenantClient(
      {
        ...toTenantConfig(sim.tenants.old),
        clientId: app.clientId,
        clientSecret: new Secret(app.clientSecret),
      },
      { label: 'old', retry },
    );
    const err = await run({}, client).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'missing_scope', scope: missing });
    expect((err as Error).message).toContain(`OLD_AUTH0_CLIENT_ID lacks the ${missing} scope`);
    expect((err as Error).message).toContain('Machine To Machine Applications');
  });

  it('a connection name that does not exist lists those that do', async () => {
    const err = await run({ connection: 'Users-DB' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unknown_connection' });
    expect((err as Error).message).toContain('no connection named "Users-DB"');
    expect((err as Error).message).toContain(`${DB_CONNECTION} (auth0)`);
    expect((err as Error).message).toContain('OLD_AUTH0_CONNECTION');
  });

  it('an export job that fails as a whole', async () => {
    sim.faults.failJob({ tenant: 'old', type: 'users_export', statusDetails: 'simulated export failure' });
    const target = out();
    const err = await run({ out: target }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ExportError', code: 'job_failed' });
    expect((err as Error).message).toContain('simulated export failure');
    expect(
      (await readdir(dir)).some((f) => f.startsWith(`.export-${n}`) || f === `export-${n}.ndjson.gz`),
    ).toBe(false);
  });
});

describe('exportCommand', () => {
  const config = () =>
    withTenants(
      loadConfig({
        env: { LOG_LEVEL: 'silent', LOG_FORMAT: 'json', POLL_INTERVAL_MS: '10' },
        dotenvPath: false,
      }),
      {
        old: toTenantConfig(sim.tenants.old),
        new: toTenantConfig(sim.tenants.new),
      },
    );

  it('prints where the file is and how many users it holds; exit code 0', async () => {
    const target = out();
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await exportCommand(config(), { tenant: 'old', out: target });
      expect(code).toBe(0);
      const printed = stdout.mock.calls.map((c) => String(c[0])).join('');
      const count = sim.tenant('old').userCount(DB_CONNECTION);
      expect(printed).toContain(`Exported ${count} users`);
      expect(printed).toContain(target);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect((await usersIn(target)).length).toBe(sim.tenant('old').userCount(DB_CONNECTION));
  });

  it('logs each line with the tenant once', async () => {
    sim.faults.add({
      kind: 'error',
      status: 503,
      tenant: 'old',
      method: 'GET',
      path: '/api/v2/jobs/',
      times: 1,
    });
    let log = '';
    const stderr = { write: (text: string) => (log += text) };
    const c = withTenants(
      loadConfig({
        env: { LOG_LEVEL: 'info', LOG_FORMAT: 'json', POLL_INTERVAL_MS: '10' },
        dotenvPath: false,
      }),
      { old: toTenantConfig(sim.tenants.old) },
    );
    const code = await exportCommand(
      c,
      { tenant: 'old', out: out() },
      { stderr, stdout: { write: () => true } },
    );
    expect(code).toBe(0);
    const lines = log.trim().split('\n');
    const logged = lines.filter((l) => l.startsWith('{'));
    expect(logged.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(
      expect.arrayContaining(['export job created', 'export saved', expect.stringMatching(/retrying/)]),
    );
    for (const line of logged) expect(line.match(/"tenant":/g)).toEqual(['"tenant":']);
  });

  it('fails with the message and leaves no file behind', async () => {
    const target = out();
    const c = config();
    c.tenants.old = { ...c.tenants.old!, connection: 'missing-db' };
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(exportCommand(c, { tenant: 'old', out: target })).rejects.toThrow(
        /no connection named "missing-db"/,
      );
    } finally {
      stderr.mockRestore();
    }
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
