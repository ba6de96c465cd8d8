/**
 * The official auth0 v7 SDK, which nobody here wrote, pointed at the simulator through a custom
 * fetch (its ManagementClient always calls https://<domain>): it must be satisfied, and every
 * answer it gets is checked against the OAS.
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

  it('links and unlinks identities, manages authentication methods and deletes users', async () => {
    const users = Buffer.from(
      JSON.stringify([
        { email: 'sdk-primary@example.com', user_id: 'sdkp' },
        { email: 'sdk-secondary@example.com', user_id: 'sdks' },
      ]),
    );
    const job = await newApi.jobs.usersImports.create({
      users: { data: users, filename: 'users.json', contentType: 'application/json' },
      connection_id: sim.tenants.new.connectionId,
    });
    await sim.tenant('new').jobEnded(job.id);

    const linked = await newApi.users.identities.link('auth0|sdkp', {
      provider: 'auth0',
      user_id: 'auth0|sdks',
      connection_id: sim.tenants.new.connectionId,
    });
    expect(linked.map((i) => i.user_id)).toEqual(['sdkp', 'sdks']);
    const conflict = await newApi.users.identities
      .link('auth0|sdkp', { provider: 'auth0', user_id: 'sdks' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((conflict as ManagementError).statusCode).toBe(409);
    const left = await newApi.users.identities.delete('auth0|sdkp', 'auth0', 'sdks');
    expect(left.map((i) => i.user_id)).toEqual(['sdkp']);

    const methods = newApi.users.authenticationMethods;
    const created = await methods.create('auth0|sdkp', { type: 'phone', phone_number: '+15551234567' });
    expect(created.phone_number).toBe('XXXXXXXX4567');
    await methods.create('auth0|sdkp', { type: 'totp', totp_secret: 'JBTWY3DPEHPK3PNP' });
    const listed = [];
    for await (const m of await methods.list('auth0|sdkp', { per_page: 1 })) listed.push(m.type);
    expect(listed).toEqual(['phone', 'totp']);
    expect((await methods.get('auth0|sdkp', created.id!)).confirmed).toBe(true);
    await methods.delete('auth0|sdkp', created.id!);
    expect((await methods.list('auth0|sdkp')).data.map((m) => m.type)).toEqual(['totp']);

    await newApi.users.delete('auth0|sdkp');
    await newApi.users.delete('auth0|sdkp');
    const gone = await newApi.users.get('auth0|sdkp').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((gone as ManagementError).statusCode).toBe(404);
    expect((await newApi.users.get('auth0|sdks')).email).toBe('sdk-secondary@example.com');
  });
});

describe('auth0 v7 ManagementClient: roles, permissions and APIs', () => {
  it('creates, reads, updates, lists by name and deletes roles', async () => {
    const role = await newApi.roles.create({ name: 'SDK role', description: 'made by the SDK' });
    expect(role.id).toMatch(/^rol_/);
    expect(await newApi.roles.get(role.id!)).toEqual(role);
    const updated = await newApi.roles.update(role.id!, { description: 'changed' });
    expect(updated).toEqual({ ...role, description: 'changed' });
    const found = [];
    for await (const r of await newApi.roles.list({ name_filter: 'sdk role' })) found.push(r.id);
    expect(found).toEqual([role.id]);
    await newApi.roles.delete(role.id!);
    const err = await newApi.roles.get(role.id!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as ManagementError).statusCode).toBe(404);
  });

  it('adds, lists and removes role permissions on an API it creates and reads', async () => {
    const server = await newApi.resourceServers.create({
      name: 'SDK API',
      identifier: 'https://sdk.example.com',
      scopes: [{ value: 'read:sdk', description: 'Read' }, { value: 'write:sdk' }],
    });
    expect((await newApi.resourceServers.get(server.id!)).identifier).toBe('https://sdk.example.com');
    const identifiers = [];
    for await (const s of await newApi.resourceServers.list()) identifiers.push(s.identifier);
    expect(identifiers).toContain('https://sdk.example.com');

    const role = await newApi.roles.create({ name: 'SDK permissions' });
    const permissions = [
      { resource_server_identifier: 'https://sdk.example.com', permission_name: 'read:sdk' },
    ];
    await newApi.roles.permissions.add(role.id!, { permissions });
    const listed = [];
    for await (const p of await newApi.roles.permissions.list(role.id!)) listed.push(p.permission_name);
    expect(listed).toEqual(['read:sdk']);
    await newApi.roles.permissions.delete(role.id!, { permissions });
    expect((await newApi.roles.permissions.list(role.id!)).data).toEqual([]);
  });

  it('assigns users to a role and pages its members by checkpoint; user roles and permissions', async () => {
    const role = await oldApi.roles.create({ name: 'SDK members' });
    const users = [...sim.tenant('old').users.iterate(DB_CONNECTION)].slice(0, 120).map((u) => u.user_id);
    await oldApi.roles.users.assign(role.id!, { users });
    const members = [];
    for await (const u of await oldApi.roles.users.list(role.id!, { take: 50 })) members.push(u.user_id);
    expect(members.sort()).toEqual([...users].sort());

    const user = users[0]!;
    const other = await oldApi.roles.create({ name: 'SDK user role' });
    await oldApi.users.roles.assign(user, { roles: [other.id!] });
    const names = [];
    for await (const r of await oldApi.users.roles.list(user)) names.push(r.name);
    expect(names).toEqual(expect.arrayContaining(['SDK members', 'SDK user role']));
    await oldApi.users.roles.delete(user, { roles: [other.id!] });
    expect((await oldApi.users.roles.list(user, { per_page: 100 })).data.map((r) => r.name)).not.toContain(
      'SDK user role',
    );

    const permissions = [
      { resource_server_identifier: 'https://api.example.com/orders', permission_name: 'cancel:orders' },
    ];
    await oldApi.users.permissions.create(user, { permissions });
    const held = [];
    for await (const p of await oldApi.users.permissions.list(user)) held.push(p);
    expect(held).toContainEqual(
      expect.objectContaining({
        permission_name: 'cancel:orders',
        sources: expect.arrayContaining([expect.objectContaining({ source_type: 'DIRECT' })]),
      }),
    );
    await oldApi.users.permissions.delete(user, { permissions });
  });
});
