/**
 * The simulated RBAC endpoints: roles, role permissions, role users (offset paging up to 1,000
 * records, checkpoint paging past it), user roles, user permissions, resource servers; scopes,
 * entity limits, a deleted user's assignments, rate limits and faults. Every answer goes through
 * the OAS check in helpers.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { RBAC_LIMITS } from '../../src/sim/tenant/rbac.js';
import { Mgmt, managementToken, type Loose } from './helpers.js';

let sim: Simulator;
let old: Mgmt;

const u = (id: string) => encodeURIComponent(id);
const ORDERS = 'https://api.example.com/orders';
const perm = (permission_name: string, resource_server_identifier = ORDERS) => ({
  resource_server_identifier,
  permission_name,
});

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 2500, seedNewMigrated: 0.3 });
  old = await Mgmt.connect(sim, 'old');
});

afterAll(async () => {
  await sim.close();
});

async function createRole(api: Mgmt, name: string, description?: string): Promise<string> {
  const a = await api.call('POST', '/roles', { json: { name, ...(description ? { description } : {}) } });
  expect(a.status).toBe(200);
  return a.body.id as string;
}

/** Every member of a role, through checkpoint pages of `take`. */
async function checkpointMembers(api: Mgmt, roleId: string, take: number): Promise<string[]> {
  const ids: string[] = [];
  let from: string | undefined;
  for (;;) {
    const a = await api.call(
      'GET',
      `/roles/${roleId}/users?take=${take}&include_totals=true${from ? `&from=${encodeURIComponent(from)}` : ''}`,
    );
    expect(a.status).toBe(200);
    expect(a.body.total).toBeUndefined();
    ids.push(...a.body.users.map((x: { user_id: string }) => x.user_id));
    if (a.body.next === undefined) return ids;
    expect(a.body.users).toHaveLength(take);
    from = a.body.next;
  }
}

/** A database user of the old tenant with no role and no direct permission. */
function plainUser(n = 0): string {
  const rbac = sim.tenant('old').rbac;
  const found = [...sim.tenant('old').users.iterate(DB_CONNECTION)].filter(
    (x) => rbac.rolesOf(x.user_id).length === 0 && rbac.directPermissionsOf(x.user_id).length === 0,
  );
  return found[n]!.user_id;
}

describe('roles', () => {
  it('creates (200), reads, renames, finds by name, deletes (200 {}) and then answers 404', async () => {
    const created = await old.call('POST', '/roles', {
      json: { name: 'Ops Night Shift', description: 'Nights' },
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^rol_[A-Za-z0-9]{16}$/),
      name: 'Ops Night Shift',
      description: 'Nights',
    });
    const id = created.body.id as string;
    expect((await old.call('GET', `/roles/${id}`)).body).toEqual(created.body);

    const taken = await old.call('POST', '/roles', { json: { name: 'Ops Night Shift' } });
    expect(taken.status).toBe(409);
    const nameless = await old.call('POST', '/roles', { json: { description: 'x' } });
    expect(nameless.status).toBe(400);
    expect(nameless.body.message).toBe("Payload validation error: 'Missing required property: name'.");

    const renamed = await old.call('PATCH', `/roles/${id}`, { json: { name: 'Ops Night' } });
    expect(renamed.body).toEqual({ id, name: 'Ops Night', description: 'Nights' });
    expect((await old.call('PATCH', `/roles/${id}`, { json: { name: 'Member' } })).status).toBe(409);

    // name_filter is case-insensitive and matches part of a name.
    const found = await old.call('GET', '/roles?name_filter=ops%20NIGHT&include_totals=true');
    expect(found.body).toMatchObject({ start: 0, limit: 50, total: 1 });
    expect(found.body.roles).toEqual([renamed.body]);

    const deleted = await old.call('DELETE', `/roles/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({});
    const again = await old.call('DELETE', `/roles/${id}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'The role does not exist.' });
    expect((await old.call('GET', `/roles/${id}`)).status).toBe(404);
    expect((await old.call('PATCH', `/roles/${id}`, { json: { name: 'x' } })).status).toBe(404);
  });

  it('lists 50 by default, pages with per_page, and refuses per_page outside 1..100', async () => {
    const api = await Mgmt.connect(sim, 'new');
    const before = (await api.call('GET', '/roles?include_totals=true')).body.total as number;
    for (let i = before; i < 60; i++) await createRole(api, `Paging role ${i}`);
    const all = await api.call('GET', '/roles');
    expect(all.body).toHaveLength(50);
    const second = await api.call('GET', '/roles?per_page=50&page=1&include_totals=true');
    expect(second.body).toMatchObject({ start: 50, limit: 50, total: 60 });
    expect(second.body.roles).toHaveLength(10);
    const bad = await api.call('GET', '/roles?per_page=101');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      errorCode: 'invalid_query_string',
      message: "Query validation error: 'Value 101 is greater than maximum 100' on property per_page.",
    });
    expect((await api.call('GET', '/roles?per_page=0')).status).toBe(400);
  });
});

describe('role permissions', () => {
  it('adds (201 {}), lists with the API name and scope description, removes (204 with a JSON content type)', async () => {
    const id = await createRole(old, 'Refunds');
    const add = await old.call('POST', `/roles/${id}/permissions`, {
      json: { permissions: [perm('refund:orders'), perm('read:orders'), perm('refund:orders')] },
    });
    expect(add.status).toBe(201);
    expect(add.body).toEqual({});
    const listed = await old.call('GET', `/roles/${id}/permissions?include_totals=true`);
    expect(listed.body).toEqual({
      permissions: [
        {
          permission_name: 'refund:orders',
          description: 'Refund orders',
          resource_server_name: 'Orders API',
          resource_server_identifier: ORDERS,
        },
        {
          permission_name: 'read:orders',
          description: 'Read orders',
          resource_server_name: 'Orders API',
          resource_server_identifier: ORDERS,
        },
      ],
      start: 0,
      limit: 50,
      total: 2,
    });
    const removed = await old.call('DELETE', `/roles/${id}/permissions`, {
      json: { permissions: [perm('refund:orders')] },
    });
    expect(removed.status).toBe(204);
    expect(removed.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const left = await old.call('GET', `/roles/${id}/permissions`);
    expect(left.body.map((p: Loose) => p.permission_name)).toEqual(['read:orders']);
    expect((await old.call('GET', '/roles/rol_0000000000000000/permissions')).status).toBe(404);
  });

  it('refuses a permission of an API that does not exist (404) or a scope its API lacks (400), adding nothing', async () => {
    const id = await createRole(old, 'Strict');
    const noApi = await old.call('POST', `/roles/${id}/permissions`, {
      json: { permissions: [perm('read:orders'), perm('read:things', 'https://nowhere.example.com')] },
    });
    expect(noApi.status).toBe(404);
    expect(noApi.body.message).toBe("The resource server does not exist: 'https://nowhere.example.com'");
    const noScope = await old.call('POST', `/roles/${id}/permissions`, {
      json: { permissions: [perm('fly:orders')] },
    });
    expect(noScope.status).toBe(400);
    expect(noScope.body.message).toContain("'fly:orders'");
    const empty = await old.call('POST', `/roles/${id}/permissions`, { json: { permissions: [] } });
    expect(empty.status).toBe(400);
    const half = await old.call('POST', `/roles/${id}/permissions`, {
      json: { permissions: [{ resource_server_identifier: ORDERS }] },
    });
    expect(half.body.message).toBe(
      "Payload validation error: 'Missing required property: permission_name' on property permissions[0].",
    );
    expect((await old.call('GET', `/roles/${id}/permissions`)).body).toEqual([]);
  });
});

describe('role users', () => {
  it('pages a role of over 1,000 members by checkpoint: each member once, no next on the last page', async () => {
    const member = sim.tenant('old').rbac.roleByName('Member')!;
    const offset = await old.call('GET', `/roles/${member.id}/users?include_totals=true&per_page=1`);
    const total = offset.body.total as number;
    expect(total).toBeGreaterThan(1000);
    const ids = await checkpointMembers(old, member.id, 100);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    for (const id of ids.slice(0, 20)) {
      const roles = await old.call('GET', `/users/${u(id)}/roles`);
      expect(roles.body.map((r: Loose) => r.name)).toContain('Member');
    }
    const first = await old.call('GET', `/roles/${member.id}/users?take=3`);
    expect(Object.keys(first.body).sort()).toEqual(['next', 'users']);
    expect(first.body.users[0]).toEqual({
      user_id: expect.any(String),
      email: expect.any(String),
      picture: expect.any(String),
      name: expect.any(String),
    });
    expect((await old.call('GET', `/roles/${member.id}/users?take=101`)).status).toBe(400);
    expect((await old.call('GET', `/roles/${member.id}/users?take=0`)).status).toBe(400);
    expect((await old.call('GET', `/roles/${member.id}/users?take=5&from=bm9wZQ`)).status).toBe(400);
  });

  it('refuses offset pages that end past 1,000 records with Auth0 text, however few members', async () => {
    const member = sim.tenant('old').rbac.roleByName('Member')!;
    const last = await old.call('GET', `/roles/${member.id}/users?per_page=100&page=9`);
    expect(last.status).toBe(200);
    expect(last.body).toHaveLength(100);
    const past = await old.call('GET', `/roles/${member.id}/users?per_page=100&page=10`);
    expect(past.status).toBe(400);
    expect(past.body.message).toBe(
      'Requesting page 10 exceeds the allowed maximum of 1000 records. To fetch results beyond 1000, use the checkpoint pagination method.',
    );
    const small = await createRole(old, 'Tiny');
    const tiny = await old.call('GET', `/roles/${small}/users?per_page=50&page=20`);
    expect(tiny.status).toBe(400);
    expect(tiny.body.message).toMatch(/^Requesting page 20 exceeds the allowed maximum of 1000 records\./);
    expect((await old.call('GET', `/roles/${small}/users?per_page=50&page=19`)).body).toEqual([]);
    // Page 14 of 70 starts at record 980 but ends past 1,000.
    expect((await old.call('GET', `/roles/${small}/users?per_page=70&page=14`)).status).toBe(400);
    expect((await old.call('GET', `/roles/${small}/users?per_page=70&page=13`)).status).toBe(200);
  });

  it('assigns many users in one call (200 {}), keeps checkpoint paging whole while members change, and 404s an unknown user', async () => {
    const role = await createRole(old, 'Bulk');
    const users = [...sim.tenant('old').users.iterate(DB_CONNECTION)].slice(0, 250).map((x) => x.user_id);
    const first = await old.call('POST', `/roles/${role}/users`, { json: { users: users.slice(0, 200) } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({});
    const page = await old.call('GET', `/roles/${role}/users?take=100`);
    const seen: string[] = page.body.users.map((x: Loose) => x.user_id);
    // Between pages: one member not read yet leaves, fifty users join.
    await old.call('DELETE', `/users/${u(users[150]!)}/roles`, { json: { roles: [role] } });
    await old.call('POST', `/roles/${role}/users`, { json: { users: users.slice(200) } });
    let from: string | undefined = page.body.next;
    while (from !== undefined) {
      const next: Loose = await old.call(
        'GET',
        `/roles/${role}/users?take=100&from=${encodeURIComponent(from)}`,
      );
      seen.push(...next.body.users.map((x: Loose) => x.user_id));
      from = next.body.next;
    }
    expect(seen.sort()).toEqual(users.filter((_, i) => i !== 150).sort());

    const unknown = await old.call('POST', `/roles/${role}/users`, {
      json: { users: ['auth0|000000000000000000000000', users[150]] },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ message: 'The user does not exist.', errorCode: 'inexistent_user' });
    const roles = await old.call('GET', `/users/${u(users[150]!)}/roles`);
    expect(roles.body.map((r: Loose) => r.id)).not.toContain(role);
    expect((await old.call('POST', '/roles/rol_0000000000000000/users', { json: { users } })).status).toBe(
      404,
    );
  });
});

describe('user roles', () => {
  it('assigns (204), lists and removes (204) roles; a seeded role taken away leaves the role listing too', async () => {
    const rbac = sim.tenant('old').rbac;
    const member = rbac.roleByName('Member')!;
    const holder = [...sim.tenant('old').users.iterate(DB_CONNECTION)].find((x) =>
      rbac.rolesOf(x.user_id).includes(member),
    )!.user_id;
    const extra = await createRole(old, 'Extra', 'Given through the API');
    const assigned = await old.call('POST', `/users/${u(holder)}/roles`, {
      json: { roles: [extra, member.id] },
    });
    expect(assigned.status).toBe(204);
    expect(assigned.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const listed = await old.call('GET', `/users/${u(holder)}/roles?include_totals=true`);
    expect(listed.body.roles).toContainEqual({
      id: extra,
      name: 'Extra',
      description: 'Given through the API',
    });
    expect(listed.body.total).toBe(listed.body.roles.length);

    const removed = await old.call('DELETE', `/users/${u(holder)}/roles`, { json: { roles: [member.id] } });
    expect(removed.status).toBe(204);
    const after = await old.call('GET', `/users/${u(holder)}/roles`);
    expect(after.body.map((r: Loose) => r.id)).not.toContain(member.id);
    expect(await checkpointMembers(old, member.id, 100)).not.toContain(holder);
  });

  it('answers 404 for an unknown user or role and 400 for an empty list', async () => {
    const nobody = await old.call('GET', '/users/auth0%7Cnobody/roles');
    expect(nobody.status).toBe(404);
    expect(nobody.body).toMatchObject({ message: 'The user does not exist.', errorCode: 'inexistent_user' });
    const user = plainUser();
    const noRole = await old.call('POST', `/users/${u(user)}/roles`, {
      json: { roles: ['rol_0000000000000000'] },
    });
    expect(noRole.status).toBe(404);
    expect(noRole.body.message).toBe('The role does not exist.');
    expect((await old.call('POST', `/users/${u(user)}/roles`, { json: { roles: [] } })).status).toBe(400);
  });
});

describe('user permissions', () => {
  it('lists direct and role permissions with their sources; POST (201 {}) and DELETE (204) change direct ones only', async () => {
    const user = plainUser(1);
    const role = await createRole(old, 'Readers');
    await old.call('POST', `/roles/${role}/permissions`, { json: { permissions: [perm('read:orders')] } });
    await old.call('POST', `/users/${u(user)}/roles`, { json: { roles: [role] } });
    const added = await old.call('POST', `/users/${u(user)}/permissions`, {
      json: { permissions: [perm('read:orders'), perm('cancel:orders')] },
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({});
    const listed = await old.call('GET', `/users/${u(user)}/permissions?include_totals=true`);
    expect(listed.body.total).toBe(2);
    expect(listed.body.permissions).toEqual([
      {
        permission_name: 'read:orders',
        description: 'Read orders',
        resource_server_name: 'Orders API',
        resource_server_identifier: ORDERS,
        sources: [
          { source_id: '', source_name: '', source_type: 'DIRECT' },
          { source_id: role, source_name: 'Readers', source_type: 'ROLE' },
        ],
      },
      {
        permission_name: 'cancel:orders',
        description: 'Cancel orders',
        resource_server_name: 'Orders API',
        resource_server_identifier: ORDERS,
        sources: [{ source_id: '', source_name: '', source_type: 'DIRECT' }],
      },
    ]);
    const removed = await old.call('DELETE', `/users/${u(user)}/permissions`, {
      json: { permissions: [perm('read:orders'), perm('cancel:orders')] },
    });
    expect(removed.status).toBe(204);
    const left = await old.call('GET', `/users/${u(user)}/permissions`);
    expect(left.body).toEqual([
      expect.objectContaining({
        permission_name: 'read:orders',
        sources: [expect.objectContaining({ source_type: 'ROLE' })],
      }),
    ]);
    const noApi = await old.call('POST', `/users/${u(user)}/permissions`, {
      json: { permissions: [perm('x', 'urn:missing')] },
    });
    expect(noApi.status).toBe(404);
    expect((await old.call('GET', '/users/auth0%7Cnobody/permissions')).status).toBe(404);
  });
});

describe('resource servers', () => {
  it('lists the Management API and the seeded APIs, creates one (201), reads it by id or identifier', async () => {
    const list = await old.call('GET', '/resource-servers?include_totals=true');
    const system = list.body.resource_servers[0];
    expect(system).toMatchObject({
      name: 'Auth0 Management API',
      is_system: true,
      identifier: `https://${sim.tenants.old.domain}/api/v2/`,
    });
    expect(system.scopes).toContainEqual({ value: 'read:roles', description: expect.any(String) });
    expect(list.body.resource_servers.map((s: Loose) => s.identifier)).toContain(ORDERS);

    const created = await old.call('POST', '/resource-servers', {
      json: {
        name: 'Shipping',
        identifier: 'https://shipping.example.com',
        scopes: [{ value: 'read:shipments', description: 'Read shipments' }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      name: 'Shipping',
      identifier: 'https://shipping.example.com',
      scopes: [{ value: 'read:shipments', description: 'Read shipments' }],
      signing_alg: 'HS256',
      token_lifetime: 86400,
    });
    expect((await old.call('GET', `/resource-servers/${created.body.id}`)).body).toEqual(created.body);
    const byIdentifier = await old.call(
      'GET',
      `/resource-servers/${encodeURIComponent('https://shipping.example.com')}`,
    );
    expect(byIdentifier.body.id).toBe(created.body.id);
    const filtered = await old.call(
      'GET',
      `/resource-servers?identifiers=${encodeURIComponent('https://shipping.example.com')}&identifiers=${encodeURIComponent(ORDERS)}`,
    );
    expect(filtered.body.map((s: Loose) => s.name).sort()).toEqual(['Orders API', 'Shipping']);

    const taken = await old.call('POST', '/resource-servers', {
      json: { identifier: 'https://shipping.example.com' },
    });
    expect(taken.status).toBe(409);
    const missing = await old.call('GET', '/resource-servers/0123456789abcdef01234567');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('The resource server does not exist');
    expect((await old.call('POST', '/resource-servers', { json: { name: 'no identifier' } })).status).toBe(
      400,
    );
  });
});

describe('scopes', () => {
  const ROLE = 'rol_0000000000000000';
  const USER = 'auth0%7Cnobody';
  /** [method, path, the scopes the token holds, the 403 message]. */
  const cases: Array<[string, string, string, string]> = [
    ['GET', '/roles', 'read:users', 'Insufficient scope, expected any of: read:roles'],
    ['POST', '/roles', 'read:roles', 'Insufficient scope, expected any of: create:roles'],
    ['GET', `/roles/${ROLE}`, 'create:roles', 'Insufficient scope, expected any of: read:roles'],
    ['PATCH', `/roles/${ROLE}`, 'read:roles', 'Insufficient scope, expected any of: update:roles'],
    ['DELETE', `/roles/${ROLE}`, 'update:roles', 'Insufficient scope, expected any of: delete:roles'],
    ['GET', `/roles/${ROLE}/permissions`, 'update:roles', 'Insufficient scope, expected any of: read:roles'],
    ['POST', `/roles/${ROLE}/permissions`, 'read:roles', 'Insufficient scope, expected any of: update:roles'],
    [
      'DELETE',
      `/roles/${ROLE}/permissions`,
      'read:roles',
      'Insufficient scope, expected any of: update:roles',
    ],
    [
      'GET',
      `/roles/${ROLE}/users`,
      'read:roles',
      'Insufficient scope, expected all of: read:users,read:roles',
    ],
    [
      'GET',
      `/roles/${ROLE}/users`,
      'read:users read:role_members',
      'Insufficient scope, expected all of: read:users,read:roles',
    ],
    [
      'POST',
      `/roles/${ROLE}/users`,
      'read:roles update:users',
      'Insufficient scope, expected any of: update:roles,create:role_members',
    ],
    [
      'GET',
      `/users/${USER}/roles`,
      'read:users read:roles',
      'Insufficient scope, expected all of: read:users,read:roles,read:role_members',
    ],
    [
      'POST',
      `/users/${USER}/roles`,
      'update:users',
      'Insufficient scope, expected all of: read:roles,update:users',
    ],
    [
      'POST',
      `/users/${USER}/roles`,
      'read:roles create:role_members',
      'Insufficient scope, expected all of: read:roles,update:users',
    ],
    ['DELETE', `/users/${USER}/roles`, 'read:roles', 'Insufficient scope, expected all of: update:users'],
    ['GET', `/users/${USER}/permissions`, 'read:roles', 'Insufficient scope, expected any of: read:users'],
    ['POST', `/users/${USER}/permissions`, 'read:users', 'Insufficient scope, expected any of: update:users'],
    [
      'DELETE',
      `/users/${USER}/permissions`,
      'read:users',
      'Insufficient scope, expected any of: update:users',
    ],
    ['GET', '/resource-servers', 'read:roles', 'Insufficient scope, expected any of: read:resource_servers'],
    [
      'POST',
      '/resource-servers',
      'read:resource_servers',
      'Insufficient scope, expected any of: create:resource_servers',
    ],
    [
      'GET',
      '/resource-servers/x',
      'read:roles',
      'Insufficient scope, expected any of: read:resource_servers',
    ],
  ];

  it('answer 403 insufficient_scope, any of or all of the scopes the endpoint names', async () => {
    for (const [method, path, scope, message] of cases) {
      const token = await managementToken(sim.tenants.old, scope);
      const a = await old.call(method, path, { token, ...(method === 'GET' ? {} : { json: {} }) });
      expect(a.status, `${method} ${path} with ${scope}`).toBe(403);
      expect(a.body, `${method} ${path} with ${scope}`).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message,
        errorCode: 'insufficient_scope',
      });
    }
  });

  it('let a token with exactly the named scopes through', async () => {
    const member = sim.tenant('old').rbac.roleByName('Member')!;
    const token = await managementToken(sim.tenants.old, 'read:users read:roles');
    expect((await old.call('GET', `/roles/${member.id}/users?take=1`, { token })).status).toBe(200);
    const fine = await managementToken(sim.tenants.old, 'create:role_members');
    const user = plainUser(2);
    expect(
      (await old.call('POST', `/roles/${member.id}/users`, { token: fine, json: { users: [user] } })).status,
    ).toBe(200);
    const all = await managementToken(sim.tenants.old, 'read:users read:roles read:role_members');
    expect((await old.call('GET', `/users/${u(user)}/roles`, { token: all })).status).toBe(200);
  });
});

describe('entity limits', () => {
  it('1,000 roles per tenant, 50 per user, 1,000 permissions per role, 1,000 direct per user, 1,000 scopes per API', async () => {
    const own = await startSimulator({ seedOld: 20 });
    try {
      const api = await Mgmt.connect(own, 'old');
      const rbac = own.tenant('old').rbac;
      const scopes = Array.from({ length: 1001 }, (_, i) => ({ value: `do:thing${i}` }));
      const tooMany = await api.call('POST', '/resource-servers', {
        json: { identifier: 'urn:big', scopes },
      });
      expect(tooMany.status).toBe(400);
      const big = await api.call('POST', '/resource-servers', {
        json: { identifier: 'urn:big', scopes: scopes.slice(0, 1000) },
      });
      expect(big.status).toBe(201);
      const thousand = scopes.slice(0, 1000).map((s) => perm(s.value, 'urn:big'));

      const role = await createRole(api, 'Everything');
      expect(
        (await api.call('POST', `/roles/${role}/permissions`, { json: { permissions: thousand } })).status,
      ).toBe(201);
      const over = await api.call('POST', `/roles/${role}/permissions`, {
        json: { permissions: [perm('read:orders')] },
      });
      expect(over.status).toBe(400);
      expect(over.body.message).toContain('limit 1000');

      const user = [...own.tenant('old').users.iterate(DB_CONNECTION)][0]!.user_id;
      expect(
        (await api.call('POST', `/users/${u(user)}/permissions`, { json: { permissions: thousand } })).status,
      ).toBe(201);
      const direct = await api.call('POST', `/users/${u(user)}/permissions`, {
        json: { permissions: [perm('read:orders')] },
      });
      expect(direct.status).toBe(400);
      expect(
        (await api.call('GET', `/users/${u(user)}/permissions?per_page=1&include_totals=true`)).body.total,
      ).toBe(1000);

      const other = [...own.tenant('old').users.iterate(DB_CONNECTION)][1]!.user_id;
      await api.call('DELETE', `/users/${u(other)}/roles`, {
        json: { roles: rbac.rolesOf(other).map((r) => r.id) },
      });
      const fifty: string[] = [];
      for (let i = 0; i < RBAC_LIMITS.rolesPerUser + 1; i++) fifty.push(await createRole(api, `Limit ${i}`));
      expect(
        (await api.call('POST', `/users/${u(other)}/roles`, { json: { roles: fifty.slice(0, 50) } })).status,
      ).toBe(204);
      const fiftyFirst = await api.call('POST', `/users/${u(other)}/roles`, { json: { roles: [fifty[50]] } });
      expect(fiftyFirst.status).toBe(400);
      expect(fiftyFirst.body.message).toContain('limit 50');
      const viaRole = await api.call('POST', `/roles/${fifty[50]}/users`, { json: { users: [user, other] } });
      expect(viaRole.status).toBe(400);
      expect(viaRole.body.message).toContain(other);
      expect((await api.call('GET', `/roles/${fifty[50]}/users`)).body).toEqual([]);

      for (let i = rbac.roles().length; i < RBAC_LIMITS.rolesPerTenant; i++) {
        rbac.addRole({
          id: `rol_fill${String(i).padStart(12, '0')}`,
          name: `Filler ${i}`,
          permissions: new Map(),
        });
      }
      const oneTooMany = await api.call('POST', '/roles', { json: { name: 'One too many' } });
      expect(oneTooMany.status).toBe(400);
      expect(oneTooMany.body.message).toContain('limit 1000');
    } finally {
      await own.close();
    }
  });
});

describe('deleting a user', () => {
  it('takes their roles and direct permissions away; the same id created again starts with none', async () => {
    const rbac = sim.tenant('old').rbac;
    const member = rbac.roleByName('Member')!;
    const victim = [...sim.tenant('old').users.iterate(DB_CONNECTION)].find(
      (x) => rbac.rolesOf(x.user_id).includes(member) && x.email !== undefined,
    )!;
    const extra = await createRole(old, 'Doomed');
    await old.call('POST', `/roles/${extra}/users`, { json: { users: [victim.user_id] } });
    await old.call('POST', `/users/${u(victim.user_id)}/permissions`, {
      json: { permissions: [perm('read:orders')] },
    });
    const before = (await old.call('GET', `/roles/${member.id}/users?per_page=1&include_totals=true`)).body
      .total;

    expect((await old.call('DELETE', `/users/${u(victim.user_id)}`)).status).toBe(204);
    expect((await old.call('GET', `/roles/${extra}/users`)).body).toEqual([]);
    expect(
      (await old.call('GET', `/roles/${member.id}/users?per_page=1&include_totals=true`)).body.total,
    ).toBe(before - 1);
    expect(await checkpointMembers(old, member.id, 100)).not.toContain(victim.user_id);

    const again = await old.call('POST', '/users', {
      json: {
        connection: DB_CONNECTION,
        user_id: victim.user_id.slice('auth0|'.length),
        email: victim.email,
        password: 'Another-Passw0rd!',
      },
    });
    expect(again.status).toBe(201);
    expect((await old.call('GET', `/users/${u(victim.user_id)}/roles`)).body).toEqual([]);
    expect((await old.call('GET', `/users/${u(victim.user_id)}/permissions`)).body).toEqual([]);
  });
});

describe('rate limits and faults', () => {
  it('apply to the RBAC routes like the others', async () => {
    const own = await startSimulator({ seedOld: 10, rateLimit: { capacity: 2, refillPerSecond: 0.1 } });
    try {
      const api = await Mgmt.connect(own, 'old');
      expect((await api.call('GET', '/roles')).status).toBe(200);
      expect((await api.call('GET', '/resource-servers')).status).toBe(200);
      const limited = await api.call('GET', '/roles');
      expect(limited.status).toBe(429);
      expect(limited.body.errorCode).toBe('too_many_requests');
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    } finally {
      await own.close();
    }
    sim.faults.add({ kind: 'error', status: 503, tenant: 'old', path: '/api/v2/roles', times: 1 });
    expect((await old.call('GET', '/roles')).status).toBe(503);
    expect((await old.call('GET', '/roles')).status).toBe(200);
  });
});
