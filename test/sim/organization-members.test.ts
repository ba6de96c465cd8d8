/**
 * Organization members of the simulated tenants: adding (10 per request, existing users only),
 * listing with both pagings and `fields=user_id,roles`, removing, member roles with their limit,
 * a user's organizations, and what deleting an organization or a user takes with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { Mgmt, managementToken } from './helpers.js';

let sim: Simulator;
let api: Mgmt;
let users: string[];

beforeAll(async () => {
  sim = await startSimulator({
    seedOld: 0,
    organizationLimits: { membersPerOrganization: 30, rolesPerMember: 3 },
  });
  api = await Mgmt.connect(sim, 'new');
  users = [];
  for (let i = 0; i < 32; i++) {
    const u = await api.call('POST', '/users', {
      json: {
        connection: DB_CONNECTION,
        email: `member${i}@example.com`,
        password: 'Secret-123!',
        name: `Member ${i}`,
      },
    });
    users.push(u.body.user_id);
  }
});

afterAll(async () => {
  await sim.close();
});

async function newRole(name: string, description?: string): Promise<{ id: string; name: string }> {
  const a = await api.call('POST', '/roles', { json: { name, ...(description ? { description } : {}) } });
  expect(a.status).toBe(200);
  return a.body;
}

async function newOrganization(name: string): Promise<string> {
  const a = await api.call('POST', '/organizations', { json: { name } });
  expect(a.status).toBe(201);
  return a.body.id;
}

async function addMembers(org: string, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 10) {
    const a = await api.call('POST', `/organizations/${org}/members`, {
      json: { members: ids.slice(i, i + 10) },
    });
    expect(a.status).toBe(204);
  }
}

const ids = (members: Array<{ user_id: string }>) => members.map((m) => m.user_id);

describe('members', () => {
  it('adds up to 10 per request (204), refuses 11 and users that do not exist, lists and removes', async () => {
    const org = await newOrganization('members-basic');
    const added = await api.call('POST', `/organizations/${org}/members`, {
      json: { members: users.slice(0, 10) },
    });
    expect(added.status).toBe(204);
    expect(added.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const eleven = await api.call('POST', `/organizations/${org}/members`, {
      json: { members: users.slice(10, 21) },
    });
    expect(eleven.status).toBe(400);
    expect(eleven.body).toMatchObject({
      errorCode: 'invalid_body',
      message: "Payload validation error: 'Array is too long (11), maximum 10' on property members.",
    });
    const ghost = await api.call('POST', `/organizations/${org}/members`, {
      json: { members: [users[10], 'auth0|000000000000000000000000'] },
    });
    expect(ghost.status).toBe(400);
    expect(ghost.body.message).toContain('auth0|000000000000000000000000');
    expect((await api.call('POST', `/organizations/${org}/members`, { json: { members: [] } })).status).toBe(
      400,
    );
    // Adding a member twice is not an error.
    expect(
      (await api.call('POST', `/organizations/${org}/members`, { json: { members: [users[0]] } })).status,
    ).toBe(204);

    const list = await api.call('GET', `/organizations/${org}/members`);
    expect(new Set(ids(list.body))).toEqual(new Set(users.slice(0, 10)));
    expect(list.body[0]).toEqual({
      user_id: users[0],
      email: 'member0@example.com',
      // Auth0's default picture: the fallback avatar named by the initials of "Member 0".
      picture: expect.stringMatching(
        /^https:\/\/s\.gravatar\.com\/avatar\/[0-9a-f]{32}\?.*avatars%2Fm0\.png$/,
      ),
      name: 'Member 0',
    });
    const removed = await api.call('DELETE', `/organizations/${org}/members`, {
      json: { members: users.slice(0, 3) },
    });
    expect(removed.status).toBe(204);
    const after = await api.call('GET', `/organizations/${org}/members?include_totals=true`);
    expect(after.body.total).toBe(7);
    expect(ids(after.body.members)).toEqual(users.slice(3, 10));
    expect(
      (
        await api.call('POST', '/organizations/org_0000000000000000/members', {
          json: { members: [users[0]] },
        })
      ).status,
    ).toBe(404);
  });

  it('pages by offset and by checkpoint; a last full page has next and an empty page follows', async () => {
    const org = await newOrganization('members-paged');
    // Added out of user-id order: listings keep the order members came in, not user ids.
    const order = [...users.slice(0, 20)].reverse();
    await addMembers(org, order);
    expect(ids((await api.call('GET', `/organizations/${org}/members`)).body)).toEqual(order);
    const page = await api.call('GET', `/organizations/${org}/members?per_page=6&page=3&include_totals=true`);
    expect(page.body).toMatchObject({ start: 18, limit: 6, total: 20 });
    expect(ids(page.body.members)).toEqual(order.slice(18));

    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const a = await api.call(
        'GET',
        `/organizations/${org}/members?take=5&include_totals=true${next === undefined ? '' : `&from=${encodeURIComponent(next)}`}`,
      );
      expect(a.body.total).toBeUndefined();
      seen.push(...ids(a.body.members));
      next = a.body.next;
      pages++;
    } while (next !== undefined);
    expect(seen).toEqual(order);
    expect(pages).toBe(5);

    const far = await api.call('GET', `/organizations/${org}/members?per_page=50&page=20`);
    expect(far.status).toBe(400);
    expect(far.body.errorCode).toBe('invalid_paging');
  });

  it('shows roles as {id, name} with fields=user_id,roles, which needs read:organization_member_roles', async () => {
    const admin = await newRole('admin', 'Admins');
    const viewer = await newRole('viewer');
    const org = await newOrganization('members-roles');
    await addMembers(org, users.slice(0, 2));
    const assigned = await api.call(
      'POST',
      `/organizations/${org}/members/${encodeURIComponent(users[0]!)}/roles`,
      {
        json: { roles: [admin.id, viewer.id] },
      },
    );
    expect(assigned.status).toBe(204);
    const list = await api.call('GET', `/organizations/${org}/members?fields=user_id,roles`);
    expect(list.body).toEqual([
      {
        user_id: users[0],
        roles: [
          { id: admin.id, name: 'admin' },
          { id: viewer.id, name: 'viewer' },
        ],
      },
      { user_id: users[1], roles: [] },
    ]);
    const token = await managementToken(sim.tenants.new, 'read:organization_members');
    const refused = await api.call('GET', `/organizations/${org}/members?fields=user_id,roles`, { token });
    expect(refused.status).toBe(403);
    expect((await api.call('GET', `/organizations/${org}/members`, { token })).status).toBe(200);
    const excluded = await api.call(
      'GET',
      `/organizations/${org}/members?fields=email,picture&include_fields=false`,
    );
    expect(Object.keys(excluded.body[0]).sort()).toEqual(['name', 'user_id']);
  });
});

describe('member roles', () => {
  it('lists, assigns and removes roles; 50 (here 3) per member; a deleted role disappears', async () => {
    const r = [];
    for (let i = 0; i < 4; i++) r.push(await newRole(`role-${i}`));
    const org = await newOrganization('member-roles');
    await addMembers(org, [users[5]!]);
    const path = `/organizations/${org}/members/${encodeURIComponent(users[5]!)}/roles`;
    expect((await api.call('GET', path)).body).toEqual([]);
    expect((await api.call('POST', path, { json: { roles: [r[0]!.id, r[1]!.id] } })).status).toBe(204);
    expect((await api.call('POST', path, { json: { roles: [r[1]!.id, r[2]!.id] } })).status).toBe(204);
    const full = await api.call('POST', path, { json: { roles: [r[3]!.id] } });
    expect(full.status).toBe(409);
    expect(full.body.message).toBe('No more roles can be assigned to this organization member.');
    const listed = await api.call('GET', `${path}?include_totals=true`);
    expect(listed.body).toMatchObject({ start: 0, limit: 50, total: 3 });
    expect(listed.body.roles.map((x: { name: string }) => x.name)).toEqual(['role-0', 'role-1', 'role-2']);
    expect((await api.call('POST', path, { json: { roles: ['rol_nope'] } })).status).toBe(400);
    expect((await api.call('DELETE', path, { json: { roles: [r[0]!.id] } })).status).toBe(204);
    expect((await api.call('DELETE', `/roles/${r[1]!.id}`)).status).toBe(200);
    expect((await api.call('GET', path)).body.map((x: { name: string }) => x.name)).toEqual(['role-2']);

    const outsider = `/organizations/${org}/members/${encodeURIComponent(users[6]!)}/roles`;
    expect((await api.call('GET', outsider)).status).toBe(404);
    expect((await api.call('POST', outsider, { json: { roles: [r[2]!.id] } })).status).toBe(400);
    const nobody = await api.call(
      'GET',
      `/organizations/${org}/members/${encodeURIComponent('auth0|nobody')}/roles`,
    );
    expect(nobody.status).toBe(404);
    expect(nobody.body.message).toBe('The user does not exist.');
  });
});

describe("a user's organizations and what deletions take with them", () => {
  it('lists the organizations of a user; deleting one removes its memberships, not the users', async () => {
    const a = await newOrganization('user-orgs-a');
    const b = await newOrganization('user-orgs-b');
    await addMembers(a, users.slice(20, 23));
    await addMembers(b, [users[20]!]);
    const path = `/users/${encodeURIComponent(users[20]!)}/organizations`;
    expect((await api.call('GET', path)).body.map((o: { name: string }) => o.name)).toEqual([
      'user-orgs-a',
      'user-orgs-b',
    ]);
    const totals = await api.call('GET', `${path}?include_totals=true&per_page=1`);
    expect(totals.body).toMatchObject({ start: 0, limit: 1, total: 2 });
    const readUsers = await managementToken(sim.tenants.new, 'read:users');
    expect((await api.call('GET', path, { token: readUsers })).status).toBe(200);
    expect((await api.call('GET', `${path}?per_page=100&page=10`)).status).toBe(400);
    expect((await api.call('GET', '/users/auth0%7Cnobody/organizations')).status).toBe(404);

    expect((await api.call('DELETE', `/organizations/${a}`)).status).toBe(204);
    expect((await api.call('GET', path)).body.map((o: { name: string }) => o.name)).toEqual(['user-orgs-b']);
    expect((await api.call('GET', `/users/${encodeURIComponent(users[21]!)}`)).status).toBe(200);
    expect((await api.call('GET', `/users/${encodeURIComponent(users[21]!)}/organizations`)).body).toEqual(
      [],
    );
  });

  it('deleting a user removes their memberships', async () => {
    const leaving = await api.call('POST', '/users', {
      json: { connection: DB_CONNECTION, email: 'leaving@example.com', password: 'Secret-123!' },
    });
    const org = await newOrganization('user-deleted');
    await addMembers(org, [leaving.body.user_id, users[25]!]);
    expect((await api.call('DELETE', `/users/${encodeURIComponent(leaving.body.user_id)}`)).status).toBe(204);
    expect(ids((await api.call('GET', `/organizations/${org}/members`)).body)).toEqual([users[25]]);
  });

  it('linking a user into another removes the memberships the linked one had', async () => {
    const made: string[] = [];
    for (const email of ['primary-org@example.com', 'secondary-org@example.com']) {
      const u = await api.call('POST', '/users', {
        json: { connection: DB_CONNECTION, email, password: 'Secret-123!' },
      });
      made.push(u.body.user_id);
    }
    const org = await newOrganization('user-linked');
    await addMembers(org, made);
    const linked = await api.call('POST', `/users/${encodeURIComponent(made[0]!)}/identities`, {
      json: { provider: 'auth0', user_id: made[1], connection_id: sim.tenants.new.connectionId },
    });
    expect(linked.status).toBe(201);
    expect(ids((await api.call('GET', `/organizations/${org}/members`)).body)).toEqual([made[0]]);
  });

  it('enforces the members-per-organization entity limit', async () => {
    const org = await newOrganization('members-full');
    await addMembers(org, users.slice(0, 30));
    const over = await api.call('POST', `/organizations/${org}/members`, { json: { members: [users[31]] } });
    expect(over.status).toBe(400);
    expect(over.body.message).toContain('limit of 30 members');
  });
});
