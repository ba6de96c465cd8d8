/**
 * The organizations diff, pure: two tenants' organizations, enabled connections, members and
 * member roles in; planned calls, settled relations and findings out.
 */
import { describe, expect, it } from 'vitest';
import {
  MEMBERS_PER_REQUEST,
  ORGANIZATION_LIMITS,
  organizationsFamily,
} from '../../src/relations/organizations.js';
import { RELATION_FAMILIES, familyOfKind } from '../../src/relations/registry.js';
import {
  countOutcome,
  DEFAULT_RELATION_OPTIONS,
  unbalanced,
  type PlanEntry,
  type PlannedCall,
  type RelationsCounts,
} from '../../src/relations/types.js';
import { collect, items, memoryInput, type Sources } from './memory-input.js';

const member = (user_id: string, ...roles: string[]) => ({
  user_id,
  roles: roles.map((name) => ({ id: `rol_old_${name}`, name })),
});
const link = (name: string, id: string, flags: Record<string, boolean> = {}) => ({
  connection_id: id,
  connection: { name, strategy: 'auth0' },
  ...flags,
});

function oldTenant(): Sources {
  return {
    organizations: items([
      {
        id: 'org_o1',
        name: 'acme',
        display_name: 'Acme Inc.',
        branding: { colors: { primary: '#112233' } },
        metadata: { tier: 'gold' },
      },
      { id: 'org_o2', name: 'globex', display_name: 'Globex' },
    ]),
    enabled_connections: [
      ...items(
        [
          link('users', 'con_old_users', { assign_membership_on_login: false, is_signup_enabled: false }),
          link('corp-saml', 'con_old_saml', { show_as_button: true }),
        ],
        'org_o1',
      ),
      ...items([link('users', 'con_old_users', { assign_membership_on_login: true })], 'org_o2'),
    ],
    members: [
      ...items(
        [
          member('auth0|a', 'admin'),
          member('auth0|b'),
          member('auth0|c', 'admin', 'viewer'),
          member('auth0|p', 'admin'),
        ],
        'org_o1',
      ),
      ...items([member('auth0|a', 'viewer', 'ghost')], 'org_o2'),
    ],
  };
}

function newTenant(): Sources {
  return {
    organizations: items([{ id: 'org_n2', name: 'globex' }]),
    enabled_connections: items([link('users', 'con_new_users')], 'org_n2'),
    members: items([member('auth0|a', 'viewer')], 'org_n2'),
    connections: items([
      { id: 'con_new_users', name: 'users', strategy: 'auth0' },
      { id: 'con_new_google', name: 'google-oauth2', strategy: 'google-oauth2' },
    ]),
    roles: items([
      { id: 'rol_new_admin', name: 'admin' },
      { id: 'rol_new_viewer', name: 'viewer' },
    ]),
  };
}

const IN_NEW = ['auth0|a', 'auth0|b', 'auth0|c'];

function plan(old: Sources, neu: Sources, inNew: string[] = IN_NEW): Promise<PlanEntry[]> {
  return collect(organizationsFamily.diff(memoryInput({ old, new: neu }, inNew), DEFAULT_RELATION_OPTIONS));
}

const calls = (entries: PlanEntry[], kind?: string): PlannedCall[] =>
  entries.flatMap((e) => (e.type === 'call' && (kind === undefined || e.call.kind === kind) ? [e.call] : []));

function tally(entries: PlanEntry[]): RelationsCounts {
  const counts: RelationsCounts = {};
  for (const e of entries) {
    if (e.type === 'call') countOutcome(counts, e.call.kind, 'added', e.call.count);
    if (e.type === 'settled')
      countOutcome(counts, e.settled.kind, e.settled.outcome, e.settled.count ?? 1, e.settled.code);
  }
  return counts;
}

describe('the organizations diff', () => {
  it('creates a missing organization by name with its display name, branding and metadata; an existing one is already present', async () => {
    const entries = await plan(oldTenant(), newTenant());
    const created = calls(entries, 'organizations_created');
    expect(created).toEqual([
      {
        id: expect.stringMatching(/^org\.create\./),
        kind: 'organizations_created',
        tenant: 'new',
        method: 'POST',
        path: '/organizations',
        body: {
          name: 'acme',
          display_name: 'Acme Inc.',
          branding: { colors: { primary: '#112233' } },
          metadata: { tier: 'gold' },
        },
        creates: { type: 'organization', name: 'acme' },
        phase: 0,
        count: 1,
        userIds: [],
      },
    ]);
    expect(tally(entries).organizations_created).toMatchObject({ total: 2, added: 1, already_present: 1 });
  });

  it('maps enabled connections by name with their flags, and reports a missing connection with who waits on it', async () => {
    const entries = await plan(oldTenant(), newTenant());
    expect(calls(entries, 'organization_connections')).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/organizations/{ref}/enabled_connections',
        ref: { type: 'organization', name: 'acme' },
        body: { connection_id: 'con_new_users', assign_membership_on_login: false, is_signup_enabled: false },
        phase: 1,
        count: 1,
      }),
    ]);
    expect(tally(entries).organization_connections).toMatchObject({
      total: 3,
      added: 1,
      already_present: 1,
      failed: 1,
      failures: { missing_connection: 1 },
    });
    const findings = entries.flatMap((e) => (e.type === 'finding' ? [e.finding] : []));
    expect(findings).toContainEqual(
      expect.objectContaining({
        type: 'missing_connection',
        subject: 'connection "corp-saml"',
        waiting: ['acme'],
      }),
    );
  });

  it('adds members in chunks of 10, leaves users not in the new tenant pending, and assigns member roles by name after them', async () => {
    const entries = await plan(oldTenant(), newTenant());
    const memberships = calls(entries, 'memberships');
    expect(memberships).toEqual([
      expect.objectContaining({
        path: '/organizations/{ref}/members',
        ref: { type: 'organization', name: 'acme' },
        body: { members: ['auth0|a', 'auth0|b', 'auth0|c'] },
        phase: 1,
        count: 3,
        userIds: ['auth0|a', 'auth0|b', 'auth0|c'],
      }),
    ]);
    const roles = calls(entries, 'member_roles');
    expect(roles.map((c) => [c.path, c.body, c.phase, c.ref?.name, c.refs])).toEqual([
      ['/organizations/{ref}/members/auth0%7Ca/roles', { roles: ['rol_new_admin'] }, 2, 'acme', undefined],
      [
        '/organizations/{ref}/members/auth0%7Cc/roles',
        { roles: ['rol_new_admin', 'rol_new_viewer'] },
        2,
        'acme',
        undefined,
      ],
      // "ghost" is not in the new tenant yet: the RBAC family creates it in phase 0 of the same run.
      [
        '/organizations/{ref}/members/auth0%7Ca/roles',
        { roles: ['{ref:r0}'] },
        2,
        'globex',
        { r0: { type: 'role', name: 'ghost' } },
      ],
    ]);
    const counts = tally(entries);
    // acme: a, b, c added, p pending; globex: a already a member.
    expect(counts.memberships).toMatchObject({ total: 5, added: 3, pending_user: 1, already_present: 1 });
    // acme: a admin, c admin+viewer added, p admin pending; globex: a viewer present, ghost added.
    expect(counts.member_roles).toMatchObject({
      total: 6,
      added: 4,
      pending_user: 1,
      already_present: 1,
      failed: 0,
    });
    expect(unbalanced(counts)).toEqual([]);
  });

  it('plans nothing the second time, once the new tenant holds what the first run added', async () => {
    const old = oldTenant();
    const neu = newTenant();
    neu.organizations!.push(...items([{ id: 'org_n1', name: 'acme' }]));
    neu.enabled_connections!.push(...items([link('users', 'con_new_users')], 'org_n1'));
    neu.roles!.push(...items([{ id: 'rol_new_ghost', name: 'ghost' }]));
    neu.members = items([member('auth0|a', 'viewer', 'ghost')], 'org_n2');
    neu.members!.push(
      ...items(
        [member('auth0|a', 'admin'), member('auth0|b'), member('auth0|c', 'admin', 'viewer')],
        'org_n1',
      ),
    );
    const entries = await plan(old, neu);
    expect(calls(entries)).toEqual([]);
    const counts = tally(entries);
    for (const kind of organizationsFamily.kinds) expect(counts[kind]?.added ?? 0).toBe(0);
    expect(counts.memberships).toMatchObject({ already_present: 4, pending_user: 1 });

    // The pending user arrives: the next run adds just them and their role.
    const later = await plan(old, neu, [...IN_NEW, 'auth0|p']);
    expect(calls(later).map((c) => [c.kind, c.userIds])).toEqual([
      ['memberships', ['auth0|p']],
      ['member_roles', ['auth0|p']],
    ]);
  });

  it('gives every call a deterministic id, and chunks of at most 10 members', async () => {
    const old = oldTenant();
    const many = Array.from({ length: 25 }, (_, i) => `auth0|m${i}`);
    old.members!.push(
      ...items(
        many.map((id) => member(id)),
        'org_o2',
      ),
    );
    const first = await plan(old, newTenant(), [...IN_NEW, ...many]);
    const second = await plan(old, newTenant(), [...IN_NEW, ...many]);
    expect(calls(first).map((c) => c.id)).toEqual(calls(second).map((c) => c.id));
    expect(new Set(calls(first).map((c) => c.id)).size).toBe(calls(first).length);
    const globex = calls(first, 'memberships').filter((c) => c.ref?.name === 'globex');
    expect(globex.map((c) => c.count)).toEqual([10, 10, 5]);
    expect(MEMBERS_PER_REQUEST).toBe(10);
  });

  it('checks entity limits before sending: connections per organization, roles per member', async () => {
    const old = oldTenant();
    const neu = newTenant();
    neu.organizations!.push(...items([{ id: 'org_n1', name: 'acme' }]));
    const full = Array.from({ length: ORGANIZATION_LIMITS.connectionsPerOrganization }, (_, i) =>
      link(`other-${i}`, `con_other_${i}`),
    );
    neu.enabled_connections!.push(...items(full, 'org_n1'));
    const fiftyRoles = Array.from({ length: ORGANIZATION_LIMITS.rolesPerMember }, (_, i) => `r${i}`);
    neu.members!.push(...items([member('auth0|a', ...fiftyRoles)], 'org_n1'));
    const entries = await plan(old, neu);
    const counts = tally(entries);
    expect(counts.organization_connections?.failures).toMatchObject({
      limit_connections_per_organization: 1,
    });
    expect(counts.member_roles?.failures).toMatchObject({ limit_roles_per_member: 1 });
    const breaches = entries.flatMap((e) =>
      e.type === 'finding' && e.finding.type === 'limit_breach' ? [e.finding] : [],
    );
    expect(breaches.map((b) => b.subject)).toEqual(['organization "acme"', 'user auth0|a']);
    expect(unbalanced(counts)).toEqual([]);
  });

  it('writes added-records that rollback can undo', async () => {
    const entries = await plan(oldTenant(), newTenant());
    const success = { runId: 'r1', at: '2026-01-01T00:00:00.000Z', refId: 'org_new', createdId: 'org_new' };
    const create = calls(entries, 'organizations_created')[0]!;
    expect(organizationsFamily.added(create, success)).toEqual([
      expect.objectContaining({
        action: 'created',
        entity: { type: 'organization', name: 'acme', id: 'org_new' },
        undo: { method: 'DELETE', path: '/organizations/org_new' },
      }),
    ]);
    const members = organizationsFamily.added(calls(entries, 'memberships')[0]!, success);
    expect(members.map((r) => r.undo)).toContainEqual({
      method: 'DELETE',
      path: '/organizations/org_new/members',
      body: { members: ['auth0|b'] },
    });
    const roles = organizationsFamily.added(calls(entries, 'member_roles')[1]!, success);
    expect(roles.map((r) => r.undo.body)).toEqual([
      { roles: ['rol_new_admin'] },
      { roles: ['rol_new_viewer'] },
    ]);
    const ghost = calls(entries, 'member_roles')[2]!;
    const resolved = organizationsFamily.added(ghost, { ...success, refIds: { r0: 'rol_new_ghost' } });
    expect(resolved.map((r) => [r.item, r.undo.body])).toEqual([
      [{ role_id: 'rol_new_ghost', role: 'ghost' }, { roles: ['rol_new_ghost'] }],
    ]);
    const link = organizationsFamily.added(calls(entries, 'organization_connections')[0]!, success);
    expect(link[0]!.undo).toEqual({
      method: 'DELETE',
      path: '/organizations/org_new/enabled_connections/con_new_users',
    });
  });

  it('splits a refused batch into one call per member, or per role, each with only its own ref', async () => {
    const entries = await plan(oldTenant(), newTenant());
    const members = organizationsFamily.split!(calls(entries, 'memberships')[0]!)!;
    expect(members.map((c) => [c.body, c.count, c.userIds])).toEqual([
      [{ members: ['auth0|a'] }, 1, ['auth0|a']],
      [{ members: ['auth0|b'] }, 1, ['auth0|b']],
      [{ members: ['auth0|c'] }, 1, ['auth0|c']],
    ]);
    expect(new Set(members.map((c) => c.id)).size).toBe(3);
    const roles = organizationsFamily.split!(calls(entries, 'member_roles')[1]!)!;
    expect(roles.map((c) => [c.body, c.items, c.refs])).toEqual([
      [{ roles: ['rol_new_admin'] }, [{ role_id: 'rol_new_admin', role: 'admin' }], undefined],
      [{ roles: ['rol_new_viewer'] }, [{ role_id: 'rol_new_viewer', role: 'viewer' }], undefined],
    ]);
    const withRef = { ...calls(entries, 'member_roles')[2]!, body: { roles: ['rol_x', '{ref:r0}'] } };
    withRef.items = [
      { role_id: 'rol_x', role: 'x' },
      { role_id: '{ref:r0}', role: 'ghost' },
    ];
    const parts = organizationsFamily.split!(withRef)!;
    expect(parts.map((c) => c.refs)).toEqual([undefined, { r0: { type: 'role', name: 'ghost' } }]);
    // A single member or role is not split.
    expect(organizationsFamily.split!(calls(entries, 'member_roles')[0]!)).toBeUndefined();
  });

  it('is registered after RBAC, whose roles its member roles name', () => {
    expect(RELATION_FAMILIES.map((f) => f.name).slice(0, 2)).toEqual(['rbac', 'organizations']);
    expect(familyOfKind('memberships')).toBe(organizationsFamily);
  });
});
