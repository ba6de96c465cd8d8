/**
 * Roles of a simulated tenant (Management API v2): /roles, /roles/{id}, a role's permissions and
 * its users. Status codes as real tenants answer them (RELATIONS-API.md): POST /roles 200, DELETE
 * /roles/{id} 200 `{}`, POST .../permissions 201 `{}` and DELETE 204, POST .../users 200 `{}`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { JSON_UTF8, one, q, sendManagementError } from '../http.js';
import { newRoleId } from '../ids.js';
import { RBAC_LIMITS, permissionKey, type MemberCursor, type SimRole } from '../tenant/rbac.js';
import type { SimTenant } from '../tenant/tenant.js';
import type { SimUser } from '../tenant/users.js';
import { bodyFits, permissionJson, permissionsExist, requestedPermissions } from './rbac-checks.js';
import { badQuery, readPaging, sendOffsetPage, sendPage } from './paging.js';

/** Offset paging over a role's users stops at this many records (MIGRATION-FACTS.md B.4). */
const OFFSET_RECORDS = 1000;

/** A role as Auth0 lists it: `{id, name, description?}`. */
export function roleJson(r: SimRole): Record<string, unknown> {
  return { id: r.id, name: r.name, ...(r.description === undefined ? {} : { description: r.description }) };
}

/** Real tenants' 404 (the OAS says "Role not found."), without an errorCode. */
export const sendRoleNotFound = (reply: FastifyReply): FastifyReply =>
  sendManagementError(reply, 404, 'The role does not exist.');

const roleUserJson = (u: SimUser): Record<string, unknown> => ({
  user_id: u.user_id,
  ...(u.email === undefined ? {} : { email: u.email }),
  ...(u.picture === undefined ? {} : { picture: u.picture }),
  ...(u.name === undefined ? {} : { name: u.name }),
});

/** `next` is opaque to clients; here it says where the member listing stands. */
const encodeCursor = (c: MemberCursor): string =>
  Buffer.from(c.phase === 'seeded' ? `s${c.position}` : `a${c.seq}`).toString('base64url');

function decodeCursor(from: string): MemberCursor | undefined {
  const m = /^([sa])(\d{1,15})$/.exec(Buffer.from(from, 'base64url').toString('latin1'));
  if (!m) return undefined;
  const n = Number(m[2]);
  return m[1] === 's' ? { phase: 'seeded', position: n } : { phase: 'assigned', seq: n };
}

export async function rolesRoutes(api: FastifyInstance, { tenant }: { tenant: SimTenant }): Promise<void> {
  const rbac = tenant.rbac;
  type Id = { Params: { id: string } };

  /** The role of the path, or undefined once the 404 is sent. */
  const roleOr404 = (reply: FastifyReply, id: string): SimRole | undefined => {
    const role = rbac.role(id);
    if (role === undefined) void sendRoleNotFound(reply);
    return role;
  };

  api.get('/roles', { config: { scopes: ['read:roles'] } }, async (req, reply) => {
    const paging = readPaging(req, reply);
    if (paging === undefined || paging.kind !== 'offset') return reply;
    // "Optional filter on name (case-insensitive)": matched on part of the name, so a client
    // looking one role up by name must compare names itself.
    const filter = one(q(req).name_filter)?.toLowerCase();
    const roles = rbac.roles().filter((r) => !filter || r.name.toLowerCase().includes(filter));
    return sendOffsetPage(reply, 'roles', roles, paging, roleJson);
  });

  api.post('/roles', { config: { scopes: ['create:roles'] } }, async (req, reply) => {
    if (!bodyFits(reply, req.body, 'CreateRoleRequestContent')) return reply;
    const body = req.body as { name: string; description?: string };
    if (rbac.roleByName(body.name) !== undefined) {
      return sendManagementError(reply, 409, 'The role already exists.');
    }
    if (rbac.roles().length >= RBAC_LIMITS.rolesPerTenant) {
      // Entity limit: the wording follows Auth0's documented organization-member limit answer.
      return sendManagementError(
        reply,
        400,
        `No more roles can be created in this tenant (limit ${RBAC_LIMITS.rolesPerTenant}).`,
      );
    }
    const role: SimRole = {
      id: newRoleId(),
      name: body.name,
      ...(body.description === undefined ? {} : { description: body.description }),
      permissions: new Map(),
    };
    rbac.addRole(role);
    return reply.type(JSON_UTF8).send(roleJson(role));
  });

  api.get<Id>('/roles/:id', { config: { scopes: ['read:roles'] } }, async (req, reply) => {
    const role = roleOr404(reply, req.params.id);
    return role === undefined ? reply : reply.type(JSON_UTF8).send(roleJson(role));
  });

  api.patch<Id>('/roles/:id', { config: { scopes: ['update:roles'] } }, async (req, reply) => {
    const role = roleOr404(reply, req.params.id);
    if (role === undefined || !bodyFits(reply, req.body, 'UpdateRoleRequestContent')) return reply;
    const body = req.body as { name?: string; description?: string };
    if (body.name !== undefined && body.name !== role.name && rbac.roleByName(body.name) !== undefined) {
      return sendManagementError(reply, 409, 'The role already exists.');
    }
    if (body.name !== undefined) role.name = body.name;
    if (body.description !== undefined) role.description = body.description;
    return reply.type(JSON_UTF8).send(roleJson(role));
  });

  api.delete<Id>('/roles/:id', { config: { scopes: ['delete:roles'] } }, async (req, reply) => {
    if (!rbac.deleteRole(req.params.id)) return sendRoleNotFound(reply);
    return reply.type(JSON_UTF8).send({});
  });

  api.get<Id>('/roles/:id/permissions', { config: { scopes: ['read:roles'] } }, async (req, reply) => {
    const role = roleOr404(reply, req.params.id);
    const paging = role === undefined ? undefined : readPaging(req, reply);
    if (role === undefined || paging === undefined || paging.kind !== 'offset') return reply;
    return sendOffsetPage(reply, 'permissions', [...role.permissions.values()], paging, (p) =>
      permissionJson(rbac, p),
    );
  });

  api.post<Id>('/roles/:id/permissions', { config: { scopes: ['update:roles'] } }, async (req, reply) => {
    const role = roleOr404(reply, req.params.id);
    if (role === undefined || !bodyFits(reply, req.body, 'AddRolePermissionsRequestContent')) return reply;
    const wanted = requestedPermissions(req.body);
    if (!permissionsExist(reply, rbac, wanted)) return reply;
    const added = new Set(wanted.map(permissionKey).filter((k) => !role.permissions.has(k)));
    if (role.permissions.size + added.size > RBAC_LIMITS.permissionsPerRole) {
      return sendManagementError(
        reply,
        400,
        `No more permissions can be added to this role (limit ${RBAC_LIMITS.permissionsPerRole}).`,
      );
    }
    for (const p of wanted)
      if (!role.permissions.has(permissionKey(p))) role.permissions.set(permissionKey(p), p);
    return reply.code(201).type(JSON_UTF8).send({});
  });

  api.delete<Id>('/roles/:id/permissions', { config: { scopes: ['update:roles'] } }, async (req, reply) => {
    const role = roleOr404(reply, req.params.id);
    if (role === undefined || !bodyFits(reply, req.body, 'DeleteRolePermissionsRequestContent')) return reply;
    const unwanted = requestedPermissions(req.body);
    if (!permissionsExist(reply, rbac, unwanted)) return reply;
    for (const p of unwanted) role.permissions.delete(permissionKey(p));
    // Real tenants answer 204 here where the OAS says 200 (RELATIONS-API.md).
    return reply.code(204).type(JSON_UTF8).send();
  });

  api.get<Id>(
    '/roles/:id/users',
    { config: { allScopes: ['read:users', 'read:roles'] } },
    async (req, reply) => {
      const role = roleOr404(reply, req.params.id);
      const paging = role === undefined ? undefined : readPaging(req, reply, { checkpoint: true });
      if (role === undefined || paging === undefined) return reply;
      if (paging.kind === 'checkpoint') {
        const start = paging.from === undefined ? undefined : decodeCursor(paging.from);
        if (paging.from !== undefined && start === undefined) {
          return badQuery(reply, `'Invalid checkpoint' on property from`) ?? reply;
        }
        const users: Record<string, unknown>[] = [];
        let next: string | undefined;
        for (const { at, user } of rbac.members(role.id, start)) {
          if (users.length === paging.take) {
            next = encodeCursor(at);
            break;
          }
          users.push(roleUserJson(user));
        }
        return reply.type(JSON_UTF8).send(next === undefined ? { users } : { users, next });
      }
      const first = paging.page * paging.perPage;
      if (first + paging.perPage > OFFSET_RECORDS) {
        // Refused from the page whose end passes 1,000 records, however few members there are.
        return sendManagementError(
          reply,
          400,
          `Requesting page ${paging.page} exceeds the allowed maximum of ${OFFSET_RECORDS} records. To fetch results beyond ${OFFSET_RECORDS}, use the checkpoint pagination method.`,
          'invalid_paging',
        );
      }
      const users: Record<string, unknown>[] = [];
      let seen = 0;
      for (const { user } of rbac.members(role.id)) {
        if (seen++ < first) continue;
        users.push(roleUserJson(user));
        if (users.length === paging.perPage) break;
      }
      return sendPage(reply, 'users', users, paging, paging.includeTotals ? rbac.memberCount(role.id) : 0);
    },
  );

  api.post<Id>(
    '/roles/:id/users',
    { config: { scopes: ['update:roles', 'create:role_members'] } },
    async (req, reply) => {
      const role = roleOr404(reply, req.params.id);
      if (role === undefined || !bodyFits(reply, req.body, 'AssignRoleUsersRequestContent')) return reply;
      const ids = [...new Set((req.body as { users: string[] }).users)];
      for (const id of ids) {
        // Neither the OAS nor a recording says what an unknown user gets; like the other user
        // endpoints, the user-not-found 404, and nobody is assigned.
        if (tenant.users.get(id) === undefined) {
          return sendManagementError(reply, 404, 'The user does not exist.', 'inexistent_user');
        }
        const held = rbac.rolesOf(id);
        if (!held.includes(role) && held.length >= RBAC_LIMITS.rolesPerUser) {
          return sendManagementError(
            reply,
            400,
            `No more roles can be assigned to user ${id} (limit ${RBAC_LIMITS.rolesPerUser}).`,
          );
        }
      }
      for (const id of ids) rbac.assignRoles(id, [role]);
      return reply.type(JSON_UTF8).send({});
    },
  );
}
