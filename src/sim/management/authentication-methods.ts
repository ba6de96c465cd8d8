/**
 * MFA enrolments of a simulated tenant's users (Management API v2):
 * /users/{id}/authentication-methods[/{authentication_method_id}], answered as real tenants answer
 * (email and phone masked, `confirmed: true`, never a TOTP secret).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { JSON_UTF8, one, parseBool, q, sendManagementError } from '../http.js';
import { payloadError } from '../schemas.js';
import {
  createdAuthenticator,
  enrolmentKey,
  listedAuthenticator,
  newAuthenticatorId,
  type SimAuthenticator,
} from '../tenant/authenticators.js';
import type { SimTenant } from '../tenant/tenant.js';

/** What each type needs in the request, and how it must look. */
const REQUIRED: Record<SimAuthenticator['type'], { field: string; pattern: RegExp; what: string }> = {
  totp: { field: 'totp_secret', pattern: /^[A-Z2-7]+=*$/, what: 'a base32 encoded secret' },
  phone: { field: 'phone_number', pattern: /^\+[0-9]{1,15}$/, what: 'a phone number in E.164 format' },
  email: { field: 'email', pattern: /^[^@\s]+@[^@\s]+$/, what: 'an email address' },
};

export async function authenticationMethodsRoutes(
  api: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  const userNotFound = (reply: FastifyReply) =>
    sendManagementError(reply, 404, 'The user does not exist.', 'inexistent_user');
  const methodNotFound = (reply: FastifyReply) =>
    sendManagementError(reply, 404, 'The authentication method could not be found.');

  api.get<{ Params: { id: string } }>(
    '/users/:id/authentication-methods',
    { config: { scopes: ['read:authentication_methods'] } },
    async (req, reply) => {
      const query = q(req);
      const page = Number(one(query.page) ?? 0);
      const perPage = Number(one(query.per_page) ?? 50);
      if (!Number.isInteger(page) || page < 0 || !Number.isInteger(perPage) || perPage < 0 || perPage > 100) {
        return sendManagementError(
          reply,
          400,
          "Query validation error: 'Invalid paging parameters'.",
          'invalid_query_string',
        );
      }
      const user = tenant.users.get(req.params.id);
      if (user === undefined) return userNotFound(reply);
      const all = user.authenticators ?? [];
      const authenticators = all.slice(page * perPage, (page + 1) * perPage).map(listedAuthenticator);
      if (parseBool(one(query.include_totals)) !== true) return reply.type(JSON_UTF8).send(authenticators);
      // Recorded: a user without enrolments is answered without `total`.
      return reply.type(JSON_UTF8).send({
        authenticators,
        ...(all.length > 0 ? { total: all.length } : {}),
        start: page * perPage,
        limit: perPage,
      });
    },
  );

  api.post<{ Params: { id: string } }>(
    '/users/:id/authentication-methods',
    {
      config: {
        scopes: ['create:authentication_methods'],
        scopeMessage: 'Insufficient scope, expected: create:authentication_methods',
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const invalid = payloadError('CreateUserAuthenticationMethodRequestContent', body);
      if (invalid !== undefined) return sendManagementError(reply, 400, invalid, 'invalid_body');
      const type = body.type as string;
      if (!(type in REQUIRED)) {
        return sendManagementError(
          reply,
          400,
          `The simulator creates phone, email and totp authentication methods, not ${type}.`,
          'invalid_body',
        );
      }
      const rule = REQUIRED[type as SimAuthenticator['type']];
      const value = body[rule.field];
      if (typeof value !== 'string') {
        return sendManagementError(
          reply,
          400,
          `Payload validation error: 'Missing required property: ${rule.field}'.`,
          'invalid_body',
        );
      }
      if (!rule.pattern.test(value)) {
        return sendManagementError(reply, 400, `${rule.field} must be ${rule.what}.`, 'invalid_body');
      }
      if (typeof body.name === 'string' && body.name.length > 20) {
        return sendManagementError(
          reply,
          400,
          `Payload validation error: 'String is too long (${body.name.length} chars), maximum 20' on property name.`,
          'invalid_body',
        );
      }
      const user = tenant.users.get(req.params.id);
      if (user === undefined) return userNotFound(reply);
      const a: SimAuthenticator = {
        id: newAuthenticatorId(type as SimAuthenticator['type']),
        type: type as SimAuthenticator['type'],
        created_at: new Date().toISOString(),
      };
      if (typeof body.name === 'string') a.name = body.name;
      if (a.type === 'totp') a.secret = value.replace(/=+$/, '');
      else if (a.type === 'phone') {
        a.phone_number = value;
        a.preferred_authentication_method =
          body.preferred_authentication_method === 'voice' ? 'voice' : 'sms';
      } else a.email = value;
      if ((user.authenticators ?? []).some((x) => enrolmentKey(x) === enrolmentKey(a))) {
        return sendManagementError(reply, 409, 'Authentication method already exists.');
      }
      tenant.users.update(user.user_id, (u) => {
        u.authenticators = [...(u.authenticators ?? []), a];
      });
      return reply.code(201).type(JSON_UTF8).send(createdAuthenticator(a));
    },
  );

  api.get<{ Params: { id: string; authentication_method_id: string } }>(
    '/users/:id/authentication-methods/:authentication_method_id',
    {
      config: {
        scopes: ['read:authentication_methods'],
        scopeMessage: 'Insufficient scope, expected: read:authentication_methods',
      },
    },
    async (req, reply) => {
      const user = tenant.users.get(req.params.id);
      if (user === undefined) return userNotFound(reply);
      const a = user.authenticators?.find((x) => x.id === req.params.authentication_method_id);
      if (a === undefined) return methodNotFound(reply);
      return reply.type(JSON_UTF8).send(listedAuthenticator(a));
    },
  );

  api.delete<{ Params: { id: string; authentication_method_id: string } }>(
    '/users/:id/authentication-methods/:authentication_method_id',
    { config: { scopes: ['delete:authentication_methods'] } },
    async (req, reply) => {
      const user = tenant.users.get(req.params.id);
      if (user === undefined) return userNotFound(reply);
      const methodId = req.params.authentication_method_id;
      if (user.authenticators?.some((x) => x.id === methodId) !== true) return methodNotFound(reply);
      tenant.users.update(user.user_id, (u) => {
        u.authenticators = u.authenticators!.filter((x) => x.id !== methodId);
        if (u.authenticators.length === 0) delete u.authenticators;
      });
      return reply.code(204).type(JSON_UTF8).send();
    },
  );
}
