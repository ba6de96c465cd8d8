/**
 * exportUsers against a scripted tenant, for damaged downloads the simulator does not produce
 * (a gzip cut short, bytes that are not gzip at all) and for what is left on disk.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { exportUsers, type ExportProgress } from '../../src/jobs/users-export.js';
import { JOB, drop, startMockTenant, type Handler, type MockTenant } from '../auth0/mock-tenant.js';

const retry = { baseDelayMs: 2, maxDelayMs: 20, rateLimitFallbackMs: 2 };
const USERS = Array.from({ length: 25 }, (_, i) => ({ user_id: `auth0|${i}`, email: `u${i}@example.com` }));
const FILE = gzipSync(USERS.map((u) => JSON.stringify(u)).join('\n') + '\n');

let dir: string;
let tenant: MockTenant | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'export-scripted-'));
});

afterEach(async () => {
  await tenant?.close();
  tenant = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A tenant whose export job completes on the third poll; `file` answers each download. */
async function exportTenant(
  file: Handler,
  jobStatus: (n: number) => Record<string, unknown> = defaultStatus,
) {
  let url = '';
  tenant = await startMockTenant({
    'GET /connections': () => ({
      connections: [
        { id: 'con_aaaaaaaaaaaaaaaa', name: 'Username-Password-Authentication', strategy: 'auth0' },
      ],
    }),
    'POST /jobs/users-exports': () => JOB({ type: 'users_export', status: 'pending' }),
    'GET /jobs/:id': (_req, _reply, n) => {
      const s = jobStatus(n);
      return JOB({
        type: 'users_export',
        ...s,
        ...(s.status === 'completed' ? { location: `${url}/files/tenant.json.gz?n=${n}` } : {}),
      });
    },
    'GET /files/:name': file,
  });
  url = tenant.url;
  return tenant;
}

function defaultStatus(n: number): Record<string, unknown> {
  if (n === 0) return { status: 'processing', percentage_done: 40, time_left_seconds: 3 };
  return { status: 'completed' };
}

const opts = (extra: Partial<Parameters<typeof exportUsers>[1]> = {}) => ({
  connection: 'Username-Password-Authentication',
  out: join(dir, 'out', 'old.ndjson.gz'),
  pollIntervalMs: 2,
  maxPollIntervalMs: 10,
  ...extra,
});

describe('exportUsers (scripted tenant)', () => {
  it('saves the file whole, 0600, reports progress and counts the users', async () => {
    const t = await exportTenant((_req, reply) => reply.send(FILE));
    const progress: ExportProgress[] = [];
    const result = await exportUsers(
      createTenantClient(t.config, { label: 'old', retry }),
      opts({ onProgress: (p) => progress.push(p) }),
    );
    expect(result).toMatchObject({ users: 25, bytes: FILE.length, jobId: JOB().id });
    expect(await readFile(result.file)).toEqual(FILE);
    expect((await stat(result.file)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'out'))).toEqual(['old.ndjson.gz']);
    expect(progress).toContainEqual(
      expect.objectContaining({
        phase: 'waiting',
        status: 'processing',
        percentageDone: 40,
        timeLeftSeconds: 3,
      }),
    );
    expect(progress.at(-1)).toMatchObject({ phase: 'done', users: 25 });
  });

  it('downloads again, from a fresh link, when the gzip is cut short or damaged', async () => {
    const t = await exportTenant((_req, reply, n) => {
      if (n === 0) return reply.send(FILE.subarray(0, FILE.length - 12));
      if (n === 1) return reply.send(Buffer.from('not gzip at all\n'));
      return reply.send(FILE);
    });
    const result = await exportUsers(createTenantClient(t.config, { label: 'old', retry }), opts());
    expect(result.users).toBe(25);
    expect(
      gunzipSync(await readFile(result.file))
        .toString()
        .trim()
        .split('\n'),
    ).toHaveLength(25);
    expect(t.calls.filter((c) => c === 'GET /files/:name')).toHaveLength(3);
    // One poll that saw "completed", then one fresh location per repeated download.
    expect(t.calls.filter((c) => c === 'GET /jobs/:id')).toHaveLength(4);
  });

  it('survives a connection dropped in the middle of the body', async () => {
    const t = await exportTenant((_req, reply, n) => {
      if (n > 0) return reply.send(FILE);
      reply.hijack();
      reply.raw.writeHead(200, { 'content-length': String(FILE.length) });
      reply.raw.write(FILE.subarray(0, 40));
      setTimeout(() => reply.raw.socket?.destroy(), 5);
    });
    const result = await exportUsers(createTenantClient(t.config, { label: 'old', retry }), opts());
    expect(result.users).toBe(25);
    expect(await readdir(join(dir, 'out'))).toEqual(['old.ndjson.gz']);
  });

  it('gives up with a clear error and leaves no file when every download is damaged', async () => {
    const t = await exportTenant((_req, reply) => reply.send(FILE.subarray(0, 30)));
    const err = await exportUsers(
      createTenantClient(t.config, { label: 'old', retry }),
      opts({ downloadAttempts: 3 }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ExportError', code: 'download_failed' });
    expect((err as Error).message).toMatch(/could not be downloaded whole after 3 attempts/);
    expect((err as Error).message).toMatch(/not a whole gzip file/);
    expect(await readdir(join(dir, 'out'))).toEqual([]);
  });

  it('keeps an existing file untouched when the new export fails', async () => {
    const t = await exportTenant((_req, reply, n) => (n === 0 ? reply.send(FILE) : drop(reply)));
    const client = createTenantClient(t.config, { label: 'old', retry: { ...retry, maxAttempts: 2 } });
    const good = await exportUsers(client, opts());
    await expect(exportUsers(client, opts({ downloadAttempts: 2 }))).rejects.toMatchObject({
      code: 'download_failed',
    });
    expect(await readFile(good.file)).toEqual(FILE);
    expect(await readdir(join(dir, 'out'))).toEqual(['old.ndjson.gz']);
  });

  it.each([
    [
      'failed',
      { status: 'failed', status_details: 'internal error while exporting' },
      /ended "failed": internal error while exporting/,
    ],
    ['expired', { status: 'expired' }, /ended "expired"/],
  ])('reports a job that ended %s', async (_name, status, message) => {
    const t = await exportTenant(
      (_req, reply) => reply.send(FILE),
      () => status,
    );
    const err = await exportUsers(createTenantClient(t.config, { label: 'old', retry }), opts()).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'ExportError', code: 'job_failed' });
    expect((err as Error).message).toMatch(message);
    expect(t.calls).not.toContain('GET /files/:name');
  });

  it('stops when aborted while waiting and leaves nothing behind', async () => {
    const t = await exportTenant(
      (_req, reply) => reply.send(FILE),
      () => ({ status: 'processing', percentage_done: 1 }),
    );
    const ac = new AbortController();
    const run = exportUsers(
      createTenantClient(t.config, { label: 'old', retry }),
      opts({
        signal: ac.signal,
        onProgress: (p) => {
          if (p.status === 'processing') ac.abort(new Error('stopped by test'));
        },
      }),
    );
    await expect(run).rejects.toThrow('stopped by test');
    await expect(readdir(join(dir, 'out'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
