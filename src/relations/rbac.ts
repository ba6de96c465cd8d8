/**
 * Tenant roles and permissions (RBAC): the catalog (roles by name, their permissions), users'
 * roles, and with `--direct-permissions` users' own permissions. Additive: what the new tenant
 * has and the old one lacks is left alone.
 *
 * Permissions naming an API the new tenant lacks are not counted: they are reported as
 * `missing_api` findings with what waits on them (APIs are tenant configuration; once the API
 * exists, a later run with `--update-roles` adds them).
 *
 * Memory: the catalog (at most 1,000 roles of at most 1,000 permissions each) is held whole;
 * role members are read one role at a time, and only a count of roles per user is kept for the
 * 50-roles-per-user limit.
 */
import {
  OLD_USERS_SOURCE,
  type CallSuccess,
  type DiffInput,
  type RelationFamily,
  type SourceSpec,
} from './family.js';
import {
  chunk,
  stableHash,
  type AddedRecord,
  type EntityRef,
  type PlanEntry,
  type PlannedCall,
  type RelationOptions,
} from './types.js';
import { recordBase, settled, settledFailed, splitByUser } from './entries.js';

/** Auth0's entity limits for RBAC (auth0.com/docs/policies/entity-limit-policy). */
export const RBAC_LIMITS = {
  rolesPerTenant: 1000,
  rolesPerUser: 50,
  permissionsPerRole: 1000,
  directPermissionsPerUser: 1000,
} as const;

export interface Permission {
  resource_server_identifier: string;
  permission_name: string;
}

const SOURCES: readonly SourceSpec[] = [
  {
    name: 'resource_servers',
    tenants: ['old', 'new'],
    path: '/resource-servers',
    key: 'resource_servers',
    paging: 'offset',
    fields: ['identifier', 'name'],
    optional: true,
  },
  {
    name: 'roles',
    tenants: ['old', 'new'],
    path: '/roles',
    key: 'roles',
    paging: 'offset',
    fields: ['id', 'name', 'description'],
  },
  {
    name: 'role_permissions',
    tenants: ['old', 'new'],
    path: '/roles/{parent}/permissions',
    key: 'permissions',
    paging: 'offset',
    fields: ['resource_server_identifier', 'permission_name'],
    each: { source: 'roles' },
  },
  {
    name: 'role_users',
    tenants: ['old', 'new'],
    path: '/roles/{parent}/users',
    key: 'users',
    // Offset paging refuses past 1,000 members; checkpoint paging does not.
    paging: 'checkpoint',
    fields: ['user_id'],
    each: { source: 'roles' },
  },
  {
    name: 'user_permissions',
    tenants: ['old'],
    path: '/users/{parent}/permissions',
    key: 'permissions',
    paging: 'offset',
    fields: ['resource_server_identifier', 'permission_name', 'sources'],
    each: { source: OLD_USERS_SOURCE, tenant: 'old' },
    when: (o) => o.directPermissions,
  },
  {
    // Only the users holding direct permissions in the old tenant, and only those in the new one.
    name: 'user_permissions',
    tenants: ['new'],
    path: '/users/{parent}/permissions',
    key: 'permissions',
    paging: 'offset',
    fields: ['resource_server_identifier', 'permission_name', 'sources'],
    each: {
      source: 'user_permissions',
      tenant: 'old',
      distinct: true,
      usersInNew: true,
      where: (r) => isDirect(r.item),
    },
    when: (o) => o.directPermissions,
  },
];

const permKey = (p: Permission): string => `${p.resource_server_identifier} ${p.permission_name}`;
const enc = encodeURIComponent;

function asPermission(item: Record<string, unknown>): Permission {
  return {
    resource_server_identifier: String(item.resource_server_identifier ?? ''),
    permission_name: String(item.permission_name ?? ''),
  };
}

/** A permission held directly (not only through a role). Absent `sources` counts as direct. */
export function isDirect(item: Record<string, unknown>): boolean {
  const sources = item.sources;
  if (!Array.isArray(sources)) return true;
  return sources.some((s) => (s as { source_type?: unknown } | null)?.source_type === 'DIRECT');
}

interface Role {
  id: string;
  name: string;
  description?: string;
  permissions: Map<string, Permission>;
}

async function readCatalog(input: DiffInput, tenant: 'old' | 'new'): Promise<Map<string, Role>> {
  const byName = new Map<string, Role>();
  const byId = new Map<string, Role>();
  for await (const { item } of input.read(tenant, 'roles')) {
    const role: Role = {
      id: String(item.id),
      name: String(item.name),
      ...(typeof item.description === 'string' ? { description: item.description } : {}),
      permissions: new Map(),
    };
    byName.set(role.name, role);
    byId.set(role.id, role);
  }
  for await (const { parent, item } of input.read(tenant, 'role_permissions')) {
    const role = parent === undefined ? undefined : byId.get(parent);
    const p = asPermission(item);
    role?.permissions.set(permKey(p), p);
  }
  return byName;
}

async function readApis(input: DiffInput, tenant: 'old' | 'new'): Promise<Set<string> | undefined> {
  if (input.unavailable(tenant, 'resource_servers')) return undefined;
  const out = new Set<string>();
  for await (const { item } of input.read(tenant, 'resource_servers')) out.add(String(item.identifier));
  return out;
}

const roleRef = (role: { name: string }, id?: string): EntityRef => ({
  type: 'role',
  name: role.name,
  ...(id === undefined ? {} : { id }),
});

async function* diff(input: DiffInput, options: RelationOptions): AsyncGenerator<PlanEntry> {
  const oldRoles = await readCatalog(input, 'old');
  const newRoles = await readCatalog(input, 'new');
  const newApis = await readApis(input, 'new');
  if (newApis === undefined) {
    yield {
      type: 'finding',
      finding: {
        type: 'missing_api',
        subject: 'resource servers',
        detail:
          "The new tenant's APIs could not be read (read:resource_servers): every permission is sent as it is, and one naming a missing API fails.",
      },
    };
  }
  const apiExists = (identifier: string): boolean => newApis === undefined || newApis.has(identifier);
  /** Missing API → what waits on it. */
  const missing = new Map<string, string[]>();
  const waitOn = (api: string, what: string): void => {
    const list = missing.get(api) ?? [];
    list.push(what);
    missing.set(api, list);
  };

  // The catalog: roles to create, roles that differ.
  let roleCount = newRoles.size;
  /** Old role name → its ref in the new tenant, or undefined when it will not exist. */
  const target = new Map<string, EntityRef | undefined>();
  for (const role of oldRoles.values()) {
    const existing = newRoles.get(role.name);
    const usable: Permission[] = [];
    for (const p of role.permissions.values()) {
      if (apiExists(p.resource_server_identifier)) usable.push(p);
      else waitOn(p.resource_server_identifier, `role "${role.name}": ${p.permission_name}`);
    }
    const skipped = role.permissions.size - usable.length;
    if (existing === undefined) {
      if (roleCount >= RBAC_LIMITS.rolesPerTenant) {
        target.set(role.name, undefined);
        yield {
          type: 'finding',
          finding: {
            type: 'limit_breach',
            subject: `role "${role.name}"`,
            detail: `The new tenant would pass ${RBAC_LIMITS.rolesPerTenant} roles: not created.`,
          },
        };
        yield settledFailed('roles_created', roleRef(role), 'limit_roles_per_tenant');
        continue;
      }
      roleCount++;
      const ref = roleRef(role);
      target.set(role.name, ref);
      yield {
        type: 'call',
        call: {
          id: `rbac.role.${stableHash(role.name)}`,
          kind: 'roles_created',
          tenant: 'new',
          method: 'POST',
          path: '/roles',
          body: {
            name: role.name,
            ...(role.description === undefined ? {} : { description: role.description }),
          },
          creates: ref,
          phase: 0,
          count: 1,
          userIds: [],
        },
      };
      yield* permissionCalls(ref, usable, options, 0);
      continue;
    }
    const ref = roleRef(role, existing.id);
    target.set(role.name, ref);
    const lacking = usable.filter((p) => !existing.permissions.has(permKey(p)));
    const present = usable.length - lacking.length;
    if (lacking.length === 0 && skipped === 0) {
      if (present > 0) yield settled('role_permissions', 'already_present', ref, present);
      continue;
    }
    yield {
      type: 'finding',
      finding: {
        type: 'catalog_difference',
        subject: `role "${role.name}"`,
        detail:
          `The new tenant's role lacks ${lacking.length + skipped} of its ${role.permissions.size} permissions` +
          (lacking.length === 0
            ? ' (their APIs are missing).'
            : options.updateRoles
              ? ': added (--update-roles).'
              : `: ${lacking.map(permKey).slice(0, 10).join(', ')}${lacking.length > 10 ? ', …' : ''} (left as it is; --update-roles adds them).`),
      },
    };
    // Permissions of a role that differs count only when --update-roles makes them this run's work.
    if (!options.updateRoles) continue;
    if (present > 0) yield settled('role_permissions', 'already_present', ref, present);
    yield* permissionCalls(ref, lacking, options, existing.permissions.size);
  }

  // Assignments, one role at a time. Roles per user: what the new tenant holds, plus what we add.
  const rolesPerUser = new Map<string, number>();
  for (const role of newRoles.values()) {
    for await (const { item } of input.read('new', 'role_users', role.id)) {
      const id = String(item.user_id);
      rolesPerUser.set(id, (rolesPerUser.get(id) ?? 0) + 1);
    }
  }
  for (const role of oldRoles.values()) {
    const ref = target.get(role.name);
    const existing = newRoles.get(role.name);
    const members = new Set<string>();
    if (existing !== undefined) {
      for await (const { item } of input.read('new', 'role_users', existing.id))
        members.add(String(item.user_id));
    }
    const toAdd: string[] = [];
    for await (const { item } of input.read('old', 'role_users', role.id)) {
      const userId = String(item.user_id);
      if (ref === undefined) {
        yield settledFailed('role_assignments', roleRef(role), 'role_not_created', 1, userId);
      } else if (members.has(userId)) {
        yield settled('role_assignments', 'already_present', ref, 1, userId);
      } else if (!(await input.userInNew(userId))) {
        yield settled('role_assignments', 'pending_user', ref, 1, userId);
      } else if ((rolesPerUser.get(userId) ?? 0) >= RBAC_LIMITS.rolesPerUser) {
        yield {
          type: 'finding',
          finding: {
            type: 'limit_breach',
            subject: `user ${userId}`,
            detail: `Would hold more than ${RBAC_LIMITS.rolesPerUser} roles in the new tenant: role "${role.name}" not assigned.`,
          },
        };
        yield settledFailed('role_assignments', ref, 'limit_roles_per_user', 1, userId);
      } else {
        rolesPerUser.set(userId, (rolesPerUser.get(userId) ?? 0) + 1);
        toAdd.push(userId);
      }
    }
    if (ref === undefined) continue;
    // Ids: the entity's hash and the chunk's place, unique by construction within a plan.
    for (const [i, users] of chunk(toAdd, options.roleUsersChunk).entries()) {
      yield {
        type: 'call',
        call: {
          id: `rbac.assign.${stableHash(role.name)}.${i}`,
          kind: 'role_assignments',
          tenant: 'new',
          method: 'POST',
          path: '/roles/{ref}/users',
          body: { users },
          ref,
          phase: 1,
          count: users.length,
          userIds: users,
        },
      };
    }
  }

  if (options.directPermissions) yield* directPermissions(input, options, apiExists, waitOn);

  for (const [api, waiting] of missing) {
    yield {
      type: 'finding',
      finding: {
        type: 'missing_api',
        subject: api,
        detail: `The new tenant has no API "${api}" (APIs are tenant configuration, e.g. the Auth0 Deploy CLI): ${waiting.length} permission(s) wait on it.`,
        waiting,
      },
    };
  }
}

async function* directPermissions(
  input: DiffInput,
  options: RelationOptions,
  apiExists: (identifier: string) => boolean,
  waitOn: (api: string, what: string) => void,
): AsyncGenerator<PlanEntry> {
  for await (const userId of input.parents('old', 'user_permissions')) {
    const wanted: Permission[] = [];
    for await (const { item } of input.read('old', 'user_permissions', userId)) {
      if (isDirect(item)) wanted.push(asPermission(item));
    }
    if (wanted.length === 0) continue;
    const self: EntityRef = { type: 'user', name: userId, id: userId };
    if (!(await input.userInNew(userId))) {
      yield settled('direct_permissions', 'pending_user', self, wanted.length, userId);
      continue;
    }
    const held = new Set<string>();
    for await (const { item } of input.read('new', 'user_permissions', userId)) {
      if (isDirect(item)) held.add(permKey(asPermission(item)));
    }
    const toAdd: Permission[] = [];
    for (const p of wanted) {
      if (held.has(permKey(p))) {
        yield settled('direct_permissions', 'already_present', self, 1, userId);
      } else if (!apiExists(p.resource_server_identifier)) {
        waitOn(p.resource_server_identifier, `user ${userId}: ${p.permission_name}`);
      } else if (held.size + toAdd.length >= RBAC_LIMITS.directPermissionsPerUser) {
        yield settledFailed('direct_permissions', self, 'limit_permissions_per_user', 1, userId);
      } else {
        toAdd.push(p);
      }
    }
    for (const [i, permissions] of chunk(toAdd, options.permissionsChunk).entries()) {
      yield {
        type: 'call',
        call: {
          id: `rbac.direct.${stableHash(userId)}.${i}`,
          kind: 'direct_permissions',
          tenant: 'new',
          method: 'POST',
          path: `/users/${enc(userId)}/permissions`,
          body: { permissions },
          phase: 1,
          count: permissions.length,
          userIds: [userId],
          items: permissions.map((p) => ({ ...p })),
        },
      };
    }
  }
}

function* permissionCalls(
  ref: EntityRef,
  permissions: Permission[],
  options: RelationOptions,
  alreadyHeld: number,
): Generator<PlanEntry> {
  const room = Math.max(0, RBAC_LIMITS.permissionsPerRole - alreadyHeld);
  const fits = permissions.slice(0, room);
  const over = permissions.length - fits.length;
  if (over > 0) {
    yield {
      type: 'finding',
      finding: {
        type: 'limit_breach',
        subject: `role "${ref.name}"`,
        detail: `Would pass ${RBAC_LIMITS.permissionsPerRole} permissions: ${over} not added.`,
      },
    };
    yield settledFailed('role_permissions', ref, 'limit_permissions_per_role', over);
  }
  for (const [i, part] of chunk(fits, options.permissionsChunk).entries()) {
    yield {
      type: 'call',
      call: {
        id: `rbac.roleperm.${stableHash(ref.name)}.${i}`,
        kind: 'role_permissions',
        tenant: 'new',
        method: 'POST',
        path: '/roles/{ref}/permissions',
        body: { permissions: part },
        ref,
        phase: 1,
        count: part.length,
        userIds: [],
        items: part.map((p) => ({ ...p })),
      },
    };
  }
}

function added(call: PlannedCall, success: CallSuccess): AddedRecord[] {
  const base = recordBase(call, success);
  switch (call.kind) {
    case 'roles_created': {
      const id = success.createdId ?? '';
      return [
        {
          ...base,
          action: 'created',
          entity: { type: 'role', name: call.creates?.name ?? '', id },
          undo: { method: 'DELETE', path: `/roles/${enc(id)}` },
        },
      ];
    }
    case 'role_permissions': {
      const id = success.refId ?? '';
      return (call.items ?? []).map((item) => ({
        ...base,
        action: 'assigned' as const,
        entity: { type: 'role', name: call.ref?.name ?? '', id },
        item,
        undo: {
          method: 'DELETE' as const,
          path: `/roles/${enc(id)}/permissions`,
          body: { permissions: [item] },
        },
      }));
    }
    case 'role_assignments': {
      const id = success.refId ?? '';
      return call.userIds.map((userId) => ({
        ...base,
        action: 'assigned' as const,
        entity: { type: 'role', name: call.ref?.name ?? '', id },
        userId,
        undo: { method: 'DELETE' as const, path: `/users/${enc(userId)}/roles`, body: { roles: [id] } },
      }));
    }
    case 'direct_permissions': {
      const userId = call.userIds[0] ?? '';
      return (call.items ?? []).map((item) => ({
        ...base,
        action: 'assigned' as const,
        entity: { type: 'user', name: userId, id: userId },
        userId,
        item,
        undo: {
          method: 'DELETE' as const,
          path: `/users/${enc(userId)}/permissions`,
          body: { permissions: [item] },
        },
      }));
    }
    default:
      return [];
  }
}

/** A batch of users or permissions as one call each (ids derived from the batch's). */
function split(call: PlannedCall): PlannedCall[] | undefined {
  if (call.kind === 'role_assignments' && call.userIds.length > 1) return splitByUser(call, 'users');
  if (
    (call.kind === 'role_permissions' || call.kind === 'direct_permissions') &&
    (call.items?.length ?? 0) > 1
  ) {
    return call.items!.map((item, i) => ({
      ...call,
      id: `${call.id}.${i}`,
      body: { permissions: [item] },
      count: 1,
      items: [item],
    }));
  }
  return undefined;
}

export const rbacFamily: RelationFamily = {
  name: 'rbac',
  kinds: ['roles_created', 'role_permissions', 'role_assignments', 'direct_permissions'],
  sources: SOURCES,
  diff,
  added,
  split,
  lookup: (ref) =>
    ref.type === 'role'
      ? { path: `/roles?name_filter=${enc(ref.name)}&per_page=100`, key: 'roles' }
      : undefined,
};
