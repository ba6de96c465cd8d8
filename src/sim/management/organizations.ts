/**
 * Organizations of a simulated tenant (Management API v2): /organizations, /organizations/{id},
 * /organizations/name/{name} and /organizations/{id}/enabled_connections[/{connectionId}].
 * Members and member roles are in organization-members.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JSON_UTF8, one, q, sendManagementError, sendNoContent } from '../http.js';

import { payloadError } from '../schemas.js';
import type { OrganizationConnectionSettings, SimOrganization } from '../tenant/organizations.js';
import type { SimConnection, SimTenant } from '../tenant/tenant.js';
import {
  ORGANIZATION_PAGING_CAP,
  readOffsetPaging,
  readPaging,
  sendCheckpointPage,
  sendOffsetPage,
  seqAfter,
} from './paging.js';

/** Real tenants' 404 (RELATIONS-API.md; the OAS says "The organization does not exist."). */
export const NO_ORGANIZATION = 'No organization found by that id or name';
/** Real tenants' 404 for a connection an organization does not have (RELATIONS-API.md). */
const NO_CONNECTION = 'No connection found by that id';
/** Recorded from a real tenant (go-auth0's organization tests), errorCode `invalid_body`. */
const SIGNUP_NEEDS_MEMBERSHIP =
  'Only database connections with assign_membership_on_login = true support is_signup_enabled = true.';

/** An organization as the API shows it; a `read:organizations_summary` token sees id and names only. */
export function organizationJson(org: SimOrganization, summary = false): Record<string, unknown> {
  const out: Record<string, unknown> = { id: org.id, name: org.name };
  if (org.display_name !== undefined) out.display_name = org.display_name;
  if (summary) return out;
  if (org.branding !== undefined) out.branding = structuredClone(org.branding);
  if (org.metadata !== undefined) out.metadata = { ...org.metadata };
  return out;
}

function pathTooLong(
  reply: FastifyReply,
  name: string,
  value: string,
  max: number,
): FastifyReply | undefined {
  if (value.length <= max) return undefined;
  return sendManagementError(
    reply,
    400,
    `Path validation error: 'String is too long (${value.length} chars), maximum ${max}' on property ${name}.`,
    'invalid_uri',
  );
}

/** The organization of the path; undefined once the 400 (id too long) or 404 answer is sent. */
export function organizationOrAnswer(
  tenant: SimTenant,
  reply: FastifyReply,
  id: string,
): SimOrganization | undefined {
  if (pathTooLong(reply, 'id', id, 50) !== undefined) return undefined;
  const org = tenant.organizations.get(id);
  if (org === undefined) sendManagementError(reply, 404, NO_ORGANIZATION);
  return org;
}

function connectionJson(
  tenant: SimTenant,
  connectionId: string,
  s: OrganizationConnectionSettings,
): Record<string, unknown> {
  const c = tenant.connectionById(connectionId);
  return {
    connection_id: connectionId,
    assign_membership_on_login: s.assign_membership_on_login,
    show_as_button: s.show_as_button,
    is_signup_enabled: s.is_signup_enabled,
    connection: { name: c?.name ?? '', strategy: c?.strategy ?? '' },
  };
}

/**
 * Auth0's check on an organization connection's settings: sign-up through an organization needs a
 * database connection that grants membership on login. Undefined when the settings are fine.
 */
function settingsProblem(connection: SimConnection, s: OrganizationConnectionSettings): string | undefined {
  if (s.is_signup_enabled && (connection.strategy !== 'auth0' || !s.assign_membership_on_login)) {
    return SIGNUP_NEEDS_MEMBERSHIP;
  }
  return undefined;
}

interface ConnectionRequest {
  connection_id: string;
  assign_membership_on_login?: boolean;
  show_as_button?: boolean;
  is_signup_enabled?: boolean;
}

/**
 * Checks connections to enable on an organization: each must exist, appear once, have settings
 * Auth0 accepts and stay within the per-organization limit. Returns the settings or the answer sent.
 */
function connectionsToEnable(
  tenant: SimTenant,
  reply: FastifyReply,
  org: SimOrganization | undefined,
  requested: ConnectionRequest[],
): Array<[string, OrganizationConnectionSettings]> | FastifyReply {
  const out: Array<[string, OrganizationConnectionSettings]> = [];
  const limit = tenant.organizations.limits.connectionsPerOrganization;
  for (const r of requested) {
    const connection = tenant.connectionById(r.connection_id);
    if (connection === undefined) return sendManagementError(reply, 404, NO_CONNECTION);
    // Not in a recording: a connection enabled twice is refused as a bad body.
    if (org?.connections.has(r.connection_id) === true || out.some(([id]) => id === r.connection_id)) {
      return sendManagementError(
        reply,
        400,
        `The connection ${r.connection_id} is already enabled for this organization.`,
        'invalid_body',
      );
    }
    const settings: OrganizationConnectionSettings = {
      assign_membership_on_login: r.assign_membership_on_login ?? false,
      show_as_button: r.show_as_button ?? true,
      is_signup_enabled: r.is_signup_enabled ?? false,
    };
    const problem = settingsProblem(connection, settings);
    if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
    out.push([r.connection_id, settings]);
  }
  if ((org?.connections.size ?? 0) + out.length > limit) {
    // The create-organization schema says "(Max of 10 connections allowed)"; the status is ours.
    return sendManagementError(
      reply,
      400,
      `An organization can have at most ${limit} enabled connections.`,
      'invalid_body',
    );
  }
  return out;
}

const SORTABLE = new Set(['name', 'display_name', 'created_at']);

/** Offset listing's `sort` (`field:1` or `field:-1`); undefined once the 400 is sent. */
function sorter(
  req: FastifyRequest,
  reply: FastifyReply,
): ((a: SimOrganization, b: SimOrganization) => number) | null | undefined {
  const sort = one(q(req).sort);
  if (sort === undefined || sort === '') return null;
  const m = /^([a-z_]+):(1|-1)$/.exec(sort);
  if (!m || !SORTABLE.has(m[1]!)) {
    sendManagementError(
      reply,
      400,
      `Query validation error: 'Invalid sort: ${sort}; use name, display_name or created_at with :1 or :-1' on property sort.`,
      'invalid_query_string',
    );
    return undefined;
  }
  const dir = m[2] === '1' ? 1 : -1;
  const field = m[1]!;
  const key = (o: SimOrganization): string | number =>
    field === 'created_at' ? o.createdAtMs : field === 'name' ? o.name : (o.display_name ?? '');
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return (ka < kb ? -1 : ka > kb ? 1 : a.seq - b.seq) * dir;
  };
}

export async function organizationsRoutes(
  api: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  const store = tenant.organizations;

  api.get(
    '/organizations',
    {
      config: {
        scopes: ['read:organizations', 'read:organizations_summary'],
        scopeMessage: 'Insufficient scope, expected any of: read:organizations',
        rateLimit: 'read-organizations',
      },
    },
    async (req, reply) => {
      const paging = readPaging(req, reply, {
        checkpoint: true,
        maxPage: 1000,
        capMessage: ORGANIZATION_PAGING_CAP,
      });
      if (paging === undefined) return reply;
      const summary = !(req.simScopes?.has('read:organizations') ?? false);
      const render = (o: SimOrganization) => organizationJson(o, summary);
      if (paging.kind === 'checkpoint') {
        const after = seqAfter(reply, paging);
        if (after === undefined) return reply;
        return sendCheckpointPage(
          reply,
          'organizations',
          store.after(after),
          paging,
          (o) => o.seq,
          render,
          true,
        );
      }
      const compare = sorter(req, reply);
      if (compare === undefined) return reply;
      const list = store.list();
      if (compare !== null) list.sort(compare);
      return sendOffsetPage(reply, 'organizations', list, paging, render);
    },
  );

  api.post(
    '/organizations',
    { config: { scopes: ['create:organizations'], rateLimit: 'write-organizations' } },
    async (req, reply) => {
      const body = req.body ?? {};
      const problem = payloadError('CreateOrganizationRequestContent', body);
      if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
      const spec = body as {
        name: string;
        display_name?: string;
        branding?: Record<string, unknown>;
        metadata?: Record<string, string | null>;
        enabled_connections?: ConnectionRequest[];
      };
      // The OAS lists create:organization_connections beside create:organizations: it is needed
      // for the enabled connections a new organization comes with.
      if (
        spec.enabled_connections !== undefined &&
        !(req.simScopes?.has('create:organization_connections') ?? false)
      ) {
        return sendManagementError(
          reply,
          403,
          'Insufficient scope, expected any of: create:organization_connections',
          'insufficient_scope',
        );
      }
      if (store.byName(spec.name) !== undefined) {
        return sendManagementError(reply, 409, 'An organization with this name already exists.');
      }
      if (store.size >= store.limits.organizationsPerTenant) {
        // Entity limit (Auth0's entity-limit policy); the status and text are ours.
        return sendManagementError(
          reply,
          400,
          `The tenant has reached its limit of ${store.limits.organizationsPerTenant} organizations.`,
          'invalid_body',
        );
      }
      const connections = connectionsToEnable(tenant, reply, undefined, spec.enabled_connections ?? []);
      if (!Array.isArray(connections)) return connections;
      const org = store.create({
        name: spec.name,
        ...(spec.display_name !== undefined ? { display_name: spec.display_name } : {}),
        ...(spec.branding !== undefined ? { branding: structuredClone(spec.branding) } : {}),
        ...(spec.metadata !== undefined ? { metadata: withoutNulls(spec.metadata) } : {}),
      });
      for (const [id, settings] of connections) org.connections.set(id, settings);
      const out = organizationJson(org);
      if (spec.enabled_connections !== undefined) {
        out.enabled_connections = connections.map(([id, s]) => connectionJson(tenant, id, s));
      }
      return reply.code(201).type(JSON_UTF8).send(out);
    },
  );

  api.get<{ Params: { id: string } }>(
    '/organizations/:id',
    {
      config: {
        scopes: ['read:organizations', 'read:organizations_summary'],
        scopeMessage: 'Insufficient scope, expected any of: read:organizations',
        rateLimit: 'read-organization',
      },
    },
    async (req, reply) => {
      const org = organizationOrAnswer(tenant, reply, req.params.id);
      if (org === undefined) return reply;
      const summary = !(req.simScopes?.has('read:organizations') ?? false);
      return reply.type(JSON_UTF8).send(organizationJson(org, summary));
    },
  );

  api.get<{ Params: { name: string } }>(
    '/organizations/name/:name',
    { config: { scopes: ['read:organizations'], rateLimit: 'read-organization-by-name' } },
    async (req, reply) => {
      if (pathTooLong(reply, 'name', req.params.name, 50) !== undefined) return reply;
      const org = store.byName(req.params.name);
      if (org === undefined) return sendManagementError(reply, 404, NO_ORGANIZATION);
      return reply.type(JSON_UTF8).send(organizationJson(org));
    },
  );

  api.patch<{ Params: { id: string } }>(
    '/organizations/:id',
    { config: { scopes: ['update:organizations'], rateLimit: 'write-organizations' } },
    async (req, reply) => {
      const org = organizationOrAnswer(tenant, reply, req.params.id);
      if (org === undefined) return reply;
      const body = req.body ?? {};
      const problem = payloadError('UpdateOrganizationRequestContent', body);
      if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
      const patch = body as {
        name?: string;
        display_name?: string;
        branding?: Record<string, unknown>;
        metadata?: Record<string, string | null>;
      };
      if (patch.name !== undefined && patch.name !== org.name) {
        if (store.byName(patch.name) !== undefined) {
          return sendManagementError(reply, 409, 'An organization with this name already exists.');
        }
        store.rename(org, patch.name);
      }
      if (patch.display_name !== undefined) org.display_name = patch.display_name;
      if (patch.branding !== undefined) org.branding = structuredClone(patch.branding);
      if (patch.metadata !== undefined) {
        // A null value removes the key, as in users' metadata.
        org.metadata = withoutNulls({ ...org.metadata, ...patch.metadata });
      }
      return reply.type(JSON_UTF8).send(organizationJson(org));
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/organizations/:id',
    { config: { scopes: ['delete:organizations'], rateLimit: 'write-organizations' } },
    async (req, reply) => {
      const org = organizationOrAnswer(tenant, reply, req.params.id);
      if (org === undefined) return reply;
      store.delete(org.id);
      return sendNoContent(reply);
    },
  );

  api.get<{ Params: { id: string } }>(
    '/organizations/:id/enabled_connections',
    { config: { scopes: ['read:organization_connections'], rateLimit: 'read-organization-connections' } },
    async (req, reply) => {
      const org = organizationOrAnswer(tenant, reply, req.params.id);
      if (org === undefined) return reply;
      const paging = readOffsetPaging(req, reply);
      if (paging === undefined) return reply;
      return sendOffsetPage(reply, 'enabled_connections', [...org.connections], paging, ([id, s]) =>
        connectionJson(tenant, id, s),
      );
    },
  );

  api.post<{ Params: { id: string } }>(
    '/organizations/:id/enabled_connections',
    { config: { scopes: ['create:organization_connections'], rateLimit: 'write-organization-connections' } },
    async (req, reply) => {
      const org = organizationOrAnswer(tenant, reply, req.params.id);
      if (org === undefined) return reply;
      const body = req.body ?? {};
      const problem = payloadError('AddOrganizationConnectionRequestContent', body);
      if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
      const enabled = connectionsToEnable(tenant, reply, org, [body as ConnectionRequest]);
      if (!Array.isArray(enabled)) return enabled;
      const [id, settings] = enabled[0]!;
      org.connections.set(id, settings);
      return reply
        .code(201)
        .type(JSON_UTF8)
        .send(connectionJson(tenant, id, settings));
    },
  );

  /** The organization and the enabled connection of the path; undefined once the 4xx is sent. */
  const enabledOrAnswer = (
    reply: FastifyReply,
    params: { id: string; connectionId: string },
  ): [SimOrganization, OrganizationConnectionSettings] | undefined => {
    const org = organizationOrAnswer(tenant, reply, params.id);
    if (org === undefined) return undefined;
    if (pathTooLong(reply, 'connectionId', params.connectionId, 50) !== undefined) return undefined;
    const settings = org.connections.get(params.connectionId);
    if (settings === undefined) {
      sendManagementError(reply, 404, NO_CONNECTION);
      return undefined;
    }
    return [org, settings];
  };

  api.get<{ Params: { id: string; connectionId: string } }>(
    '/organizations/:id/enabled_connections/:connectionId',
    { config: { scopes: ['read:organization_connections'], rateLimit: 'read-organization-connections' } },
    async (req, reply) => {
      const found = enabledOrAnswer(reply, req.params);
      if (found === undefined) return reply;
      return reply.type(JSON_UTF8).send(connectionJson(tenant, req.params.connectionId, found[1]));
    },
  );

  api.patch<{ Params: { id: string; connectionId: string } }>(
    '/organizations/:id/enabled_connections/:connectionId',
    { config: { scopes: ['update:organization_connections'], rateLimit: 'write-organization-connections' } },
    async (req, reply) => {
      const found = enabledOrAnswer(reply, req.params);
      if (found === undefined) return reply;
      const body = req.body ?? {};
      const problem = payloadError('UpdateOrganizationConnectionRequestContent', body);
      if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
      const next = { ...found[1], ...(body as Partial<OrganizationConnectionSettings>) };
      const connection = tenant.connectionById(req.params.connectionId);
      const refused = connection === undefined ? undefined : settingsProblem(connection, next);
      if (refused !== undefined) return sendManagementError(reply, 400, refused, 'invalid_body');
      found[0].connections.set(req.params.connectionId, next);
      return reply.type(JSON_UTF8).send(connectionJson(tenant, req.params.connectionId, next));
    },
  );

  api.delete<{ Params: { id: string; connectionId: string } }>(
    '/organizations/:id/enabled_connections/:connectionId',
    { config: { scopes: ['delete:organization_connections'], rateLimit: 'write-organization-connections' } },
    async (req, reply) => {
      const found = enabledOrAnswer(reply, req.params);
      if (found === undefined) return reply;
      found[0].connections.delete(req.params.connectionId);
      return sendNoContent(reply);
    },
  );
}

function withoutNulls(metadata: Record<string, string | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) if (v !== null) out[k] = v;
  return out;
}
