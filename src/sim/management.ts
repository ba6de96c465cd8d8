/**
 * The Management API v2 of a simulated tenant: bearer tokens with scopes, rate-limit headers,
 * connections, users, users-by-email and password-change tickets. Jobs are in jobs-routes.ts.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CONNECTION_ID_PATTERN, newObjectIdHex } from './ids.js';
import { JSON_UTF8, RATE_LIMIT_MESSAGE, parseBool, sendManagementError } from './http.js';
import { hashPassword } from './passwords.js';
import { payloadError } from './schemas.js';
import type { SimConnection, SimTenant } from './tenant.js';
import { verifyJwt } from './tokens.js';
import { pickFields, toApiUser, type SimUser } from './users.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Any one of these scopes lets a token call the route. */
    scopes?: string[];
  }
  interface FastifyRequest {
    simScopes?: Set<string>;
  }
}

type Query = Record<string, string | string[] | undefined>;

export const q = (req: FastifyRequest): Query => (req.query ?? {}) as Query;
const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Rate limiting and bearer-token checks for everything under /api/v2. */
export function registerManagementGuards(api: FastifyInstance, tenant: SimTenant): void {
  api.addHook('onRequest', async (req, reply) => {
    tenant.stats.managementRequests++;
    const bucket = tenant.managementBucket;
    if (bucket === undefined) return;
    const answer = bucket.take();
    void reply.headers(bucket.headers(answer));
    if (!answer.ok) {
      tenant.stats.rateLimited++;
      return sendManagementError(reply, 429, RATE_LIMIT_MESSAGE, 'too_many_requests');
    }
  });
  api.addHook('preHandler', async (req, reply) => {
    const needed = req.routeOptions.config.scopes;
    if (needed === undefined) return;
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '')
      return sendManagementError(reply, 401, 'Missing authentication');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) return sendManagementError(reply, 401, 'Bad HTTP authentication header format');
    const parts = m[1]!.split('.');
    if (parts.length !== 3) return sendManagementError(reply, 401, 'Invalid token');
    const claims = verifyJwt(m[1]!, tenant.signingKey);
    if (claims === undefined) {
      return sendManagementError(reply, 401, 'Invalid signature received for JSON Web Token validation');
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) {
      return sendManagementError(reply, 401, 'Expired token received for JSON Web Token validation');
    }
    if (claims.aud !== `https://${tenant.domain}/api/v2/`) {
      return sendManagementError(reply, 401, `Bad audience: ${String(claims.aud)}`);
    }
    const scopes = new Set(typeof claims.scope === 'string' ? claims.scope.split(' ') : []);
    req.simScopes = scopes;
    if (!needed.some((s) => scopes.has(s))) {
      return sendManagementError(
        reply,
        403,
        `Insufficient scope, expected any of: ${needed.join(',')}`,
        'insufficient_scope',
      );
    }
  });
}

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

export function registerConnections(api: FastifyInstance, tenant: SimTenant): void {
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

const UPDATABLE = [
  'email',
  'email_verified',
  'phone_number',
  'phone_verified',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'username',
  'blocked',
] as const;

/** Auth0 merges metadata on PATCH at the top level; a null value removes a key. */
function mergeMetadata(
  current: Record<string, unknown> | undefined,
  patch: unknown,
): Record<string, unknown> | undefined {
  if (patch === null) return {};
  if (typeof patch !== 'object' || Array.isArray(patch)) return current;
  const out = { ...current };
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Lucene-ish `q` as far as the tool needs: `email:"x"`, `user_id:"x"`, `username:x`. */
function searchFilter(qs: string | undefined): ((u: SimUser) => boolean) | undefined | 'unsupported' {
  if (qs === undefined || qs.trim() === '') return undefined;
  const m = /^\s*(email|user_id|username|name)\s*:\s*"?([^"]*)"?\s*$/.exec(qs);
  if (!m) return 'unsupported';
  const field = m[1] as 'email' | 'user_id' | 'username' | 'name';
  const value = m[2]!.toLowerCase();
  return (u) => (u[field] ?? '').toLowerCase() === value;
}

export function registerUsers(api: FastifyInstance, tenant: SimTenant): void {
  const notFound = (reply: FastifyReply) =>
    sendManagementError(reply, 404, 'The user does not exist.', 'inexistent_user');

  api.get('/users', { config: { scopes: ['read:users'] } }, async (req, reply) => {
    const query = q(req);
    const perPage = Number(one(query.per_page) ?? 50);
    const page = Number(one(query.page) ?? 0);
    if (!Number.isInteger(perPage) || perPage < 0 || perPage > 100 || !Number.isInteger(page) || page < 0) {
      return sendManagementError(
        reply,
        400,
        "Query validation error: 'Invalid paging parameters'.",
        'invalid_query_string',
      );
    }
    if ((page + 1) * perPage > 1000) {
      return sendManagementError(
        reply,
        400,
        'You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation',
        'invalid_paging',
      );
    }
    const filter = searchFilter(one(query.q));
    if (filter === 'unsupported') {
      return sendManagementError(
        reply,
        400,
        'The simulator supports q=email:"...", user_id:"...", username:"..." or name:"..." only.',
        'invalid_query_string',
      );
    }
    const connection = one(query.connection);
    const fields = one(query.fields);
    const include = parseBool(one(query.include_fields)) ?? true;
    const includeTotals = parseBool(one(query.include_totals)) === true;
    const users: Record<string, unknown>[] = [];
    const start = page * perPage;
    let seen = 0;
    for (const u of tenant.users.iterate(connection)) {
      if (filter !== undefined && !filter(u)) continue;
      if (seen >= start && users.length < perPage) users.push(pickFields(toApiUser(u), fields, include));
      seen++;
      if (users.length >= perPage && (!includeTotals || filter === undefined)) break;
    }
    if (!includeTotals) return reply.type(JSON_UTF8).send(users);
    const total = filter === undefined ? tenant.users.count(connection) : seen;
    return reply
      .type(JSON_UTF8)
      .send({ start, limit: perPage, length: users.length, total: Math.min(total, 1000), users });
  });

  api.get<{ Params: { id: string } }>(
    '/users/:id',
    { config: { scopes: ['read:users'] } },
    async (req, reply) => {
      const u = tenant.users.get(req.params.id);
      if (u === undefined) return notFound(reply);
      const query = q(req);
      return reply
        .type(JSON_UTF8)
        .send(pickFields(toApiUser(u), one(query.fields), parseBool(one(query.include_fields)) ?? true));
    },
  );

  api.post('/users', { config: { scopes: ['create:users'] } }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.connection !== 'string') {
      return sendManagementError(
        reply,
        400,
        "Payload validation error: 'Missing required property: connection'.",
        'invalid_body',
      );
    }
    const conn = tenant.connectionByName(body.connection);
    if (conn === undefined)
      return sendManagementError(reply, 400, 'The connection does not exist.', 'inexistent_connection');
    if (conn.strategy !== 'auth0') {
      return sendManagementError(reply, 400, 'Connection must be a database connection.', 'invalid_body');
    }
    if (typeof body.password !== 'string') {
      return sendManagementError(
        reply,
        400,
        "Payload validation error: 'Missing required property: password'.",
        'invalid_body',
      );
    }
    const email = typeof body.email === 'string' ? body.email.toLowerCase() : undefined;
    const idPart = typeof body.user_id === 'string' ? body.user_id : newObjectIdHex();
    const userId = `auth0|${idPart}`;
    const taken =
      tenant.users.get(userId) !== undefined ||
      (email !== undefined && tenant.users.findByEmail(email, conn.name).length > 0) ||
      (typeof body.username === 'string' &&
        tenant.users.findByUsername(body.username, conn.name) !== undefined);
    if (taken) return sendManagementError(reply, 409, 'The user already exists.', 'auth0_idp_error');
    const now = new Date().toISOString();
    const user: SimUser = {
      user_id: userId,
      connection: conn.name,
      provider: 'auth0',
      isSocial: false,
      created_at: now,
      updated_at: now,
      logins_count: 0,
      passwordHash: await hashPassword(body.password, tenant.options.timing.bcryptCost),
    };
    applyRootAttributes(user, body);
    if (email !== undefined) user.email = email;
    user.email_verified = body.email_verified === true;
    user.nickname ??= email?.split('@')[0] ?? user.username;
    user.name ??= email ?? user.username;
    if (body.user_metadata && typeof body.user_metadata === 'object')
      user.user_metadata = body.user_metadata as Record<string, unknown>;
    if (body.app_metadata && typeof body.app_metadata === 'object')
      user.app_metadata = body.app_metadata as Record<string, unknown>;
    tenant.users.insert(user);
    return reply.code(201).type(JSON_UTF8).send(toApiUser(user));
  });

  api.patch<{ Params: { id: string } }>(
    '/users/:id',
    { config: { scopes: ['update:users'] } },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (tenant.users.get(req.params.id) === undefined) return notFound(reply);
      const passwordHash =
        typeof body.password === 'string'
          ? await hashPassword(body.password, tenant.options.timing.bcryptCost)
          : undefined;
      const updated = tenant.users.update(req.params.id, (u) => {
        applyRootAttributes(u, body);
        if (typeof body.email === 'string') {
          u.email = body.email.toLowerCase();
          if (body.email_verified === undefined) u.email_verified = false;
        }
        if ('user_metadata' in body) u.user_metadata = mergeMetadata(u.user_metadata, body.user_metadata);
        if ('app_metadata' in body) u.app_metadata = mergeMetadata(u.app_metadata, body.app_metadata);
        if (passwordHash !== undefined) {
          u.passwordHash = passwordHash;
          delete u.customPasswordHash;
        }
        u.updated_at = new Date().toISOString();
      });
      return reply.type(JSON_UTF8).send(toApiUser(updated!));
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/users/:id',
    { config: { scopes: ['delete:users'] } },
    async (req, reply) => {
      tenant.users.delete(req.params.id);
      return reply.code(204).send();
    },
  );

  api.get('/users-by-email', { config: { scopes: ['read:users'] } }, async (req, reply) => {
    const query = q(req);
    const email = one(query.email);
    if (email === undefined || email === '') {
      return sendManagementError(
        reply,
        400,
        "Query validation error: 'Missing required property: email'.",
        'invalid_query_string',
      );
    }
    const fields = one(query.fields);
    const include = parseBool(one(query.include_fields)) ?? true;
    return reply
      .type(JSON_UTF8)
      .send(tenant.users.findByEmail(email).map((u) => pickFields(toApiUser(u), fields, include)));
  });
}

function applyRootAttributes(u: SimUser, body: Record<string, unknown>): void {
  for (const k of UPDATABLE) {
    const v = body[k];
    if (v === undefined) continue;
    if (k === 'email_verified' || k === 'phone_verified' || k === 'blocked') {
      if (typeof v === 'boolean') u[k] = v;
    } else if (typeof v === 'string') {
      u[k] = k === 'email' ? v.toLowerCase() : v;
    }
  }
}

export function registerTickets(api: FastifyInstance, tenant: SimTenant): void {
  api.post(
    '/tickets/password-change',
    { config: { scopes: ['create:user_tickets'] } },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const problem = payloadError('ChangePasswordTicketRequestContent', body);
      if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
      let user: SimUser | undefined;
      if (typeof body.user_id === 'string') {
        if (body.connection_id !== undefined) {
          return sendManagementError(
            reply,
            400,
            "Payload validation error: 'user_id and connection_id cannot be used together'.",
            'invalid_body',
          );
        }
        user = tenant.users.get(body.user_id);
      } else if (typeof body.connection_id === 'string' && typeof body.email === 'string') {
        const conn = tenant.connectionById(body.connection_id);
        if (conn === undefined) {
          return sendManagementError(
            reply,
            400,
            `The connection with id ${body.connection_id} does not exist.`,
            'invalid_body',
          );
        }
        user = tenant.users.findByEmail(body.email, conn.name)[0];
      } else {
        return sendManagementError(
          reply,
          400,
          "Payload validation error: 'Missing required property: user_id'.",
          'invalid_body',
        );
      }
      if (user === undefined) return sendManagementError(reply, 404, 'User not found.', 'inexistent_user');
      if (user.isSocial) {
        return sendManagementError(
          reply,
          400,
          "The user's main connection does not support this operation.",
          'invalid_body',
        );
      }
      if (user.email === undefined) {
        return sendManagementError(reply, 400, 'The user does not have an email address.', 'invalid_body');
      }
      const ttl = typeof body.ttl_sec === 'number' && body.ttl_sec > 0 ? body.ttl_sec : 432_000;
      const ticket = `https://${tenant.domain}/u/reset-password?ticket=${randomBytes(24).toString('base64url')}#`;
      tenant.tickets.push({
        ticket,
        user_id: user.user_id,
        email: user.email,
        ttl_sec: ttl,
        result_url: typeof body.result_url === 'string' ? body.result_url : undefined,
        client_id: typeof body.client_id === 'string' ? body.client_id : undefined,
        mark_email_as_verified: body.mark_email_as_verified === true,
        created_at: new Date().toISOString(),
      });
      tenant.stats.ticketsCreated++;
      return reply.code(201).type(JSON_UTF8).send({ ticket });
    },
  );
}
