/**
 * What every Management API v2 request of a simulated tenant meets first: the rate limits (the
 * tenant-wide bucket, then the endpoint's own where Auth0 publishes one, with their headers) and
 * the bearer token, whose scopes must include one of the route's `scopes` and all of its
 * `allScopes`.
 */
import type { FastifyInstance } from 'fastify';
import { RATE_LIMIT_MESSAGE, sendManagementError } from '../http.js';
import type { EndpointRateLimitName } from '../options.js';
import type { SimTenant } from '../tenant/tenant.js';
import { verifyJwt } from '../tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Any one of these scopes lets a token call the route. */
    scopes?: string[];
    /** A token must hold every one of these scopes to call the route. */
    allScopes?: string[];
    /**
     * The 403 message when the token has none of `scopes`, for routes where Auth0 words it otherwise.
     * @defaultValue `Insufficient scope, expected any of: <scopes>`
     */
    scopeMessage?: string;
    /** The endpoint's own bucket, besides the tenant-wide one. */
    rateLimit?: EndpointRateLimitName;
  }
  interface FastifyRequest {
    simScopes?: Set<string>;
  }
}

/** Rate limiting and bearer-token checks for everything under /api/v2. */
export function managementGuard(api: FastifyInstance, tenant: SimTenant): void {
  api.addHook('onRequest', async (req, reply) => {
    tenant.stats.managementRequests++;
    const name = req.routeOptions.config.rateLimit;
    // The endpoint's bucket goes last, so its headers are the ones the answer carries.
    for (const bucket of [tenant.managementBucket, name && tenant.endpointBuckets.get(name)]) {
      if (!bucket) continue;
      const answer = bucket.take();
      void reply.headers(bucket.headers(answer));
      if (!answer.ok) {
        tenant.stats.rateLimited++;
        return sendManagementError(reply, 429, RATE_LIMIT_MESSAGE, 'too_many_requests');
      }
    }
  });
  api.addHook('preHandler', async (req, reply) => {
    const { scopes: needed, allScopes } = req.routeOptions.config;
    if (needed === undefined && allScopes === undefined) return;
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
    if (needed !== undefined && !needed.some((s) => scopes.has(s))) {
      return sendManagementError(
        reply,
        403,
        req.routeOptions.config.scopeMessage ?? `Insufficient scope, expected any of: ${needed.join(',')}`,
        'insufficient_scope',
      );
    }
    if (allScopes !== undefined && !allScopes.every((s) => scopes.has(s))) {
      return sendManagementError(
        reply,
        403,
        `Insufficient scope, expected all of: ${allScopes.join(',')}`,
        'insufficient_scope',
      );
    }
  });
}
