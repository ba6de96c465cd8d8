/**
 * The official auth0 v7 SDK, which nobody here wrote, pointed at the simulator through a custom
 * fetch (its ManagementClient always calls https://<domain>): it must be satisfied.
 */
import { gunzipSync } from 'node:zlib';
import { ManagementError, type ManagementClient } from 'auth0';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { sdkFor } from './helpers.js';

let sim: Simulator;
let oldApi: ManagementClient;
let newApi: ManagementClient;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 120, seedNewMigrated: 0.2 });
  oldApi = sdkFor(sim.tenants.old);
  newApi = sdkFor(sim.tenants.new);
});

afterAll(async () => {
  await sim.close();
});

describe('auth0 v7 ManagementClient against the simulator', () => {
  it('lists connections (paginated envelope) and finds one by name', async () => {
    const page = await oldApi.connections.list({ name: DB_CONNECTION });
    expect(page.data.map((c) => c.id)).toEqual([sim.tenants.old.connectionId]);
    const all = [];
    for await (const c of await oldApi.connections.list({ take: 1 })) all.push(c.name);
    expect(all.sort()).toEqual([DB_CONNECTION, 'google-oauth2'].sort());
  });

  it('creates an export job, reads it until completed and downloads its file', async () => {
    const job = await oldApi.jobs.usersExports.create({
      connection_id: sim.tenants.old.connectionId,
      format: 'json',
      fields: [{ name: 'user_id' }, { name: 'email' }],
    });
    expect(job.status).toBe('pending');
    await sim.tenant('old').jobEnded(job.id);
    const done = await oldApi.jobs.get(job.id);
    expect(done.status).toBe('completed');
    const res = await fetch(done.location!);
    const lines = gunzipSync(Buffer.from(await res.arrayBuffer()))
      .toString()
      .trim()
      .split('\n');
    expect(lines).toHaveLength(sim.tenant('old').userCount(DB_CONNECTION));
  });

  it('creates import jobs, reads job errors (array and undefined for 204)', async () => {
    const users = Buffer.from(JSON.stringify([{ email: 'sdk1@example.com' }, { email: 'broken' }]));
    const job = await newApi.jobs.usersImports.create({
      users: { data: users, filename: 'users.json', contentType: 'application/json' },
      connection_id: sim.tenants.new.connectionId,
      upsert: false,
      external_id: 'sdk-batch-1',
      send_completion_email: false,
    });
    expect(job).toMatchObject({ type: 'users_import', status: 'pending', external_id: 'sdk-batch-1' });
    await sim.tenant('new').jobEnded(job.id);
    expect((await newApi.jobs.get(job.id)).summary).toMatchObject({ inserted: 1, failed: 1, total: 2 });
    const errors = await newApi.jobs.errors.get(job.id);
    expect(Array.isArray(errors)).toBe(true);
    expect((errors as Array<{ errors: Array<{ code: string }> }>)[0]!.errors[0]!.code).toBe('FORMAT');

    const clean = await newApi.jobs.usersImports.create({
      users: {
        data: Buffer.from(JSON.stringify([{ email: 'sdk2@example.com' }])),
        filename: 'users.json',
        contentType: 'application/json',
      },
      connection_id: sim.tenants.new.connectionId,
    });
    await sim.tenant('new').jobEnded(clean.id);
    expect(await newApi.jobs.errors.get(clean.id)).toBeUndefined();
  });

  it('surfaces the import-slot 429 as a ManagementError with the status and message', async () => {
    const slow = await startSimulator({ timing: { pendingMs: 60_000 } });
    try {
      const api = sdkFor(slow.tenants.new);
      const submit = () =>
        api.jobs.usersImports.create({
          users: {
            data: Buffer.from('[{"email":"x@example.com"}]'),
            filename: 'users.json',
            contentType: 'application/json',
          },
          connection_id: slow.tenants.new.connectionId,
        });
      await submit();
      await submit();
      const err = await submit().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ManagementError);
      expect((err as ManagementError).statusCode).toBe(429);
      expect(JSON.stringify((err as ManagementError).body)).toContain('There are 2 active import users jobs');
    } finally {
      await slow.close();
    }
  });

  it('finds users by email and creates password-change tickets', async () => {
    const someone = [...sim.tenant('old').listUsers(DB_CONNECTION)].find((u) => typeof u.email === 'string')!;
    const found = await oldApi.users.listUsersByEmail({ email: String(someone.email) });
    expect(found.map((u) => u.user_id)).toEqual([someone.user_id]);
    const ticket = await oldApi.tickets.changePassword({ user_id: String(someone.user_id), ttl_sec: 600 });
    expect(ticket.ticket).toContain('/u/reset-password?ticket=');
  });

  it('reads and updates a connection', async () => {
    const c = await newApi.connections.get(sim.tenants.new.connectionId);
    expect(c.options?.import_mode).toBe(true);
    const updated = await newApi.connections.update(sim.tenants.new.connectionId, {
      options: { ...c.options, customScripts: { login: 'function login(u, p, cb) { cb(null, null); }' } },
    });
    expect(updated.options?.customScripts).toMatchObject({
      login: expect.stringContaining('function login'),
    });
  });
});
