/** Linked accounts of a simulated tenant (Management API v2): /users/{id}/identities. */
import type { FastifyInstance } from 'fastify';
import { JSON_UTF8, sendManagementError } from '../http.js';
import { payloadError } from '../schemas.js';
import { linkIdentity, unlinkIdentity, type LinkRefusal } from '../tenant/identities.js';
import type { SimTenant } from '../tenant/tenant.js';

const SCOPES = {
  scopes: ['update:users', 'update:current_user_identities'],
  scopeMessage: 'Insufficient scope, expected: update:users, update:current_user_identities',
};

// The OAS documents no 404 for either operation: a primary that does not exist is a bad request.
const REFUSALS: Record<LinkRefusal, { status: number; message: string }> = {
  primary_not_found: { status: 400, message: 'Unable to link with the secondary account.' },
  same_identity: { status: 400, message: 'Main identity and the new one are the same.' },
  already_linked: { status: 409, message: 'Specified identity already exists.' },
  linked_elsewhere: { status: 400, message: 'Unable to link with the secondary account.' },
  secondary_not_found: { status: 400, message: 'Provided secondary account not found.' },
};

export async function identitiesRoutes(
  api: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  api.post<{ Params: { id: string } }>('/users/:id/identities', { config: SCOPES }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const invalid = payloadError('LinkUserIdentityRequestContent', body);
    if (invalid !== undefined) return sendManagementError(reply, 400, invalid, 'invalid_body');
    if (body.link_with !== undefined) {
      if (body.provider !== undefined || body.user_id !== undefined || body.connection_id !== undefined) {
        return sendManagementError(
          reply,
          400,
          'Payload validation error: provider, user_id and connection_id must not be sent with link_with.',
          'invalid_body',
        );
      }
      return sendManagementError(reply, 400, linkWithProblem(String(body.link_with)));
    }
    if (typeof body.provider !== 'string' || body.user_id === undefined) {
      return sendManagementError(
        reply,
        400,
        "Payload validation error: 'Missing required property: provider and user_id (or link_with)'.",
        'invalid_body',
      );
    }
    let connection: string | undefined;
    if (typeof body.connection_id === 'string') {
      connection = tenant.connectionById(body.connection_id)?.name;
      if (connection === undefined) {
        return sendManagementError(reply, 400, 'The provider/connection is not configured.');
      }
    }
    const answer = linkIdentity(tenant.users, req.params.id, {
      provider: body.provider,
      userId: String(body.user_id),
      ...(connection !== undefined ? { connection } : {}),
    });
    if (typeof answer === 'string') {
      const { status, message } = REFUSALS[answer];
      return sendManagementError(reply, status, message);
    }
    return reply.code(201).type(JSON_UTF8).send(answer);
  });

  api.delete<{ Params: { id: string; provider: string; user_id: string } }>(
    '/users/:id/identities/:provider/:user_id',
    { config: SCOPES },
    async (req, reply) => {
      const { id, provider, user_id } = req.params;
      const invalid = payloadError('UserIdentityProviderEnum', provider);
      if (invalid !== undefined) {
        return sendManagementError(
          reply,
          400,
          invalid.replace(
            /^Payload validation error: (.*)\.$/,
            'Path validation error: $1 on property provider.',
          ),
        );
      }
      const answer = unlinkIdentity(tenant.users, id, provider, user_id);
      if (answer === 'main_identity')
        return sendManagementError(reply, 400, 'Main identity cannot be removed.');
      if (answer === 'primary_not_found') return sendManagementError(reply, 400, 'The user does not exist.');
      return reply.type(JSON_UTF8).send(answer);
    },
  );
}

/**
 * `link_with` is the secondary account's ID token, which Auth0 wants signed RS256 by the tenant;
 * the simulator signs its tokens HS256, so no token it issued can be linked this way.
 */
function linkWithProblem(token: string): string {
  const parts = token.split('.');
  let alg: unknown;
  try {
    alg = (JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { alg?: unknown }).alg;
  } catch {
    alg = undefined;
  }
  if (parts.length !== 3 || alg === undefined || alg === 'RS256') return 'Invalid token (link_with).';
  return 'JWT (link_with) must have an alg of RS256.';
}
