/** Users of a simulated tenant (Management API v2): /users, /users/{id} and /users-by-email. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { JSON_UTF8, one, parseBool, pickFields, q, sendManagementError } from '../http.js';
import { newObjectIdHex } from '../ids.js';
import { hashPassword } from '../tenant/passwords.js';
import type { SimTenant } from '../tenant/tenant.js';
import { toApiUser, type SimUser } from '../tenant/users.js';

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

/** Lucene-ish `q` as far as the tool needs: `email:"x"`, `user_id:"x"`, `username:x`, `phone_number:"x"`. */
function searchFilter(qs: string | undefined): ((u: SimUser) => boolean) | undefined | 'unsupported' {
  if (qs === undefined || qs.trim() === '') return undefined;
  const m = /^\s*(email|user_id|username|name|phone_number)\s*:\s*"?([^"]*)"?\s*$/.exec(qs);
  if (!m) return 'unsupported';
  const field = m[1] as 'email' | 'user_id' | 'username' | 'name' | 'phone_number';
  const value = m[2]!.toLowerCase();
  return (u) => (u[field] ?? '').toLowerCase() === value;
}

export async function usersRoutes(api: FastifyInstance, { tenant }: { tenant: SimTenant }): Promise<void> {
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
        'The simulator supports q=email:"...", user_id:"...", username:"...", name:"..." or phone_number:"..." only.',
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
        u.updated_at = new Date().toISOString();
        if (passwordHash !== undefined) {
          u.passwordHash = passwordHash;
          delete u.customPasswordHash;
          u.last_password_reset = u.updated_at;
        }
      });
      return reply.type(JSON_UTF8).send(toApiUser(updated!));
    },
  );

  // Auth0 answers 204 whether or not the user existed (a second delete too); the user's linked
  // identities and enrolments go with it, and removal listeners drop what other resources hold.
  api.delete<{ Params: { id: string } }>(
    '/users/:id',
    { config: { scopes: ['delete:users', 'delete:current_user'] } },
    async (req, reply) => {
      tenant.users.delete(req.params.id);
      return reply.code(204).type(JSON_UTF8).send();
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
