/**
 * The only code that speaks HTTP to a tenant. Everything else receives a {@link TenantClient}
 * from {@link createTenantClient} and acts on {@link Auth0Error} codes.
 */
import type { TenantConfig } from '../config.js';
import { Auth0TenantClient, type TenantClientOptions } from './client.js';
import type { TenantClient } from './types.js';

export type { TenantClientOptions } from './client.js';
export type { RetryOptions } from './retry.js';
export { rateLimitWaitMs } from './retry.js';
export { Auth0Error, isAuth0Error, type Auth0ErrorCode } from './errors.js';
export type * from './types.js';

export function createTenantClient(tenant: TenantConfig, options: TenantClientOptions = {}): TenantClient {
  return new Auth0TenantClient(tenant, options);
}
