/**
 * A user's permissions (Management API v2): GET/POST/DELETE /users/{id}/permissions. The list
 * holds direct permissions and those the user's roles grant, each with its `sources`; POST and
 * DELETE change direct permissions only (201 `{}` and 204).
 */
import type { FastifyInstance } from 'fastify';
import { JSON_UTF8, sendManagementError } from '../http.js';
import { RBAC_LIMITS, permissionKey, type SimPermission } from '../tenant/rbac.js';
import type { SimTenant } from '../tenant/tenant.js';
import {
  bodyFits,
  permissionJson,
  permissionsExist,
  requestedPermissions,
  userExists,
} from './rbac-checks.js';
import { readPaging, sendOffsetPage } from './paging.js';

interface Source {
  source_id: string;
  source_name: string;
  source_type: 'DIRECT' | 'ROLE';
}

export async function userPermissionsRoutes(
  api: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  const rbac = tenant.rbac;
  type Id = { Params: { id: string } };

  /** Every permission the user holds, each once, with where it comes from. */
  const held = (userId: string): Array<{ permission: SimPermission; sources: Source[] }> => {
    const out = new Map<string, { permission: SimPermission; sources: Source[] }>();
    const add = (permission: SimPermission, source: Source) => {
      const key = permissionKey(permission);
      const entry = out.get(key);
      if (entry === undefined) out.set(key, { permission, sources: [source] });
      else entry.sources.push(source);
    };
    // A real tenant's direct source carries empty id and name (go-auth0's recorded traffic).
    for (const p of rbac.directPermissionsOf(userId))
      add(p, { source_id: '', source_name: '', source_type: 'DIRECT' });
    for (const role of rbac.rolesOf(userId)) {
      for (const p of role.permissions.values()) {
        add(p, { source_id: role.id, source_name: role.name, source_type: 'ROLE' });
      }
    }
    return [...out.values()];
  };

  api.get<Id>('/users/:id/permissions', { config: { scopes: ['read:users'] } }, async (req, reply) => {
    if (!userExists(reply, tenant, req.params.id)) return reply;
    const paging = readPaging(req, reply);
    if (paging === undefined || paging.kind !== 'offset') return reply;
    return sendOffsetPage(reply, 'permissions', held(req.params.id), paging, ({ permission, sources }) => ({
      ...permissionJson(rbac, permission),
      sources,
    }));
  });

  api.post<Id>('/users/:id/permissions', { config: { scopes: ['update:users'] } }, async (req, reply) => {
    if (
      !userExists(reply, tenant, req.params.id) ||
      !bodyFits(reply, req.body, 'CreateUserPermissionsRequestContent')
    )
      return reply;
    const wanted = requestedPermissions(req.body);
    if (!permissionsExist(reply, rbac, wanted)) return reply;
    const direct = new Set(rbac.directPermissionsOf(req.params.id).map(permissionKey));
    for (const p of wanted) direct.add(permissionKey(p));
    if (direct.size > RBAC_LIMITS.directPermissionsPerUser) {
      // Entity limit: the wording follows Auth0's documented organization-member limit answer.
      return sendManagementError(
        reply,
        400,
        `No more permissions can be assigned to this user (limit ${RBAC_LIMITS.directPermissionsPerUser}).`,
      );
    }
    rbac.addDirectPermissions(req.params.id, wanted);
    return reply.code(201).type(JSON_UTF8).send({});
  });

  api.delete<Id>('/users/:id/permissions', { config: { scopes: ['update:users'] } }, async (req, reply) => {
    if (
      !userExists(reply, tenant, req.params.id) ||
      !bodyFits(reply, req.body, 'DeleteUserPermissionsRequestContent')
    )
      return reply;
    const unwanted = requestedPermissions(req.body);
    if (!permissionsExist(reply, rbac, unwanted)) return reply;
    rbac.removeDirectPermissions(req.params.id, unwanted);
    return reply.code(204).type(JSON_UTF8).send();
  });
}
