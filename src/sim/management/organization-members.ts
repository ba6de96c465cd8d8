/**
 * Organization members of a simulated tenant (Management API v2): /organizations/{id}/members,
 * /organizations/{id}/members/{user_id}/roles and a user's organizations
 * (/users/{id}/organizations).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { one, parseBool, q, sendManagementError, sendNoContent } from '../http.js';
import { payloadError } from '../schemas.js';
import type { Member, SimOrganization } from '../tenant/organizations.js';
import type { SimTenant } from '../tenant/tenant.js';
import { organizationJson, organizationOrAnswer } from './organizations.js';
import {
  ORGANIZATION_PAGING_CAP,
  readOffsetPaging,
  readPaging,
  sendCheckpointPage,
  sendOffsetPage,
  sendPage,
  seqAfter,
} from './paging.js';

/** Auth0's docs: "Maximum of 10 members" per request to add (or remove) organization members. */
export const MEMBERS_PER_REQUEST = 10;

const MEMBER_FIELDS = ['user_id', 'email', 'picture', 'name'] as const;

/**
 * Which member fields a listing shows. Without `fields` every field but roles; roles only when
 * asked for by name.
 */
function memberFields(fields: string | undefined, include: boolean): { base: Set<string>; roles: boolean } {
  const named = new Set(
    (fields ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
  );
  if (named.size === 0) return { base: new Set(MEMBER_FIELDS), roles: false };
  const base = new Set(MEMBER_FIELDS.filter((f) => named.has(f) === include));
  return { base, roles: include && named.has('roles') };
}

function memberIdsOrAnswer(reply: FastifyReply, component: string, body: unknown): string[] | FastifyReply {
  const problem = payloadError(component, body);
  if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
  const members = (body as { members: string[] }).members;
  if (members.length > MEMBERS_PER_REQUEST) {
    // The documented maximum, answered the way Auth0's validator words a too-long array.
    return sendManagementError(
      reply,
      400,
      `Payload validation error: 'Array is too long (${members.length}), maximum ${MEMBERS_PER_REQUEST}' on property members.`,
      'invalid_body',
    );
  }
  return members;
}

export async function organizationMembersRoutes(
  api: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  const store = tenant.organizations;

  api.get<{ Params: { id: string } }>(
    '/organizations/:id/members',
    {
      config: {
        scopes: ['read:organization_members', 'read:organization_member_roles'],
        rateLimit: 'read-organization-members',
      },
    },
    async (req, reply) => {
      const org = organizationOrAnswer(tenant, reply, req.params.id);
      if (org === undefined) return reply;
      const paging = readPaging(req, reply, {
        checkpoint: true,
        maxPage: 1000,
        capMessage: ORGANIZATION_PAGING_CAP,
      });
      if (paging === undefined) return reply;
      const query = q(req);
      const shown = memberFields(one(query.fields), parseBool(one(query.include_fields)) ?? true);
      if (shown.roles && !(req.simScopes?.has('read:organization_member_roles') ?? false)) {
        // The OAS: "To use this parameter, you must include the read:organization_member_roles scope".
        return sendManagementError(
          reply,
          403,
          'Insufficient scope, expected any of: read:organization_member_roles',
          'insufficient_scope',
        );
      }
      const render = (m: Member): Record<string, unknown> => {
        const out: Record<string, unknown> = {};
        const user = tenant.users.get(m.userId);
        if (shown.base.has('user_id')) out.user_id = m.userId;
        if (shown.base.has('email') && user?.email !== undefined) out.email = user.email;
        if (shown.base.has('picture') && user?.picture !== undefined) out.picture = user.picture;
        if (shown.base.has('name') && user?.name !== undefined) out.name = user.name;
        if (shown.roles) out.roles = store.existingRoles(m.roles).map(({ id, name }) => ({ id, name }));
        return out;
      };
      if (paging.kind === 'checkpoint') {
        const after = seqAfter(reply, paging);
        if (after === undefined) return reply;
        return sendCheckpointPage(
          reply,
          'members',
          org.members.after(after),
          paging,
          (m) => m.seq,
          render,
          false,
        );
      }
      const wanted = (paging.page + 1) * paging.perPage;
      const first: Member[] = [];
      for (const m of org.members.after()) {
        if (first.length >= wanted) break;
        first.push(m);
      }
      const page = first.slice(paging.page * paging.perPage).map(render);
      return sendPage(reply, 'members', page, paging, org.members.size);
    },
  );

  api.post<{ Params: { id: string } }>(
    '/organizations/:id/members',
    { config: { scopes: ['create:organization_members'], rateLimit: 'write-organization-members' } },
    async (req, reply) => {
      const org = organizationOrAnswer(tenant, reply, req.params.id);
      if (org === undefined) return reply;
      const ids = memberIdsOrAnswer(reply, 'CreateOrganizationMemberRequestContent', req.body ?? {});
      if (!Array.isArray(ids)) return ids;
      // Members must already exist (Auth0's docs); the 400 and its text are ours.
      const missing = ids.filter((id) => tenant.users.get(id) === undefined);
      if (missing.length > 0) {
        return sendManagementError(
          reply,
          400,
          `The user does not exist: ${missing.join(', ')}`,
          'invalid_body',
        );
      }
      const fresh = new Set(ids.filter((id) => !org.members.has(id)));
      const limit = store.limits.membersPerOrganization;
      if (org.members.size + fresh.size > limit) {
        // Entity limit (Auth0's entity-limit policy); the status and text are ours.
        return sendManagementError(
          reply,
          400,
          `The organization has reached its limit of ${limit} members.`,
          'invalid_body',
        );
      }
      for (const id of fresh) store.addMember(org, id);
      return sendNoContent(reply);
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/organizations/:id/members',
    { config: { scopes: ['delete:organization_members'], rateLimit: 'write-organization-members' } },
    async (req, reply) => {
      const org = organizationOrAnswer(tenant, reply, req.params.id);
      if (org === undefined) return reply;
      const ids = memberIdsOrAnswer(reply, 'DeleteOrganizationMembersRequestContent', req.body ?? {});
      if (!Array.isArray(ids)) return ids;
      for (const id of ids) store.removeMember(org, id);
      return sendNoContent(reply);
    },
  );

  /**
   * The organization and member of the path; undefined once the 4xx is sent. A user who exists but
   * is not a member: 404 on reading (the OAS's only 404 is for the user), 400 on writing (whose
   * OAS lists no 404); the texts are ours.
   */
  const memberOrAnswer = (
    reply: FastifyReply,
    params: { id: string; user_id: string },
    reading: boolean,
  ): SimOrganization | undefined => {
    const org = organizationOrAnswer(tenant, reply, params.id);
    if (org === undefined) return undefined;
    if (tenant.users.get(params.user_id) === undefined) {
      sendManagementError(reply, 404, 'The user does not exist.', 'inexistent_user');
      return undefined;
    }
    if (!org.members.has(params.user_id)) {
      sendManagementError(
        reply,
        reading ? 404 : 400,
        'The user is not a member of this organization.',
        reading ? undefined : 'invalid_body',
      );
      return undefined;
    }
    return org;
  };

  api.get<{ Params: { id: string; user_id: string } }>(
    '/organizations/:id/members/:user_id/roles',
    { config: { scopes: ['read:organization_member_roles'], rateLimit: 'read-organization-member-roles' } },
    async (req, reply) => {
      const paging = readOffsetPaging(req, reply, { maxPage: 1000, capMessage: ORGANIZATION_PAGING_CAP });
      if (paging === undefined) return reply;
      const org = memberOrAnswer(reply, req.params, true);
      if (org === undefined) return reply;
      const roles = store.memberRoles(org, req.params.user_id) ?? [];
      return sendOffsetPage(reply, 'roles', roles, paging, (r) => ({
        id: r.id,
        name: r.name,
        ...(r.description !== undefined ? { description: r.description } : {}),
      }));
    },
  );

  /** The role ids of a member-roles body (to assign: existing roles); undefined once the 400 is sent. */
  const roleIdsOrAnswer = (
    reply: FastifyReply,
    component: string,
    body: unknown,
    mustExist: boolean,
  ): string[] | undefined => {
    const problem = payloadError(component, body);
    if (problem !== undefined) {
      sendManagementError(reply, 400, problem, 'invalid_body');
      return undefined;
    }
    const ids = [...new Set((body as { roles: string[] }).roles)];
    const missing = mustExist ? ids.filter((id) => store.roles.role(id) === undefined) : [];
    if (missing.length > 0) {
      // A role id of the body that names no role: a bad body (the text is ours).
      sendManagementError(reply, 400, `The role does not exist: ${missing.join(', ')}`, 'invalid_body');
      return undefined;
    }
    return ids;
  };

  api.post<{ Params: { id: string; user_id: string } }>(
    '/organizations/:id/members/:user_id/roles',
    {
      config: { scopes: ['create:organization_member_roles'], rateLimit: 'write-organization-member-roles' },
    },
    async (req, reply) => {
      const org = memberOrAnswer(reply, req.params, false);
      if (org === undefined) return reply;
      const ids = roleIdsOrAnswer(reply, 'AssignOrganizationMemberRolesRequestContent', req.body ?? {}, true);
      if (ids === undefined) return reply;
      const current = (store.memberRoles(org, req.params.user_id) ?? []).map((r) => r.id);
      const next = [...current, ...ids.filter((id) => !current.includes(id))];
      if (next.length > store.limits.rolesPerMember) {
        return sendManagementError(reply, 409, 'No more roles can be assigned to this organization member.');
      }
      org.members.setRoles(req.params.user_id, next);
      return sendNoContent(reply);
    },
  );

  api.delete<{ Params: { id: string; user_id: string } }>(
    '/organizations/:id/members/:user_id/roles',
    {
      config: { scopes: ['delete:organization_member_roles'], rateLimit: 'write-organization-member-roles' },
    },
    async (req, reply) => {
      const org = memberOrAnswer(reply, req.params, false);
      if (org === undefined) return reply;
      const ids = roleIdsOrAnswer(
        reply,
        'DeleteOrganizationMemberRolesRequestContent',
        req.body ?? {},
        false,
      );
      if (ids === undefined) return reply;
      const current = org.members.roles(req.params.user_id) ?? [];
      org.members.setRoles(
        req.params.user_id,
        current.filter((id) => !ids.includes(id)),
      );
      return sendNoContent(reply);
    },
  );

  // The OAS lists read:organizations; its 403 text, what real tenants check, names read:users too.
  api.get<{ Params: { id: string } }>(
    '/users/:id/organizations',
    { config: { scopes: ['read:users', 'read:organizations'], rateLimit: 'read-user-organizations' } },
    async (req, reply) => {
      const paging = readOffsetPaging(req, reply, { maxPage: 1000, capMessage: ORGANIZATION_PAGING_CAP });
      if (paging === undefined) return reply;
      if (tenant.users.get(req.params.id) === undefined) {
        return sendManagementError(reply, 404, 'The user does not exist.', 'inexistent_user');
      }
      return sendOffsetPage(reply, 'organizations', store.organizationsOf(req.params.id), paging, (o) =>
        organizationJson(o),
      );
    },
  );
}
