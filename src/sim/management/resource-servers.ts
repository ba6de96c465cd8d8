/**
 * APIs of a simulated tenant (Management API v2): GET/POST /resource-servers and GET
 * /resource-servers/{id} (by id or identifier). Every tenant has the Auth0 Management API
 * (`is_system`), whose identifier names the tenant's own domain.
 */
import type { FastifyInstance } from 'fastify';
import { JSON_UTF8, q, sendManagementError } from '../http.js';
import { newResourceServerId } from '../ids.js';
import { RBAC_LIMITS, type SimResourceServer } from '../tenant/rbac.js';
import type { SimTenant } from '../tenant/tenant.js';
import { badQuery, readPaging, sendOffsetPage } from './paging.js';
import { bodyFits } from './rbac-checks.js';

/** Settings a new API gets when the request leaves them out (the OAS's defaults, Auth0's lifetimes). */
const DEFAULTS = {
  signing_alg: 'HS256',
  allow_offline_access: false,
  token_lifetime: 86400,
  token_lifetime_for_web: 7200,
  skip_consent_for_verifiable_first_party_clients: false,
};

/** An API as Auth0 answers it (key order of recorded answers). */
function serverJson(s: SimResourceServer): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    ...(s.isSystem ? { is_system: true } : {}),
    identifier: s.identifier,
    scopes: s.scopes.map((sc) => ({ ...sc })),
    ...s.settings,
  };
}

export async function resourceServersRoutes(
  api: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  const rbac = tenant.rbac;

  api.get('/resource-servers', { config: { scopes: ['read:resource_servers'] } }, async (req, reply) => {
    const paging = readPaging(req, reply);
    if (paging === undefined || paging.kind !== 'offset') return reply;
    const identifiers = [q(req).identifiers ?? []].flat();
    if (identifiers.length > 10) {
      return (
        badQuery(reply, `'Array is too long (${identifiers.length}), maximum 10' on property identifiers`) ??
        reply
      );
    }
    const servers = rbac
      .resourceServers()
      .filter((s) => identifiers.length === 0 || identifiers.includes(s.identifier));
    return sendOffsetPage(reply, 'resource_servers', servers, paging, serverJson);
  });

  api.post('/resource-servers', { config: { scopes: ['create:resource_servers'] } }, async (req, reply) => {
    if (!bodyFits(reply, req.body, 'CreateResourceServerRequestContent')) return reply;
    const { name, identifier, scopes, ...rest } = req.body as {
      name?: string;
      identifier: string;
      scopes?: Array<{ value: string; description?: string }>;
    } & Record<string, unknown>;
    if (rbac.resourceServerByIdentifier(identifier) !== undefined) {
      return sendManagementError(reply, 409, 'A resource server with the same identifier already exists.');
    }
    if ((scopes?.length ?? 0) > RBAC_LIMITS.scopesPerApi) {
      // Entity limit (scopes per API); no recorded wording.
      return sendManagementError(
        reply,
        400,
        `An API can define at most ${RBAC_LIMITS.scopesPerApi} scopes (got ${scopes!.length}).`,
        'invalid_body',
      );
    }
    const server: SimResourceServer = {
      id: newResourceServerId(),
      name: name ?? identifier,
      identifier,
      scopes: (scopes ?? []).map((s) => ({
        value: s.value,
        ...(s.description === undefined ? {} : { description: s.description }),
      })),
      settings: { ...DEFAULTS, ...rest },
      isSystem: false,
    };
    rbac.addResourceServer(server);
    return reply.code(201).type(JSON_UTF8).send(serverJson(server));
  });

  api.get<{ Params: { id: string } }>(
    '/resource-servers/:id',
    { config: { scopes: ['read:resource_servers'] } },
    async (req, reply) => {
      const server = rbac.resourceServer(req.params.id);
      // Real tenants' text (go-auth0's tests); the OAS says "Resource server not found."
      if (server === undefined) return sendManagementError(reply, 404, 'The resource server does not exist');
      return reply.type(JSON_UTF8).send(serverJson(server));
    },
  );
}
