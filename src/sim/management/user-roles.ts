/**
 * A user's tenant roles (Management API v2): GET/POST/DELETE /users/{id}/roles. Each wants all
 * of the scopes its 403 names; POST and DELETE answer 204.
 */
import type { FastifyInstance } from 'fastify';
import { JSON_UTF8, sendManagementError } from '../http.js';
import { RBAC_LIMITS, type SimRole } from '../tenant/rbac.js';
import type { SimTenant } from '../tenant/tenant.js';
import { readPaging, sendOffsetPage } from './paging.js';
import { bodyFits, userExists } from './rbac-checks.js';
import { roleJson, sendRoleNotFound } from './roles.js';

export async function userRolesRoutes(
  api: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  const rbac = tenant.rbac;
  type Id = { Params: { id: string } };

  api.get<Id>(
    '/users/:id/roles',
    { config: { allScopes: ['read:users', 'read:roles', 'read:role_members'] } },
    async (req, reply) => {
      if (!userExists(reply, tenant, req.params.id)) return reply;
      const paging = readPaging(req, reply);
      if (paging === undefined || paging.kind !== 'offset') return reply;
      return sendOffsetPage(reply, 'roles', rbac.rolesOf(req.params.id), paging, roleJson);
    },
  );

  api.post<Id>(
    '/users/:id/roles',
    { config: { allScopes: ['read:roles', 'update:users'] } },
    async (req, reply) => {
      if (
        !userExists(reply, tenant, req.params.id) ||
        !bodyFits(reply, req.body, 'AssignUserRolesRequestContent')
      )
        return reply;
      const roles: SimRole[] = [];
      for (const id of new Set((req.body as { roles: string[] }).roles)) {
        const role = rbac.role(id);
        // The OAS names no answer for an unknown role; the role endpoints' 404 it is.
        if (role === undefined) return sendRoleNotFound(reply);
        roles.push(role);
      }
      const held = rbac.rolesOf(req.params.id);
      if (new Set([...held, ...roles]).size > RBAC_LIMITS.rolesPerUser) {
        // Entity limit: the wording follows Auth0's documented organization-member limit answer.
        return sendManagementError(
          reply,
          400,
          `No more roles can be assigned to this user (limit ${RBAC_LIMITS.rolesPerUser}).`,
        );
      }
      rbac.assignRoles(req.params.id, roles);
      return reply.code(204).type(JSON_UTF8).send();
    },
  );

  api.delete<Id>('/users/:id/roles', { config: { allScopes: ['update:users'] } }, async (req, reply) => {
    if (
      !userExists(reply, tenant, req.params.id) ||
      !bodyFits(reply, req.body, 'DeleteUserRolesRequestContent')
    )
      return reply;
    // A role the user does not hold (or that does not exist) is simply not there afterwards.
    const roles = (req.body as { roles: string[] }).roles.flatMap((id) => rbac.role(id) ?? []);
    rbac.unassignRoles(req.params.id, roles);
    return reply.code(204).type(JSON_UTF8).send();
  });
}
