/** What Authentication API requests of a simulated tenant meet first: its rate limit. */
import type { FastifyReply } from 'fastify';
import { AUTH_RATE_LIMIT_MESSAGE, sendAuthError } from '../http.js';
import type { SimTenant } from '../tenant/tenant.js';

/**
 * The tenant's Authentication API bucket (`/oauth/token`, `/dbconnections/*`): sets its rate-limit
 * headers, and answers 429 when it is empty.
 */
export function limitAuthRequest(tenant: SimTenant, reply: FastifyReply): FastifyReply | undefined {
  const bucket = tenant.authBucket;
  if (bucket === undefined) return undefined;
  const answer = bucket.take();
  void reply.headers(bucket.headers(answer));
  if (answer.ok) return undefined;
  tenant.stats.rateLimited++;
  return sendAuthError(reply, 429, 'too_many_requests', AUTH_RATE_LIMIT_MESSAGE);
}
