/** The RBAC diff, pure: two tenants' records in, planned calls, settled relations and findings out. */
import { describe, expect, it } from 'vitest';
import { rbacFamily, RBAC_LIMITS } from '../../src/relations/rbac.js';
import {
  countOutcome,
  DEFAULT_RELATION_OPTIONS,
  unbalanced,
  type PlanEntry,
  type PlannedCall,
  type RelationOptions,
  type RelationsCounts,
} from '../../src/relations/types.js';
import { collect, items, memoryInput, type Sources } from './memory-input.js';

const API = 'https://api.example.com';
const OTHER = 'https://billing.example.com';
const perm = (name: string, api = API) => ({ resource_server_identifier: api, permission_name: name });
const users = (...ids: string[]) => ids.map((user_id) => ({ user_id }));

function oldTenant(): Sources {
  return {
    resource_servers: items([{ identifier: API }, { identifier: OTHER }]),
    roles: items([
      { id: 'rol_o1', name: 'admin', description: 'Admins' },
      { id: 'rol_o2', name: 'reader' },
      { id: 'rol_o3', name: 'billing' },
    ]),
    role_permissions: [
      ...items([perm('write:all'), perm('read:all')], 'rol_o1'),
      ...items([perm('read:all')], 'rol_o2'),
      ...items([perm('read:invoices', OTHER), perm('read:all')], 'rol_o3'),
    ],
    role_users: [
      ...items(users('auth0|a', 'auth0|b', 'auth0|c'), 'rol_o1'),
      ...items(users('auth0|a', 'auth0|d'), 'rol_o2'),
      ...items(users('auth0|b'), 'rol_o3'),
    ],
  };
}

function newTenant(): Sources {
  return {
    resource_servers: items([{ identifier: API }]),
    roles: items([
      { id: 'rol_n1', name: 'admin' },
      { id: 'rol_n9', name: 'local-only' },
    ]),
    role_permissions: [...items([perm('read:all')], 'rol_n1'), ...items([perm('x')], 'rol_n9')],
    role_users: items(users('auth0|a'), 'rol_n1'),
  };
}

async function plan(
  old: Sources,
  neu: Sources,
  inNew: string[],
  options: Partial<RelationOptions> = {},
): Promise<PlanEntry[]> {
  return collect(
    rbacFamily.diff(memoryInput({ old, new: neu }, inNew), { ...DEFAULT_RELATION_OPTIONS, ...options }),
  );
}

const calls = (entries: PlanEntry[]): PlannedCall[] =>
  entries.flatMap((e) => (e.type === 'call' ? [e.call] : []));

/** Counts as the stage would if every call succeeded. */
function tally(entries: PlanEntry[]): RelationsCounts {
  const counts: RelationsCounts = {};
  for (const e of entries) {
    if (e.type === 'call') countOutcome(counts, e.call.kind, 'added', e.call.count);
    if (e.type === 'settled')
      countOutcome(counts, e.settled.kind, e.settled.outcome, e.settled.count ?? 1, e.settled.code);
  }
  return counts;
}

describe('the RBAC diff', () => {
  it('creates missing roles by name, without permissions of missing APIs, and reports those APIs', async () => {
    const entries = await plan(oldTenant(), newTenant(), ['auth0|a', 'auth0|b', 'auth0|c', 'auth0|d']);
    const created = calls(entries).filter((c) => c.kind === 'roles_created');
    expect(created.map((c) => c.body)).toEqual([{ name: 'reader' }, { name: 'billing' }]);
    expect(created.every((c) => c.phase === 0 && c.creates?.name !== undefined)).toBe(true);
    const perms = calls(entries).filter((c) => c.kind === 'role_permissions');
    // admin differs (lacks write:all) but is left as it is without --update-roles.
    expect(perms.map((c) => [c.ref?.name, c.body])).toEqual([
      ['reader', { permissions: [perm('read:all')] }],
      ['billing', { permissions: [perm('read:all')] }],
    ]);
    const findings = entries.flatMap((e) => (e.type === 'finding' ? [e.finding] : []));
    expect(findings).toContainEqual(
      expect.objectContaining({
        type: 'missing_api',
        subject: OTHER,
        waiting: ['role "billing": read:invoices'],
      }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({ type: 'catalog_difference', subject: 'role "admin"' }),
    );
    // Waiting on a missing API is a finding, not a failure.
    expect(tally(entries).role_permissions).toMatchObject({ failed: 0, added: 2, already_present: 0 });
  });

  it('assigns only what the new tenant lacks, batched per role, and leaves absent users pending', async () => {
    const entries = await plan(oldTenant(), newTenant(), ['auth0|a', 'auth0|b', 'auth0|c']);
    const assign = calls(entries).filter((c) => c.kind === 'role_assignments');
    expect(assign.map((c) => [c.ref, c.path, c.body])).toEqual([
      [
        { type: 'role', name: 'admin', id: 'rol_n1' },
        '/roles/{ref}/users',
        { users: ['auth0|b', 'auth0|c'] },
      ],
      [{ type: 'role', name: 'reader' }, '/roles/{ref}/users', { users: ['auth0|a'] }],
      [{ type: 'role', name: 'billing' }, '/roles/{ref}/users', { users: ['auth0|b'] }],
    ]);
    const counts = tally(entries);
    expect(counts.role_assignments).toEqual({
      total: 6,
      added: 4,
      already_present: 1,
      pending_user: 1,
      failed: 0,
      failures: {},
    });
    expect(unbalanced(counts)).toEqual([]);
  });

  it('adds a differing role its missing permissions only with --update-roles, never removing any', async () => {
    const entries = await plan(oldTenant(), newTenant(), [], { updateRoles: true });
    const admin = calls(entries).filter((c) => c.kind === 'role_permissions' && c.ref?.name === 'admin');
    expect(admin.map((c) => c.body)).toEqual([{ permissions: [perm('write:all')] }]);
    expect(calls(entries).some((c) => c.method !== 'POST')).toBe(false);
  });

  it('chunks a large role into calls of roleUsersChunk users, with ids that do not change between plans', async () => {
    const many = Array.from({ length: 2501 }, (_, i) => `auth0|u${i}`);
    const old: Sources = { ...oldTenant(), role_users: items(users(...many), 'rol_o2') };
    const first = calls(await plan(old, newTenant(), many, { roleUsersChunk: 1000 }));
    const second = calls(await plan(old, newTenant(), many, { roleUsersChunk: 1000 }));
    const assign = first.filter((c) => c.kind === 'role_assignments');
    expect(assign.map((c) => c.count)).toEqual([1000, 1000, 501]);
    expect(first.map((c) => c.id)).toEqual(second.map((c) => c.id));
    expect(new Set(first.map((c) => c.id)).size).toBe(first.length);
  });

  it('refuses before sending a role past 50 roles per user, and roles past 1,000 per tenant', async () => {
    const roles = Array.from({ length: RBAC_LIMITS.rolesPerUser + 2 }, (_, i) => ({
      id: `rol_${i}`,
      name: `r${i}`,
    }));
    const old: Sources = {
      resource_servers: items([{ identifier: API }]),
      roles: items(roles),
      role_permissions: [],
      role_users: roles.flatMap((r) => items(users('auth0|many'), r.id)),
    };
    const entries = await plan(
      old,
      { roles: [], role_users: [], role_permissions: [], resource_servers: items([{ identifier: API }]) },
      ['auth0|many'],
    );
    const counts = tally(entries);
    expect(counts.role_assignments).toMatchObject({
      added: 50,
      failed: 2,
      failures: { limit_roles_per_user: 2 },
    });
    expect(entries.filter((e) => e.type === 'finding' && e.finding.type === 'limit_breach')).toHaveLength(2);

    const full: Sources = {
      resource_servers: items([{ identifier: API }]),
      roles: items(
        Array.from({ length: RBAC_LIMITS.rolesPerTenant - 1 }, (_, i) => ({
          id: `n${i}`,
          name: `local${i}`,
        })),
      ),
    };
    const capped = tally(await plan(old, full, ['auth0|many']));
    expect(capped.roles_created).toMatchObject({
      added: 1,
      failed: 51,
      failures: { limit_roles_per_tenant: 51 },
    });
    expect(capped.role_assignments).toMatchObject({
      added: 1,
      failed: 51,
      failures: { role_not_created: 51 },
    });
    expect(unbalanced(capped)).toEqual([]);
  });

  it('copies direct permissions only (not those a role gives) with --direct-permissions', async () => {
    const direct = [{ source_type: 'DIRECT' }];
    const viaRole = [{ source_type: 'ROLE', source_id: 'rol_o1', source_name: 'admin' }];
    const old: Sources = {
      ...oldTenant(),
      user_permissions: [
        ...items(
          [
            { ...perm('read:all'), sources: direct },
            { ...perm('write:all'), sources: viaRole },
          ],
          'auth0|a',
        ),
        ...items([{ ...perm('x'), sources: direct }], 'auth0|z'),
      ],
    };
    const neu: Sources = { ...newTenant(), user_permissions: [] };
    const entries = await plan(old, neu, ['auth0|a'], { directPermissions: true });
    const direct2 = calls(entries).filter((c) => c.kind === 'direct_permissions');
    expect(direct2.map((c) => [c.path, c.body])).toEqual([
      ['/users/auth0%7Ca/permissions', { permissions: [perm('read:all')] }],
    ]);
    expect(tally(entries).direct_permissions).toMatchObject({ added: 1, pending_user: 1, total: 2 });
  });

  it('writes added-records whose undo takes back exactly what the call added', () => {
    const call: PlannedCall = {
      id: 'c1',
      kind: 'role_assignments',
      tenant: 'new',
      method: 'POST',
      path: '/roles/{ref}/users',
      body: { users: ['auth0|a', 'auth0|b'] },
      ref: { type: 'role', name: 'reader' },
      phase: 1,
      count: 2,
      userIds: ['auth0|a', 'auth0|b'],
    };
    const records = rbacFamily.added(call, { runId: 'r1', at: '2026-01-01T00:00:00.000Z', refId: 'rol_n2' });
    expect(records.map((r) => [r.userId, r.undo])).toEqual([
      ['auth0|a', { method: 'DELETE', path: '/users/auth0%7Ca/roles', body: { roles: ['rol_n2'] } }],
      ['auth0|b', { method: 'DELETE', path: '/users/auth0%7Cb/roles', body: { roles: ['rol_n2'] } }],
    ]);
    const created = rbacFamily.added(
      {
        ...call,
        kind: 'roles_created',
        path: '/roles',
        creates: { type: 'role', name: 'reader' },
        userIds: [],
      },
      { runId: 'r1', at: '2026-01-01T00:00:00.000Z', createdId: 'rol_n2' },
    );
    expect(created).toEqual([
      expect.objectContaining({
        action: 'created',
        entity: { type: 'role', name: 'reader', id: 'rol_n2' },
        undo: { method: 'DELETE', path: '/roles/rol_n2' },
      }),
    ]);
  });

  it('splits a batch into one call per user or permission, with ids derived from the batch', () => {
    const call: PlannedCall = {
      id: 'rbac.assign.a.b',
      kind: 'role_assignments',
      tenant: 'new',
      method: 'POST',
      path: '/roles/{ref}/users',
      body: { users: ['auth0|a', 'auth0|b'] },
      ref: { type: 'role', name: 'reader' },
      phase: 1,
      count: 2,
      userIds: ['auth0|a', 'auth0|b'],
    };
    expect(rbacFamily.split!(call)!.map((c) => [c.id, c.body, c.count, c.userIds])).toEqual([
      ['rbac.assign.a.b.0', { users: ['auth0|a'] }, 1, ['auth0|a']],
      ['rbac.assign.a.b.1', { users: ['auth0|b'] }, 1, ['auth0|b']],
    ]);
    expect(
      rbacFamily.split!({ ...call, body: { users: ['auth0|a'] }, count: 1, userIds: ['auth0|a'] }),
    ).toBeUndefined();
    const perms = rbacFamily.split!({
      ...call,
      kind: 'role_permissions',
      path: '/roles/{ref}/permissions',
      body: { permissions: [perm('a'), perm('b')] },
      userIds: [],
      items: [perm('a'), perm('b')],
    })!;
    expect(perms.map((c) => c.body)).toEqual([{ permissions: [perm('a')] }, { permissions: [perm('b')] }]);
  });
});
