/** Connections of a simulated tenant (Management API v2): /connections and /connections/{id}. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { JSON_UTF8, one, parseBool, pickFields, q, sendManagementError, sendNoContent } from '../http.js';
import { CONNECTION_ID_PATTERN, newConnectionId } from '../ids.js';
import { payloadError } from '../schemas.js';
import type { SimConnection, SimTenant } from '../tenant/tenant.js';

function connectionJson(c: SimConnection, withOptions: boolean, forList: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: c.id,
    name: c.name,
    display_name: c.display_name,
    strategy: c.strategy,
  };
  if (withOptions) out.options = structuredClone(c.options);
  out.realms = [...c.realms];
  out.is_domain_connection = c.is_domain_connection;
  if (!forList) out.enabled_clients = [...c.enabled_clients];
  return out;
}

function badConnectionId(reply: FastifyReply, id: string): FastifyReply | undefined {
  if (CONNECTION_ID_PATTERN.test(id)) return undefined;
  return sendManagementError(
    reply,
    400,
    "Path validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property id.",
    'invalid_uri',
  );
}

/** The connection with this id; undefined once the 400 (malformed id) or 404 answer is sent. */
function connectionOrAnswer(tenant: SimTenant, reply: FastifyReply, id: string): SimConnection | undefined {
  if (badConnectionId(reply, id) !== undefined) return undefined;
  const c = tenant.connectionById(id);
  if (c === undefined)
    sendManagementError(reply, 404, 'The connection does not exist', 'inexistent_connection');
  return c;
}

export async function connectionsRoutes(
  api: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  api.get('/connections', { config: { scopes: ['read:connections'] } }, async (req, reply) => {
    const query = q(req);
    const withOptions = req.simScopes?.has('read:connections_options') ?? false;
    const strategies = [query.strategy ?? []].flat();
    const name = one(query.name);
    let list = tenant.connections.filter(
      (c) =>
        (name === undefined || c.name === name) &&
        (strategies.length === 0 || strategies.includes(c.strategy)),
    );
    const fields = one(query.fields);
    const include = parseBool(one(query.include_fields)) ?? true;
    const render = (cs: SimConnection[]) =>
      cs.map((c) => pickFields(connectionJson(c, withOptions, true), fields, include));
    const take = one(query.take);
    const from = one(query.from);
    if (take !== undefined || from !== undefined) {
      // Checkpoint pagination: `from` is the opaque `next` of the previous page.
      const size = Math.min(100, Math.max(1, Number(take ?? 50) || 50));
      const start = from === undefined ? 0 : Number(Buffer.from(from, 'base64url').toString('utf8')) || 0;
      const page = list.slice(start, start + size);
      const body: Record<string, unknown> = { connections: render(page) };
      if (start + size < list.length) body.next = Buffer.from(String(start + size)).toString('base64url');
      return reply.type(JSON_UTF8).send(body);
    }
    const perPage = one(query.per_page);
    const pageNo = one(query.page);
    const total = list.length;
    let start = 0;
    let limit = total;
    if (perPage !== undefined || pageNo !== undefined) {
      limit = Math.min(100, Math.max(1, Number(perPage ?? 50) || 50));
      start = (Number(pageNo ?? 0) || 0) * limit;
      list = list.slice(start, start + limit);
    }
    if (parseBool(one(query.include_totals)) === true) {
      return reply.type(JSON_UTF8).send({ total, start, limit, connections: render(list) });
    }
    return reply.type(JSON_UTF8).send(render(list));
  });

  api.post('/connections', { config: { scopes: ['create:connections'] } }, async (req, reply) => {
    const body = req.body ?? {};
    const problem = payloadError('CreateConnectionRequestContent', body);
    if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
    const spec = body as {
      name: string;
      strategy: string;
      display_name?: string;
      options?: Record<string, unknown>;
      realms?: string[];
      enabled_clients?: string[];
      is_domain_connection?: boolean;
    };
    if (tenant.connectionByName(spec.name) !== undefined) {
      return sendManagementError(reply, 409, 'A connection with the same name already exists');
    }
    const c: SimConnection = {
      id: newConnectionId(),
      name: spec.name,
      display_name: spec.display_name ?? spec.name,
      strategy: spec.strategy,
      options: structuredClone(spec.options ?? {}),
      realms: spec.realms?.slice() ?? [spec.name],
      is_domain_connection: spec.is_domain_connection ?? false,
      enabled_clients: spec.enabled_clients?.slice() ?? [],
    };
    tenant.connections.push(c);
    return reply
      .code(201)
      .type(JSON_UTF8)
      .send(connectionJson(c, true, false));
  });

  // Real tenants answer 202 (RELATIONS-API.md) and delete the connection's users after; the OAS's
  // 204 ("no longer exists") is the answer for a connection that is already gone.
  api.delete<{ Params: { id: string } }>(
    '/connections/:id',
    { config: { scopes: ['delete:connections'] } },
    async (req, reply) => {
      if (badConnectionId(reply, req.params.id) !== undefined) return reply;
      if (!tenant.deleteConnection(req.params.id)) return sendNoContent(reply);
      return reply.code(202).type(JSON_UTF8).send();
    },
  );

  api.get<{ Params: { id: string } }>(
    '/connections/:id',
    { config: { scopes: ['read:connections'] } },
    async (req, reply) => {
      const c = connectionOrAnswer(tenant, reply, req.params.id);
      if (c === undefined) return reply;
      const query = q(req);
      const withOptions = req.simScopes?.has('read:connections_options') ?? false;
      const include = parseBool(one(query.include_fields)) ?? true;
      return reply
        .type(JSON_UTF8)
        .send(pickFields(connectionJson(c, withOptions, false), one(query.fields), include));
    },
  );

  api.patch<{ Params: { id: string } }>(
    '/connections/:id',
    { config: { scopes: ['update:connections'] } },
    async (req, reply) => {
      const c = connectionOrAnswer(tenant, reply, req.params.id);
      if (c === undefined) return reply;
      const body = req.body ?? {};
      const problem = payloadError('UpdateConnectionRequestContent', body);
      if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
      const patch = body as Record<string, unknown>;
      if (patch.options !== undefined) {
        const options = (patch.options ?? {}) as Record<string, unknown>;
        const before = c.options.enabledDatabaseCustomization === true;
        const after = options.enabledDatabaseCustomization === true;
        if (before !== after && c.strategy === 'auth0' && tenant.users.count(c.name) > 0) {
          return sendManagementError(
            reply,
            400,
            'This database contains users. You cannot change "options.enabledDatabaseCustomization" setting.',
            'invalid_body',
          );
        }
        // Auth0 replaces `options` wholesale: keys left out are gone.
        c.options = structuredClone(options);
      }
      if (typeof patch.display_name === 'string') c.display_name = patch.display_name;
      else if (patch.display_name === undefined && Object.keys(patch).length > 0) c.display_name = c.name;
      if (typeof patch.is_domain_connection === 'boolean')
        c.is_domain_connection = patch.is_domain_connection;
      if (Array.isArray(patch.realms)) c.realms = (patch.realms as string[]).slice();
      if (Array.isArray(patch.enabled_clients))
        c.enabled_clients = (patch.enabled_clients as string[]).slice();
      return reply.type(JSON_UTF8).send(connectionJson(c, true, false));
    },
  );
}
