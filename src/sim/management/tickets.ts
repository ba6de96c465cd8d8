/**
 * Tickets of a simulated tenant (Management API v2): /tickets/password-change and
 * /tickets/email-verification. Following a ticket (auth/tickets.ts) sets the password or verifies
 * the email.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { JSON_UTF8, sendManagementError } from '../http.js';
import { payloadError } from '../schemas.js';
import type { SimTenant } from '../tenant/tenant.js';
import { addressToVerify, type SimUser } from '../tenant/users.js';

export async function ticketsRoutes(api: FastifyInstance, { tenant }: { tenant: SimTenant }): Promise<void> {
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
        kind: 'password_change',
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

  // Recorded (go-auth0's TestTicketManager_VerifyEmail): 201 {ticket: "https://<domain>/u/email-verification?ticket=…#"}.
  api.post(
    '/tickets/email-verification',
    { config: { scopes: ['create:user_tickets'] } },
    async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const problem = payloadError('VerifyEmailTicketRequestContent', body);
      if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
      if (
        body.result_url !== undefined &&
        (body.client_id !== undefined || body.organization_id !== undefined)
      ) {
        return sendManagementError(
          reply,
          400,
          "Payload validation error: 'result_url cannot be specified when using client_id or organization_id'.",
          'invalid_body',
        );
      }
      const user = tenant.users.get(body.user_id as string);
      if (user === undefined) return sendManagementError(reply, 404, 'User not found.', 'inexistent_user');
      const identity = body.identity as { user_id: string; provider: string } | undefined;
      const target = addressToVerify(user, identity);
      if ('problem' in target) return sendManagementError(reply, 400, target.problem, 'invalid_body');
      if (typeof body.client_id === 'string' && !tenant.clients.has(body.client_id)) {
        return sendManagementError(reply, 400, 'The client does not exist', 'invalid_body');
      }
      const ttl = typeof body.ttl_sec === 'number' && body.ttl_sec > 0 ? body.ttl_sec : 432_000;
      const ticket = `https://${tenant.domain}/u/email-verification?ticket=${randomBytes(24).toString('base64url')}#`;
      tenant.tickets.push({
        kind: 'email_verification',
        ticket,
        user_id: user.user_id,
        email: target.email,
        ttl_sec: ttl,
        result_url: typeof body.result_url === 'string' ? body.result_url : undefined,
        client_id: typeof body.client_id === 'string' ? body.client_id : undefined,
        mark_email_as_verified: true,
        created_at: new Date().toISOString(),
      });
      tenant.stats.ticketsCreated++;
      return reply.code(201).type(JSON_UTF8).send({ ticket });
    },
  );
}
