/**
 * POST /dbconnections/change_password of a simulated tenant (Authentication API): Auth0 sends
 * the user its change-password email. The simulator sends nothing; it keeps each email it would
 * have sent in the tenant's `outbox`.
 *
 * Source: Auth0's Authentication API reference, "Change Password"
 * (https://auth0.com/docs/api/authentication/change-password/change-password): JSON body
 * `email` and `connection` (required), `client_id` and `organization` (optional); only database
 * connections; 200 with the text "We've just sent you an email to reset your password."; 400 for
 * missing or invalid parameters; 404 when the user is not found.
 */
import type { FastifyInstance } from 'fastify';
import { JSON_UTF8, sendAuthError } from '../http.js';
import type { SimTenant } from '../tenant/tenant.js';
import { limitAuthRequest } from './guard.js';

export const CHANGE_PASSWORD_SENT = "We've just sent you an email to reset your password.";

export async function dbConnectionsRoutes(
  app: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  app.post('/dbconnections/change_password', async (req, reply) => {
    const limited = limitAuthRequest(tenant, reply);
    if (limited !== undefined) return limited;
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const { email, connection } = body;
    if (typeof email !== 'string' || email === '') {
      return sendAuthError(reply, 400, 'bad.email', 'email is required');
    }
    if (typeof connection !== 'string' || connection === '') {
      return sendAuthError(reply, 400, 'bad.connection', 'connection is required');
    }
    const conn = tenant.connectionByName(connection);
    if (conn === undefined || conn.strategy !== 'auth0') {
      return sendAuthError(
        reply,
        400,
        'bad.connection',
        'The connection does not exist or is not a database connection',
      );
    }
    const user = tenant.users.findByEmail(email.toLowerCase(), connection)[0];
    if (user === undefined) return sendAuthError(reply, 404, 'user_not_found', 'User not found.');
    tenant.outbox.push({
      kind: 'change_password',
      to: user.email ?? email.toLowerCase(),
      user_id: user.user_id,
      connection,
      client_id: typeof body.client_id === 'string' ? body.client_id : undefined,
      sent_at: new Date().toISOString(),
    });
    tenant.stats.passwordChangeEmails++;
    return reply.code(200).type(JSON_UTF8).send(JSON.stringify(CHANGE_PASSWORD_SENT));
  });
}
