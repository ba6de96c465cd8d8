/**
 * Per-endpoint buckets of the shared rate budget: which requests have a limit of their own, and
 * that a slow endpoint's bucket paces only its own requests while others go on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { endpointBucket } from '../../src/jobs/endpoint-limits.js';
import { RedisRateBudget } from '../../src/jobs/rate-budget.js';
import { newRedis, uniquePrefix } from './helpers.js';

describe('endpointBucket', () => {
  it("maps the organization endpoints to Auth0's published limits (with a margin), the rest to the tenant's alone", () => {
    const e = (method: string, path: string) => endpointBucket('enterprise', method, path);
    // Published: a burst of 5 and 150 a minute; used: 90 % of the rate and one less in the burst.
    expect(e('POST', '/organizations')).toEqual({
      name: 'orgs-write',
      rps: expect.closeTo(2.25, 9),
      burst: 4,
    });
    expect(e('DELETE', '/organizations/org_1')?.name).toBe('orgs-write');
    expect(e('GET', '/organizations?take=100&from=abc')).toEqual({
      name: 'orgs-read',
      rps: expect.closeTo(1.5, 9),
      burst: 9,
    });
    expect(e('GET', '/organizations/org_1')?.name).toBe('org-read');
    expect(e('GET', '/organizations/name/acme')?.name).toBe('org-by-name-read');
    expect(e('POST', '/organizations/org_1/members')).toEqual({
      name: 'org-members-write',
      rps: expect.closeTo(3, 9),
      burst: 19,
    });
    expect(e('GET', '/organizations/org_1/members?fields=user_id%2Croles&take=100')?.name).toBe(
      'org-members-read',
    );
    expect(e('POST', '/organizations/org_1/members/auth0%7Cabc/roles')?.name).toBe('org-member-roles-write');
    expect(e('POST', '/organizations/org_1/enabled_connections')?.name).toBe('org-connections-write');
    expect(e('GET', '/organizations/org_1/enabled_connections?page=0')?.name).toBe('org-connections-read');
    expect(e('GET', '/roles')).toBeUndefined();
    expect(e('POST', '/roles/rol_1/users')).toBeUndefined();
    expect(endpointBucket('self-service', 'POST', '/organizations')).toEqual({
      name: 'orgs-write',
      rps: expect.closeTo((25 / 60) * 0.9, 9),
      burst: 4,
    });
    expect(endpointBucket('off', 'POST', '/organizations')).toBeUndefined();
  });
});

describe('RedisRateBudget with endpoint buckets', () => {
  const redis = newRedis();
  afterAll(async () => {
    await redis.quit();
  });

  it('paces a slow endpoint in its own bucket (burst, then its rate) while other requests go on', async () => {
    const key = `${uniquePrefix('rate')}:rate:tenant`;
    const budget = new RedisRateBudget(redis, key, {
      rps: 1000,
      endpoint: (method, path) =>
        method === 'POST' && path === '/organizations' ? { name: 'w', rps: 10, burst: 5 } : undefined,
    });
    const start = Date.now();
    const slow = (async () => {
      const at: number[] = [];
      for (let i = 0; i < 10; i++) {
        await budget.take(undefined, { method: 'POST', path: '/organizations' });
        at.push(Date.now() - start);
      }
      return at;
    })();
    const fast = (async () => {
      for (let i = 0; i < 20; i++) await budget.take(undefined, { method: 'GET', path: '/roles' });
      return Date.now() - start;
    })();
    const [at, fastDone] = await Promise.all([slow, fast]);
    // Five at once, then one every 100 ms: the tenth about 500 ms after the fifth.
    expect(at[9]! - at[4]!).toBeGreaterThanOrEqual(450);
    expect(at[4]! - at[0]!).toBeLessThan(at[9]! - at[4]!);
    expect(fastDone).toBeLessThan(at[9]!);
    await redis.del(key, `${key}:w`);
  });
});
