/**
 * Checks the role and user-authorization routes share: request bodies against the OAS, the user
 * of the path, permissions that must name an existing API (by identifier) and one of its scopes;
 * and how a permission is listed.
 */
import type { FastifyReply } from 'fastify';
import { sendManagementError } from '../http.js';
import { payloadError } from '../schemas.js';
import type { RbacStore, SimPermission } from '../tenant/rbac.js';
import type { SimTenant } from '../tenant/tenant.js';

/** True when `body` fits the OAS request schema `component`; otherwise the 400 is sent. */
export function bodyFits(reply: FastifyReply, body: unknown, component: string): boolean {
  const problem = payloadError(component, body ?? {});
  if (problem !== undefined) void sendManagementError(reply, 400, problem, 'invalid_body');
  return problem === undefined;
}

/** True when the tenant has the user; otherwise the 404 is sent. */
export function userExists(reply: FastifyReply, tenant: SimTenant, userId: string): boolean {
  if (tenant.users.get(userId) !== undefined) return true;
  void sendManagementError(reply, 404, 'The user does not exist.', 'inexistent_user');
  return false;
}

/** True when every permission names an existing API and scope; otherwise Auth0's answer is sent. */
export function permissionsExist(
  reply: FastifyReply,
  rbac: RbacStore,
  permissions: SimPermission[],
): boolean {
  for (const p of permissions) {
    const api = rbac.resourceServerByIdentifier(p.resource_server_identifier);
    if (api === undefined) {
      // The text real tenants answer, as reported with Auth0's CLI (auth0-cli #348) and .NET SDK (auth0.net #444).
      void sendManagementError(
        reply,
        404,
        `The resource server does not exist: '${p.resource_server_identifier}'`,
      );
      return false;
    }
    if (!api.scopes.some((s) => s.value === p.permission_name)) {
      // No recorded answer for a scope the API lacks: the OAS's 400 (invalid request), naming both.
      void sendManagementError(
        reply,
        400,
        `The permission '${p.permission_name}' does not exist on resource server '${p.resource_server_identifier}'`,
        'invalid_body',
      );
      return false;
    }
  }
  return true;
}

/** A permission as GET /roles/{id}/permissions lists it (Auth0's key order). */
export function permissionJson(rbac: RbacStore, p: SimPermission): Record<string, unknown> {
  const api = rbac.resourceServerByIdentifier(p.resource_server_identifier);
  const description = api?.scopes.find((s) => s.value === p.permission_name)?.description;
  return {
    permission_name: p.permission_name,
    ...(description === undefined ? {} : { description }),
    ...(api === undefined ? {} : { resource_server_name: api.name }),
    resource_server_identifier: p.resource_server_identifier,
  };
}

/** The permissions of a request body, as stored (extra keys dropped). */
export function requestedPermissions(body: unknown): SimPermission[] {
  const list = (body as { permissions: SimPermission[] }).permissions;
  return list.map((p) => ({
    resource_server_identifier: p.resource_server_identifier,
    permission_name: p.permission_name,
  }));
}
