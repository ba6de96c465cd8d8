/**
 * The simulated Management API: connections, users, users-by-email, tickets, tokens and scopes.
 * Every answer goes through the OAS check in helpers.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_CONNECTION, SOCIAL_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { Mgmt, managementToken } from './helpers.js';

let sim: Simulator;
let old: Mgmt;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 200, seedNewMigrated: 0.5 });
  old = await Mgmt.connect(sim, 'old');
});

afterAll(async () => {
  await sim.close();
});

describe('tokens and scopes', () => {
  it('answers 401 without a token and with a forged or foreign one', async () => {
    const none = await old.call('GET', '/connections', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.message).toBe('Missing authentication');
    const forged = await old.call('GET', '/connections', { token: 'a.b.c' });
    expect(forged.status).toBe(401);
    const foreign = await old.call('GET', '/connections', { token: await managementToken(sim.tenants.new) });
    expect(foreign.status).toBe(401);
  });

  it('answers 403 insufficient_scope naming the scopes the route accepts', async () => {
    const token = await managementToken(sim.tenants.old, 'read:connections');
    const a = await old.call('GET', '/users-by-email?email=a@example.com', { token });
    expect(a.status).toBe(403);
    expect(a.body).toMatchObject({
      errorCode: 'insufficient_scope',
      message: 'Insufficient scope, expected any of: read:users',
    });
  });

  it('sends JSON with charset and x-ratelimit headers whose reset is epoch seconds', async () => {
    const before = Date.now();
    const a = await old.call('GET', '/connections');
    expect(a.headers.get('content-type')).toBe('application/json; charset=utf-8');
    // A moment in seconds around the answer (a duration would be a small number).
    const reset = Number(a.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 5);
    expect(Number(a.headers.get('x-ratelimit-limit'))).toBeGreaterThan(0);
    expect(Number(a.headers.get('x-ratelimit-remaining'))).toBeLessThan(
      Number(a.headers.get('x-ratelimit-limit')),
    );
  });
});

describe('connections', () => {
  it('lists as a bare array, by name, and in the envelopes the v7 SDK asks for', async () => {
    const all = await old.call('GET', '/connections');
    expect(all.body.map((c: { name: string }) => c.name).sort()).toEqual(
      [DB_CONNECTION, SOCIAL_CONNECTION].sort(),
    );
    const byName = await old.call('GET', `/connections?name=${DB_CONNECTION}`);
    expect(byName.body).toHaveLength(1);
    expect(byName.body[0].id).toBe(sim.tenants.old.connectionId);
    expect(byName.body[0].id).toMatch(/^con_[A-Za-z0-9]{16}$/);
    const checkpoint = await old.call('GET', '/connections?include_totals=true&take=1');
    expect(checkpoint.body.connections).toHaveLength(1);
    expect(typeof checkpoint.body.next).toBe('string');
    const rest = await old.call('GET', `/connections?take=1&from=${checkpoint.body.next}`);
    expect(rest.body.connections).toHaveLength(1);
    expect(rest.body.next).toBeUndefined();
    expect(rest.body.connections[0].id).not.toBe(checkpoint.body.connections[0].id);
    const offset = await old.call('GET', '/connections?include_totals=true&per_page=1&page=0');
    expect(offset.body).toMatchObject({ total: 2, start: 0, limit: 1 });
  });

  it('gets one by id, 404 for an unknown id, 400 for a malformed one', async () => {
    const one = await old.call('GET', `/connections/${sim.tenants.old.connectionId}`);
    expect(one.body.options.import_mode).toBe(false);
    const missing = await old.call('GET', '/connections/con_0000000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.errorCode).toBe('inexistent_connection');
    expect((await old.call('GET', '/connections/nope')).status).toBe(400);
  });

  it('PATCH replaces options wholesale', async () => {
    const id = sim.tenants.old.connectionId;
    const before = (await old.call('GET', `/connections/${id}`)).body.options;
    expect(before.passwordPolicy).toBe('good');
    const patched = await old.call('PATCH', `/connections/${id}`, {
      json: { options: { ...before, import_mode: true } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.options.import_mode).toBe(true);
    const replaced = await old.call('PATCH', `/connections/${id}`, {
      json: { options: { import_mode: false } },
    });
    expect(replaced.body.options).toEqual({ import_mode: false });
    expect((await old.call('GET', `/connections/${id}`)).body.options).toEqual({ import_mode: false });
    await old.call('PATCH', `/connections/${id}`, { json: { options: before } });
  });

  it('refuses unknown body properties and switching custom-database mode on a connection with users', async () => {
    const id = sim.tenants.old.connectionId;
    const bad = await old.call('PATCH', `/connections/${id}`, { json: { name: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe("Payload validation error: 'Additional properties not allowed: name'.");
    const flip = await old.call('PATCH', `/connections/${id}`, {
      json: { options: { enabledDatabaseCustomization: true } },
    });
    expect(flip.status).toBe(400);
    expect(flip.body.message).toContain('This database contains users');
  });

  it('leaves options out without read:connections_options', async () => {
    const token = await managementToken(sim.tenants.old, 'read:connections');
    const a = await old.call('GET', '/connections', { token });
    expect(a.body[0].options).toBeUndefined();
  });
});

describe('users', () => {
  it('creates, reads, updates (merging metadata) and deletes a user', async () => {
    const created = await old.call('POST', '/users', {
      json: {
        connection: DB_CONNECTION,
        email: 'New.Person@Example.com',
        password: 'Secret-123!',
        user_metadata: { a: 1, b: 2 },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.user_id as string;
    expect(id).toMatch(/^auth0\|[0-9a-f]{24}$/);
    expect(created.body.email).toBe('new.person@example.com');
    expect(created.body.email_verified).toBe(false);
    const again = await old.call('POST', '/users', {
      json: { connection: DB_CONNECTION, email: 'new.person@example.com', password: 'x' },
    });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('The user already exists.');
    const patched = await old.call('PATCH', `/users/${encodeURIComponent(id)}`, {
      json: { user_metadata: { b: null, c: 3 }, name: 'Ünïcode Name' },
    });
    expect(patched.body.user_metadata).toEqual({ a: 1, c: 3 });
    expect(patched.body.name).toBe('Ünïcode Name');
    const got = await old.call('GET', `/users/${encodeURIComponent(id)}`);
    expect(got.body.name).toBe('Ünïcode Name');
    const del = await old.call('DELETE', `/users/${encodeURIComponent(id)}`);
    expect(del.status).toBe(204);
    const gone = await old.call('GET', `/users/${encodeURIComponent(id)}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ message: 'The user does not exist.', errorCode: 'inexistent_user' });
  });

  it('pages users with totals and refuses to go past 1000', async () => {
    const page = await old.call('GET', '/users?per_page=10&page=1&include_totals=true');
    expect(page.body).toMatchObject({ start: 10, limit: 10, length: 10, total: 200 });
    const far = await old.call('GET', '/users?per_page=100&page=10');
    expect(far.status).toBe(400);
  });

  it('finds users by email case-insensitively, and an empty array for none', async () => {
    const someone = [...sim.tenant('old').listUsers(DB_CONNECTION)].find((u) => typeof u.email === 'string')!;
    const found = await old.call(
      'GET',
      `/users-by-email?email=${encodeURIComponent(String(someone.email).toUpperCase())}`,
    );
    expect(found.status).toBe(200);
    expect(found.body.map((u: { user_id: string }) => u.user_id)).toEqual([someone.user_id]);
    const none = await old.call('GET', '/users-by-email?email=nobody@example.com');
    expect(none.body).toEqual([]);
    const missing = await old.call('GET', '/users-by-email');
    expect(missing.status).toBe(400);
    const fields = await old.call(
      'GET',
      `/users-by-email?email=${encodeURIComponent(String(someone.email))}&fields=email,user_id`,
    );
    expect(Object.keys(fields.body[0]).sort()).toEqual(['email', 'user_id']);
  });

  it('has the same ids for users already migrated to the new tenant', async () => {
    const migrated = [...sim.tenant('new').listUsers(DB_CONNECTION)];
    expect(migrated.length).toBeGreaterThan(50);
    expect(migrated.length).toBeLessThan(150);
    for (const u of migrated.slice(0, 20)) {
      expect(sim.tenant('old').user(String(u.user_id))?.email).toBe(u.email);
    }
  });
});

describe('password-change tickets', () => {
  it('creates a ticket for a user (201) and records it', async () => {
    const u = [...sim.tenant('old').listUsers(DB_CONNECTION)].find((x) => typeof x.email === 'string')!;
    const a = await old.call('POST', '/tickets/password-change', {
      json: { user_id: u.user_id, ttl_sec: 3600, mark_email_as_verified: true },
    });
    expect(a.status).toBe(201);
    expect(a.body.ticket).toMatch(
      /^https:\/\/old\.sim\.auth0-migrate\.local\/u\/reset-password\?ticket=.+#$/,
    );
    expect(sim.tenant('old').tickets.at(-1)).toMatchObject({ user_id: u.user_id, ttl_sec: 3600 });
  });

  it('answers 404 for an unknown user and 400 for a user without email or a social one', async () => {
    expect(
      (await old.call('POST', '/tickets/password-change', { json: { user_id: 'auth0|nobody' } })).status,
    ).toBe(404);
    const noEmail = [...sim.tenant('old').listUsers(DB_CONNECTION)].find((x) => x.email === undefined)!;
    const a = await old.call('POST', '/tickets/password-change', { json: { user_id: noEmail.user_id } });
    expect(a.status).toBe(400);
    expect(a.body.message).toBe('The user does not have an email address.');
    const social = [...sim.tenant('old').listUsers(SOCIAL_CONNECTION)][0]!;
    expect(
      (await old.call('POST', '/tickets/password-change', { json: { user_id: social.user_id } })).status,
    ).toBe(400);
    const extra = await old.call('POST', '/tickets/password-change', {
      json: { user_id: noEmail.user_id, foo: 1 },
    });
    expect(extra.status).toBe(400);
  });
});
