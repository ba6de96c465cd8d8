/**
 * Organizations: the organizations themselves (matched by name, created with their display name,
 * branding and metadata), their enabled connections (mapped by connection name), memberships and
 * each member's organization roles (by role name). Additive: what the new tenant has and the old
 * one lacks is left alone.
 *
 * Memory: the organizations of both tenants (names and ids), the new tenant's connection and role
 * names are held whole; members are read one organization at a time.
 */
import type { CallSuccess, DiffInput, RelationFamily, SourceSpec } from './family.js';
import {
  chunk,
  fillRefs,
  stableHash,
  type AddedRecord,
  type EntityRef,
  type PlanEntry,
  type PlannedCall,
  type RelationOptions,
} from './types.js';
import { limitBreach, recordBase, settled, settledFailed, splitByUser } from './entries.js';

/**
 * Auth0's entity limits for organizations (auth0.com/docs/policies/entity-limit-policy, public
 * cloud defaults), checked before anything is sent.
 */
export const ORGANIZATION_LIMITS = {
  organizationsPerTenant: 100_000,
  membersPerOrganization: 100_000,
  connectionsPerOrganization: 10,
  rolesPerMember: 50,
} as const;

/** Members per `POST /organizations/{id}/members`: Auth0's documented maximum. */
export const MEMBERS_PER_REQUEST = 10;

const SOURCES: readonly SourceSpec[] = [
  {
    name: 'organizations',
    tenants: ['old', 'new'],
    path: '/organizations',
    key: 'organizations',
    // Offset paging refuses past 1,000 organizations; checkpoint paging does not.
    paging: 'checkpoint',
    fields: ['id', 'name', 'display_name', 'branding', 'metadata'],
  },
  {
    name: 'enabled_connections',
    tenants: ['old', 'new'],
    path: '/organizations/{parent}/enabled_connections',
    key: 'enabled_connections',
    paging: 'offset',
    fields: [
      'connection_id',
      'assign_membership_on_login',
      'show_as_button',
      'is_signup_enabled',
      'connection',
    ],
    each: { source: 'organizations' },
  },
  {
    name: 'members',
    tenants: ['old', 'new'],
    path: '/organizations/{parent}/members',
    key: 'members',
    paging: 'checkpoint',
    query: { fields: 'user_id,roles', include_fields: 'true' },
    fields: ['user_id', 'roles'],
    each: { source: 'organizations' },
  },
  {
    // The new tenant's connections by name, to map the enabled connections onto.
    name: 'connections',
    tenants: ['new'],
    path: '/connections',
    key: 'connections',
    paging: 'offset',
    fields: ['id', 'name', 'strategy'],
  },
  {
    // The new tenant's roles by name (the RBAC family creates missing ones; see member roles).
    name: 'roles',
    tenants: ['new'],
    path: '/roles',
    key: 'roles',
    paging: 'offset',
    fields: ['id', 'name'],
  },
];

const enc = encodeURIComponent;

interface Org {
  id: string;
  name: string;
  display_name?: string;
  branding?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

interface Link {
  connection_id: string;
  /** The connection's name, which maps it between tenants. */
  name: string;
  assign_membership_on_login?: boolean;
  show_as_button?: boolean;
  is_signup_enabled?: boolean;
}

async function readOrganizations(input: DiffInput, tenant: 'old' | 'new'): Promise<Map<string, Org>> {
  const byName = new Map<string, Org>();
  for await (const { item } of input.read(tenant, 'organizations')) {
    const org: Org = { id: String(item.id), name: String(item.name) };
    if (typeof item.display_name === 'string') org.display_name = item.display_name;
    if (isObject(item.branding)) org.branding = item.branding;
    if (isObject(item.metadata)) org.metadata = item.metadata;
    byName.set(org.name, org);
  }
  return byName;
}

async function readLinks(input: DiffInput, tenant: 'old' | 'new', orgId: string): Promise<Link[]> {
  const out: Link[] = [];
  for await (const { item } of input.read(tenant, 'enabled_connections', orgId)) {
    const connection = isObject(item.connection) ? item.connection : {};
    const link: Link = { connection_id: String(item.connection_id), name: String(connection.name ?? '') };
    for (const flag of ['assign_membership_on_login', 'show_as_button', 'is_signup_enabled'] as const) {
      if (typeof item[flag] === 'boolean') link[flag] = item[flag];
    }
    out.push(link);
  }
  return out;
}

/** Members of one organization: user id → the names of their organization roles. */
async function readMembers(
  input: DiffInput,
  tenant: 'old' | 'new',
  orgId: string,
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for await (const { item } of input.read(tenant, 'members', orgId)) {
    const roles = new Set<string>();
    if (Array.isArray(item.roles)) {
      for (const r of item.roles as unknown[])
        if (isObject(r) && typeof r.name === 'string') roles.add(r.name);
    }
    out.set(String(item.user_id), roles);
  }
  return out;
}

async function readNames(input: DiffInput, source: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const { item } of input.read('new', source)) out.set(String(item.name), String(item.id));
  return out;
}

const orgRef = (name: string, id?: string): EntityRef => ({
  type: 'organization',
  name,
  ...(id === undefined ? {} : { id }),
});

async function* diff(input: DiffInput, _options: RelationOptions): AsyncGenerator<PlanEntry> {
  const oldOrgs = await readOrganizations(input, 'old');
  const newOrgs = await readOrganizations(input, 'new');
  const connections = await readNames(input, 'connections');
  const roles = await readNames(input, 'roles');
  /** Connection name → the organizations waiting on it. */
  const missingConnections = new Map<string, string[]>();
  let orgCount = newOrgs.size;

  for (const org of oldOrgs.values()) {
    const existing = newOrgs.get(org.name);
    let ref: EntityRef | undefined;
    if (existing !== undefined) {
      ref = orgRef(org.name, existing.id);
      yield settled('organizations_created', 'already_present', ref, 1);
    } else if (orgCount >= ORGANIZATION_LIMITS.organizationsPerTenant) {
      yield limitBreach(
        `organization "${org.name}"`,
        `The new tenant would pass ${ORGANIZATION_LIMITS.organizationsPerTenant} organizations: not created.`,
      );
      yield settledFailed('organizations_created', orgRef(org.name), 'limit_organizations_per_tenant');
    } else {
      orgCount++;
      ref = orgRef(org.name);
      yield {
        type: 'call',
        call: {
          id: `org.create.${stableHash(org.name)}`,
          kind: 'organizations_created',
          tenant: 'new',
          method: 'POST',
          path: '/organizations',
          body: {
            name: org.name,
            ...(org.display_name !== undefined && { display_name: org.display_name }),
            ...(org.branding !== undefined && { branding: org.branding }),
            ...(org.metadata !== undefined && { metadata: org.metadata }),
          },
          creates: ref,
          phase: 0,
          count: 1,
          userIds: [],
        },
      };
    }

    yield* connectionEntries(input, org, existing, ref, connections, missingConnections);
    yield* memberEntries(input, org, existing, ref, roles);
  }

  for (const [name, waiting] of missingConnections) {
    yield {
      type: 'finding',
      finding: {
        type: 'missing_connection',
        subject: `connection "${name}"`,
        detail: `The new tenant has no connection named "${name}" (connections are tenant configuration, never invented here): ${waiting.length} organization(s) wait on it.`,
        waiting,
      },
    };
  }
}

async function* connectionEntries(
  input: DiffInput,
  org: Org,
  existing: Org | undefined,
  ref: EntityRef | undefined,
  connections: Map<string, string>,
  missing: Map<string, string[]>,
): AsyncGenerator<PlanEntry> {
  const links = await readLinks(input, 'old', org.id);
  if (links.length === 0) return;
  const held = new Set(
    existing === undefined ? [] : (await readLinks(input, 'new', existing.id)).map((l) => l.connection_id),
  );
  let count = held.size;
  for (const link of links) {
    const connectionId = connections.get(link.name);
    const entity = ref ?? orgRef(org.name);
    if (ref === undefined) {
      yield settledFailed('organization_connections', entity, 'organization_not_created');
    } else if (connectionId === undefined) {
      const list = missing.get(link.name) ?? [];
      list.push(org.name);
      missing.set(link.name, list);
      yield settledFailed('organization_connections', entity, 'missing_connection');
    } else if (held.has(connectionId)) {
      yield settled('organization_connections', 'already_present', entity, 1);
    } else if (count >= ORGANIZATION_LIMITS.connectionsPerOrganization) {
      yield limitBreach(
        `organization "${org.name}"`,
        `Would pass ${ORGANIZATION_LIMITS.connectionsPerOrganization} enabled connections: "${link.name}" not enabled.`,
      );
      yield settledFailed('organization_connections', entity, 'limit_connections_per_organization');
    } else {
      count++;
      yield {
        type: 'call',
        call: {
          id: `org.conn.${stableHash(org.name)}.${stableHash(link.name)}`,
          kind: 'organization_connections',
          tenant: 'new',
          method: 'POST',
          path: '/organizations/{ref}/enabled_connections',
          body: {
            connection_id: connectionId,
            ...(link.assign_membership_on_login !== undefined && {
              assign_membership_on_login: link.assign_membership_on_login,
            }),
            ...(link.show_as_button !== undefined && { show_as_button: link.show_as_button }),
            ...(link.is_signup_enabled !== undefined && { is_signup_enabled: link.is_signup_enabled }),
          },
          ref: entity,
          phase: 1,
          count: 1,
          userIds: [],
          items: [{ connection_id: connectionId, connection: link.name }],
        },
      };
    }
  }
}

async function* memberEntries(
  input: DiffInput,
  org: Org,
  existing: Org | undefined,
  ref: EntityRef | undefined,
  roles: Map<string, string>,
): AsyncGenerator<PlanEntry> {
  const before =
    existing === undefined ? new Map<string, Set<string>>() : await readMembers(input, 'new', existing.id);
  const entity = ref ?? orgRef(org.name);
  let members = before.size;
  const toAdd: string[] = [];
  /** Member → roles to assign, for members who are (or become) members of the new organization. */
  const roleCalls: Array<{ userId: string; names: string[] }> = [];

  for (const [userId, oldRoles] of await readMembers(input, 'old', org.id)) {
    const held = before.get(userId);
    if (ref === undefined) {
      yield settledFailed('memberships', entity, 'organization_not_created', 1, userId);
      if (oldRoles.size > 0)
        yield settledFailed('member_roles', entity, 'organization_not_created', oldRoles.size, userId);
      continue;
    }
    if (held !== undefined) {
      yield settled('memberships', 'already_present', entity, 1, userId);
    } else if (!(await input.userInNew(userId))) {
      yield settled('memberships', 'pending_user', entity, 1, userId);
      if (oldRoles.size > 0) yield settled('member_roles', 'pending_user', entity, oldRoles.size, userId);
      continue;
    } else if (members >= ORGANIZATION_LIMITS.membersPerOrganization) {
      yield limitBreach(
        `organization "${org.name}"`,
        `Would pass ${ORGANIZATION_LIMITS.membersPerOrganization} members: ${userId} not added.`,
      );
      yield settledFailed('memberships', entity, 'limit_members_per_organization', 1, userId);
      if (oldRoles.size > 0)
        yield settledFailed('member_roles', entity, 'membership_not_added', oldRoles.size, userId);
      continue;
    } else {
      members++;
      toAdd.push(userId);
    }

    if (oldRoles.size === 0) continue;
    const has = held ?? new Set<string>();
    let count = has.size;
    const names: string[] = [];
    for (const name of oldRoles) {
      if (has.has(name)) {
        yield settled('member_roles', 'already_present', entity, 1, userId);
      } else if (count >= ORGANIZATION_LIMITS.rolesPerMember) {
        yield limitBreach(
          `user ${userId}`,
          `Would hold more than ${ORGANIZATION_LIMITS.rolesPerMember} roles in organization "${org.name}": role "${name}" not assigned.`,
        );
        yield settledFailed('member_roles', entity, 'limit_roles_per_member', 1, userId);
      } else {
        count++;
        names.push(name);
      }
    }
    if (names.length > 0) roleCalls.push({ userId, names });
  }

  if (ref === undefined) return;
  // Ids unique by construction within a plan: the organization and the chunk's place.
  for (const [n, users] of chunk(toAdd, MEMBERS_PER_REQUEST).entries()) {
    yield {
      type: 'call',
      call: {
        id: `org.members.${stableHash(org.name)}.${n}`,
        kind: 'memberships',
        tenant: 'new',
        method: 'POST',
        path: '/organizations/{ref}/members',
        body: { members: users },
        ref,
        phase: 1,
        count: users.length,
        userIds: users,
      },
    };
  }
  // After the memberships (phase 1): Auth0 assigns organization roles to members only. A role the
  // new tenant lacks is created by the RBAC family in phase 0 of the same run: named by a ref.
  for (const { userId, names } of roleCalls) {
    const refs: Record<string, EntityRef> = {};
    const ids = names.map((name, i) => {
      const id = roles.get(name);
      if (id !== undefined) return id;
      refs[`r${i}`] = { type: 'role', name };
      return `{ref:r${i}}`;
    });
    yield {
      type: 'call',
      call: {
        id: `org.roles.${stableHash(org.name)}.${stableHash(userId)}.${stableHash(names.join('\n'))}`,
        kind: 'member_roles',
        tenant: 'new',
        method: 'POST',
        path: `/organizations/{ref}/members/${enc(userId)}/roles`,
        body: { roles: ids },
        ref,
        ...(Object.keys(refs).length > 0 && { refs }),
        phase: 2,
        count: ids.length,
        userIds: [userId],
        items: ids.map((id, i) => ({ role_id: id, role: names[i]! })),
      },
    };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function added(call: PlannedCall, success: CallSuccess): AddedRecord[] {
  const base = recordBase(call, success);
  const name = (call.ref ?? call.creates)?.name ?? '';
  const orgId = success.refId ?? '';
  switch (call.kind) {
    case 'organizations_created': {
      const id = success.createdId ?? '';
      return [
        {
          ...base,
          action: 'created',
          entity: { type: 'organization', name, id },
          undo: { method: 'DELETE', path: `/organizations/${enc(id)}` },
        },
      ];
    }
    case 'organization_connections':
      return (call.items ?? []).map((item) => ({
        ...base,
        action: 'assigned' as const,
        entity: { type: 'organization', name, id: orgId },
        item,
        undo: {
          method: 'DELETE' as const,
          path: `/organizations/${enc(orgId)}/enabled_connections/${enc(item.connection_id ?? '')}`,
        },
      }));
    case 'memberships':
      return call.userIds.map((userId) => ({
        ...base,
        action: 'assigned' as const,
        entity: { type: 'organization', name, id: orgId },
        userId,
        undo: {
          method: 'DELETE' as const,
          path: `/organizations/${enc(orgId)}/members`,
          body: { members: [userId] },
        },
      }));
    case 'member_roles': {
      const userId = call.userIds[0] ?? '';
      return (call.items ?? []).map((planned) => {
        // A role created this run is known by its ref until the call resolved it.
        const item = fillRefs({ path: '', body: planned }, success.refIds ?? {}).body as Record<
          string,
          string
        >;
        return {
          ...base,
          action: 'assigned' as const,
          entity: { type: 'organization', name, id: orgId },
          userId,
          item,
          undo: {
            method: 'DELETE' as const,
            path: `/organizations/${enc(orgId)}/members/${enc(userId)}/roles`,
            body: { roles: [item.role_id] },
          },
        };
      });
    }
    default:
      return [];
  }
}

/** A batch of members, or a member's roles, as one call each (ids derived from the batch's). */
function split(call: PlannedCall): PlannedCall[] | undefined {
  if (call.kind === 'memberships' && call.userIds.length > 1) return splitByUser(call, 'members');
  const roles = (call.body as { roles?: unknown } | undefined)?.roles;
  if (call.kind === 'member_roles' && Array.isArray(roles) && roles.length > 1) {
    return roles.map((role, i) => {
      // Keep only the ref the part names (`{ref:<key>}`), if any.
      const key = /^\{ref:([\w.-]+)\}$/.exec(String(role))?.[1];
      const { refs: _refs, ...rest } = call;
      const ref = key === undefined ? undefined : call.refs?.[key];
      return {
        ...rest,
        id: `${call.id}.${i}`,
        body: { roles: [role] },
        count: 1,
        ...(key !== undefined && ref !== undefined && { refs: { [key]: ref } }),
        ...(call.items?.[i] !== undefined && { items: [call.items[i]!] }),
      };
    });
  }
  return undefined;
}

export const organizationsFamily: RelationFamily = {
  name: 'organizations',
  kinds: ['organizations_created', 'organization_connections', 'memberships', 'member_roles'],
  sources: SOURCES,
  diff,
  added,
  split,
  lookup: (ref) => {
    // By name, at any size (a listing pages by offset only up to 1,000 organizations).
    if (ref.type === 'organization') return { path: `/organizations/name/${enc(ref.name)}` };
    // Member roles name roles the RBAC family creates.
    if (ref.type === 'role')
      return { path: `/roles?name_filter=${enc(ref.name)}&per_page=100`, key: 'roles' };
    return undefined;
  },
};
