/**
 * The route table: every resource's routes and where they are mounted, in one place. Each tenant
 * answers under `/{tenant}` (Authentication API, export downloads, Management API under
 * `/api/v2`); the control endpoints are under `/__sim`. A new resource is a plugin in
 * management/ (or auth/) registered here.
 */
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { dbConnectionsRoutes } from './auth/dbconnections.js';
import { oauthRoutes } from './auth/oauth.js';
import { ticketPagesRoutes } from './auth/tickets.js';
import { controlRoutes } from './control-api.js';
import type { JobEngine } from './engine/job-engine.js';
import { exportDownloadRoutes } from './export-downloads.js';
import type { Faults } from './faults.js';
import { sendAuthError, sendManagementError } from './http.js';
import { authenticationMethodsRoutes } from './management/authentication-methods.js';
import { connectionsRoutes } from './management/connections.js';
import { managementGuard } from './management/guard.js';
import { identitiesRoutes } from './management/identities.js';
import { MAX_IMPORT_BYTES, jobsRoutes } from './management/jobs.js';
import { organizationMembersRoutes } from './management/organization-members.js';
import { organizationsRoutes } from './management/organizations.js';
import { resourceServersRoutes } from './management/resource-servers.js';
import { rolesRoutes } from './management/roles.js';
import { ticketsRoutes } from './management/tickets.js';
import { userPermissionsRoutes } from './management/user-permissions.js';
import { userRolesRoutes } from './management/user-roles.js';
import { usersRoutes } from './management/users.js';
import type { SimTenant } from './tenant/tenant.js';

/** The largest request body the simulator reads (import files have their own, lower limit). */
export const BODY_LIMIT = 16 * 1024 * 1024;

/** Every route of the simulator, on `app`. */
export async function simulatorRoutes(
  app: FastifyInstance,
  tenants: Record<string, { tenant: SimTenant; engine: JobEngine }>,
  faults: Faults,
): Promise<void> {
  for (const [name, { tenant, engine }] of Object.entries(tenants)) {
    await app.register(tenantRoutes, { prefix: `/${name}`, tenant, engine });
  }
  const states = Object.fromEntries(Object.entries(tenants).map(([name, t]) => [name, t.tenant]));
  await app.register(controlRoutes, { prefix: '/__sim', tenants: states, faults });
}

async function tenantRoutes(
  scope: FastifyInstance,
  { tenant, engine }: { tenant: SimTenant; engine: JobEngine },
): Promise<void> {
  await scope.register(formbody);
  scope.addContentTypeParser('multipart/form-data', (_req, payload, done) =>
    readImportBody(payload, done),
  );
  scope.setErrorHandler((err: FastifyError, req, reply) => errorAnswer(err, req, reply));
  scope.setNotFoundHandler((req, reply) => sendManagementError(reply, 404, 'Not Found'));

  // Authentication API
  await scope.register(oauthRoutes, { tenant });
  await scope.register(dbConnectionsRoutes, { tenant });
  await scope.register(ticketPagesRoutes, { tenant });
  // The CDN in front of export files
  await scope.register(exportDownloadRoutes, { tenant, engine });
  // Management API v2
  await scope.register(
    async (api) => {
      managementGuard(api, tenant);
      await api.register(connectionsRoutes, { tenant });
      await api.register(usersRoutes, { tenant });
      await api.register(identitiesRoutes, { tenant });
      await api.register(authenticationMethodsRoutes, { tenant });
      await api.register(ticketsRoutes, { tenant });
      await api.register(jobsRoutes, { tenant, engine });
      await api.register(organizationsRoutes, { tenant });
      await api.register(organizationMembersRoutes, { tenant });
      await api.register(rolesRoutes, { tenant });
      await api.register(userRolesRoutes, { tenant });
      await api.register(userPermissionsRoutes, { tenant });
      await api.register(resourceServersRoutes, { tenant });
    },
    { prefix: '/api/v2' },
  );
}

/**
 * An import request's body, read to its end even when it is over Auth0's 512,000 bytes: answering
 * 413 before the client has finished sending makes Node's fetch fail with EPIPE ("fetch failed")
 * instead of reading the answer, so the tool would see a network error where Auth0 sends a 413.
 * The excess is counted and dropped, never kept; past {@link BODY_LIMIT} the connection is cut.
 */
function readImportBody(
  payload: NodeJS.ReadableStream,
  done: (err: Error | null, body?: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let received = 0;
  let finished = false;
  const finish = (err: Error | null, body?: Buffer) => {
    if (finished) return;
    finished = true;
    payload.removeListener('data', onData);
    done(err, body);
  };
  const tooLarge = () => Object.assign(new Error('Request body is too large'), bodyTooLarge);
  function onData(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    if (received <= MAX_IMPORT_BYTES) chunks.push(bytes);
    else chunks.length = 0;
    if (received > BODY_LIMIT) finish(tooLarge());
  }
  payload.on('data', onData);
  payload.on('error', (err) => finish(Object.assign(err, { statusCode: 400 })));
  payload.on('end', () =>
    received > MAX_IMPORT_BYTES ? finish(tooLarge()) : finish(null, Buffer.concat(chunks, received)),
  );
}

const bodyTooLarge = { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 };

/** Fastify's own errors (body too large, malformed JSON) in the shape of the API called. */
function errorAnswer(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const isAuth = req.url.includes('/oauth/');
  let status = err.statusCode ?? 500;
  let message: string;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    status = 413;
    const limit = req.url.includes('/jobs/users-imports') ? MAX_IMPORT_BYTES : BODY_LIMIT;
    message = `Payload content length greater than maximum allowed: ${limit}`;
  } else if (
    err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    err instanceof SyntaxError
  ) {
    status = 400;
    message = 'Invalid request payload JSON format';
  } else if (status < 500) {
    message = err.message;
  } else {
    status = 500;
    message = `Internal error: ${err.message}`;
  }
  if (isAuth)
    return sendAuthError(reply, status, status >= 500 ? 'server_error' : 'invalid_request', message);
  return sendManagementError(reply, status, message, status === 400 ? 'invalid_body' : undefined);
}
