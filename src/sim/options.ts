/** Options of the simulator and the timing profiles of simulated Auth0 plan tiers. */
import type { FaultRule } from './faults.js';

export type TimingProfile = 'fast' | 'free' | 'production' | 'enterprise';

export interface SimTiming {
  /** How long a job stays `pending` before it starts. */
  pendingMs: number;
  /** Users an import job processes per second (`Infinity`: all at once). */
  importUsersPerSecond: number;
  /** Users an export job writes per second (`Infinity`: as fast as the machine goes). */
  exportUsersPerSecond: number;
  /** How often running jobs advance. */
  tickMs: number;
  /** bcrypt cost for passwords the simulator hashes (Auth0 uses 10). */
  bcryptCost: number;
  /** How jobs vary around these figures, as on a real tenant's shard; `false`: constant timing. */
  variance: TimingVariance | false;
}

/**
 * Job timing as real tenants vary it: Auth0 publishes no pending time and its import speed moves
 * with the load on the tenant's shard. Each job draws its own pending delay and speed from a
 * generator seeded by `seed` and the job's place in the tenant's order of creation, so a run that
 * creates its jobs in the same order sees the same timings.
 */
export interface TimingVariance {
  seed: number;
  /** A job waits `pendingMs` × a factor drawn from [1 − spread, 1 + spread]. @defaultValue 0.8 */
  pendingSpread: number;
  /** A job runs at the tier's speed × a factor drawn from [1 − spread, 1 + spread]. @defaultValue 0.3 */
  speedSpread: number;
  /** Share of jobs that run slow besides (a busy shard). @defaultValue 0.03 */
  slowShare: number;
  /** A slow job's speed factor, on top of its draw. @defaultValue 0.5 */
  slowFactor: number;
}

export const DEFAULT_VARIANCE: Readonly<TimingVariance> = {
  seed: 1,
  pendingSpread: 0.8,
  speedSpread: 0.3,
  slowShare: 0.03,
  slowFactor: 0.5,
};

export interface RateLimitOptions {
  /** Bucket size: the burst, reported as `x-ratelimit-limit`. */
  capacity: number;
  /** Sustained requests per second. */
  refillPerSecond: number;
}

/**
 * Import throughput per tier follows the checklist (Auth0 support: about 400,000 users/hour for an
 * enterprise tenant running 2 jobs; production about a third of that, free a third again; a tenant
 * tagged staging imports at the free rate, about 10× slower than enterprise). The pending delay
 * has no public figure. The tiers vary job timing ({@link DEFAULT_VARIANCE}); `fast`, for tests,
 * does not.
 */
export const TIMING_PROFILES: Readonly<Record<TimingProfile, SimTiming>> = {
  fast: {
    pendingMs: 5,
    importUsersPerSecond: Infinity,
    exportUsersPerSecond: Infinity,
    tickMs: 5,
    bcryptCost: 4,
    variance: false,
  },
  free: {
    pendingMs: 5000,
    importUsersPerSecond: 5.6,
    exportUsersPerSecond: 2000,
    tickMs: 250,
    bcryptCost: 10,
    variance: DEFAULT_VARIANCE,
  },
  production: {
    pendingMs: 3000,
    importUsersPerSecond: 16.5,
    exportUsersPerSecond: 5000,
    tickMs: 250,
    bcryptCost: 10,
    variance: DEFAULT_VARIANCE,
  },
  enterprise: {
    pendingMs: 1500,
    importUsersPerSecond: 55,
    exportUsersPerSecond: 10000,
    tickMs: 250,
    bcryptCost: 10,
    variance: DEFAULT_VARIANCE,
  },
};

/**
 * Management API buckets per tier (Auth0 rate-limit policy pages): free 2/s with burst 2,
 * Essentials/Professional "all other endpoints" 150/min with burst 10, enterprise production
 * 16/s with burst 50. `fast` is generous so tests are not throttled unless they ask.
 */
export const RATE_LIMIT_PROFILES: Readonly<Record<TimingProfile, RateLimitOptions>> = {
  fast: { capacity: 1000, refillPerSecond: 1000 },
  free: { capacity: 2, refillPerSecond: 2 },
  production: { capacity: 10, refillPerSecond: 2.5 },
  enterprise: { capacity: 50, refillPerSecond: 16 },
};

/**
 * `/oauth/token` buckets: Auth0's free plan allows a burst of 30 and 30 per second (rate-limit
 * policy page); our sources give no figure for higher tiers, so they get 100 per second.
 */
export const AUTH_RATE_LIMIT_PROFILES: Readonly<Record<TimingProfile, RateLimitOptions>> = {
  fast: { capacity: 1000, refillPerSecond: 1000 },
  free: { capacity: 30, refillPerSecond: 30 },
  production: { capacity: 100, refillPerSecond: 100 },
  enterprise: { capacity: 100, refillPerSecond: 100 },
};

/** Management API endpoints with a rate limit of their own, besides the tenant-wide bucket. */
export type EndpointRateLimitName =
  | 'read-organizations'
  | 'read-organization'
  | 'read-organization-by-name'
  | 'write-organizations'
  | 'read-organization-members'
  | 'write-organization-members'
  | 'read-organization-member-roles'
  | 'write-organization-member-roles'
  | 'read-organization-connections'
  | 'write-organization-connections'
  | 'read-user-organizations';

const perMinute = (capacity: number, n: number): RateLimitOptions => ({ capacity, refillPerSecond: n / 60 });

/**
 * Per-endpoint buckets (MIGRATION-FACTS.md's endpoint table). Enterprise: Auth0's enterprise and
 * private-cloud tables (write organizations 5 + 150/min, one bucket for POST, PATCH and DELETE);
 * free and production: the self-service figures where Auth0 gives them, the enterprise ones
 * otherwise. GET /users/{id}/organizations has only the older 40 + 500/min figure. `fast` has none.
 */
const ENTERPRISE_ENDPOINT_LIMITS: Readonly<Record<EndpointRateLimitName, RateLimitOptions>> = {
  'read-organizations': perMinute(10, 100),
  'read-organization': perMinute(40, 500),
  'read-organization-by-name': perMinute(20, 200),
  'write-organizations': perMinute(5, 150),
  'read-organization-members': perMinute(40, 500),
  'write-organization-members': perMinute(20, 200),
  'read-organization-member-roles': perMinute(20, 200),
  'write-organization-member-roles': perMinute(20, 200),
  'read-organization-connections': perMinute(10, 100),
  'write-organization-connections': perMinute(5, 150),
  'read-user-organizations': perMinute(40, 500),
};
const SELF_SERVICE_ENDPOINT_LIMITS: Readonly<Record<EndpointRateLimitName, RateLimitOptions>> = {
  ...ENTERPRISE_ENDPOINT_LIMITS,
  'read-organizations': perMinute(5, 50),
  'read-organization-by-name': perMinute(10, 100),
  'write-organizations': perMinute(5, 25),
  'read-organization-connections': perMinute(5, 50),
};

export const ENDPOINT_RATE_LIMIT_PROFILES: Readonly<
  Record<TimingProfile, Readonly<Partial<Record<EndpointRateLimitName, RateLimitOptions>>>>
> = {
  fast: {},
  free: SELF_SERVICE_ENDPOINT_LIMITS,
  production: SELF_SERVICE_ENDPOINT_LIMITS,
  enterprise: ENTERPRISE_ENDPOINT_LIMITS,
};

/** Entity limits of Auth0's entity-limit policy for organizations (public cloud defaults). */
export interface OrganizationLimits {
  /** @defaultValue 100000 */
  organizationsPerTenant: number;
  /** @defaultValue 100000 */
  membersPerOrganization: number;
  /** @defaultValue 10 */
  connectionsPerOrganization: number;
  /** Organization roles one member may hold. @defaultValue 50 */
  rolesPerMember: number;
}

export const DEFAULT_ORGANIZATION_LIMITS: Readonly<OrganizationLimits> = {
  organizationsPerTenant: 100_000,
  membersPerOrganization: 100_000,
  connectionsPerOrganization: 10,
  rolesPerMember: 50,
};

export interface SimOptions {
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** @defaultValue `127.0.0.1` */
  host?: string;
  /**
   * The URL clients reach the simulator at, when it differs from where it listens (in a container
   * listening on 0.0.0.0, e.g. `http://sim:4010`). @defaultValue `http://<host>:<port>`
   */
  publicUrl?: string;
  /** Generated users in the old tenant. @defaultValue 0 */
  seedOld?: number;
  /** Share (0..1) of the old tenant's database users already in the new tenant, same ids. @defaultValue 0 */
  seedNewMigrated?: number;
  /**
   * Share (0..1) of the old tenant's generated users with a linked account: a database user with a
   * linked Google identity, or a Google user with a linked database identity. @defaultValue 0
   */
  seedLinked?: number;
  /**
   * Share (0..1) of the old tenant's generated database users enrolled in MFA (TOTP, phone, email,
   * or TOTP and phone). @defaultValue 0
   */
  seedMfa?: number;
  /** Seed of the user generator. @defaultValue 1 */
  seed?: number;
  /** Seed the old tenant from an Auth0 export file (NDJSON, optionally gzipped) instead. */
  seedFile?: string;
  /** A tier's profile or explicit numbers (missing ones from `fast`). @defaultValue `fast` */
  timing?: TimingProfile | Partial<SimTiming>;
  /**
   * Job timing variance over the profile's: a seed (the default spreads), settings, or `false` for
   * constant timing. @defaultValue the profile's (seed 1 for the tiers, none for `fast` and explicit numbers)
   */
  timingVariance?: number | Partial<TimingVariance> | false;
  /** Management API token bucket per tenant, or `false` for none. @defaultValue by timing profile */
  rateLimit?: RateLimitOptions | false;
  /** `/oauth/token` bucket per tenant, or `false`. @defaultValue by timing profile */
  authRateLimit?: RateLimitOptions | false;
  /**
   * Per-endpoint buckets (each one per tenant) over the timing profile's; `false` for a name turns
   * one off, `false` for all turns them all off. @defaultValue by timing profile (none for `fast`)
   */
  endpointRateLimits?: Partial<Record<EndpointRateLimitName, RateLimitOptions | false>> | false;
  /** Organization entity limits, small ones for tests. @defaultValue Auth0's (see {@link OrganizationLimits}) */
  organizationLimits?: Partial<OrganizationLimits>;
  /** Lifetime of an export's download link. @defaultValue 60 */
  exportLinkTtlSeconds?: number;
  /** Jobs (and their files) disappear this long after creation. @defaultValue 86400 */
  jobRetentionSeconds?: number;
  /** Lifetime of issued access tokens. @defaultValue 86400 */
  tokenTtlSeconds?: number;
  /** Failed logins for one user from one IP before `too_many_attempts`. @defaultValue 10 */
  bruteForceThreshold?: number;
  /** How long such a block lasts. @defaultValue 900000 */
  bruteForceBlockMs?: number;
  /**
   * Import users whose JSON is larger fail with PROFILE_SIZE_EXCEEDED: Auth0's 10 KB profile limit
   * plus its extended allowance of about ten times that (profiles in between are stored with a
   * warning). @defaultValue 102400
   */
  maxProfileBytes?: number;
  /** Faults active from the start. */
  faults?: FaultRule[];
  /** Where export files are written. @defaultValue a new folder under the OS temp dir */
  workDir?: string;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  publicUrl: string | undefined;
  seedOld: number;
  seedNewMigrated: number;
  seedLinked: number;
  seedMfa: number;
  seed: number;
  seedFile: string | undefined;
  timing: SimTiming;
  rateLimit: RateLimitOptions | false;
  authRateLimit: RateLimitOptions | false;
  endpointRateLimits: Partial<Record<EndpointRateLimitName, RateLimitOptions>>;
  organizationLimits: OrganizationLimits;
  exportLinkTtlMs: number;
  jobRetentionMs: number;
  tokenTtlSeconds: number;
  bruteForceThreshold: number;
  bruteForceBlockMs: number;
  maxProfileBytes: number;
  faults: FaultRule[];
  workDir: string | undefined;
}

export function resolveOptions(o: SimOptions = {}): ResolvedOptions {
  const profile: TimingProfile = typeof o.timing === 'string' ? o.timing : 'fast';
  if (!(profile in TIMING_PROFILES)) {
    throw new TypeError(
      `timing must be one of ${Object.keys(TIMING_PROFILES).join(', ')} (got "${profile}")`,
    );
  }
  const timing: SimTiming =
    typeof o.timing === 'object' ? { ...TIMING_PROFILES.fast, ...o.timing } : { ...TIMING_PROFILES[profile] };
  const v = o.timingVariance;
  if (v !== undefined) {
    timing.variance =
      v === false ? false : { ...DEFAULT_VARIANCE, ...(typeof v === 'number' ? { seed: v } : v) };
  }
  if (timing.variance !== false) {
    const { pendingSpread, speedSpread, slowShare, slowFactor, seed } = timing.variance;
    if (!Number.isInteger(seed))
      throw new TypeError(`the timing variance seed must be an integer (got ${seed})`);
    const ranges: Array<[string, number, boolean, string]> = [
      ['pendingSpread', pendingSpread, pendingSpread >= 0 && pendingSpread <= 1, 'from 0 to 1'],
      ['speedSpread', speedSpread, speedSpread >= 0 && speedSpread < 1, 'from 0 to below 1'],
      ['slowShare', slowShare, slowShare >= 0 && slowShare <= 1, 'from 0 to 1'],
      ['slowFactor', slowFactor, slowFactor > 0 && slowFactor <= 1, 'above 0, at most 1'],
    ];
    for (const [name, x, ok, range] of ranges) {
      if (!ok) throw new TypeError(`timing variance ${name} must be ${range} (got ${x})`);
    }
  }
  const fraction = o.seedNewMigrated ?? 0;
  for (const [name, share] of [
    ['seedNewMigrated', fraction],
    ['seedLinked', o.seedLinked ?? 0],
    ['seedMfa', o.seedMfa ?? 0],
  ] as const) {
    if (!(share >= 0 && share <= 1)) throw new TypeError(`${name} must be from 0 to 1 (got ${share})`);
  }
  return {
    port: o.port ?? 0,
    host: o.host ?? '127.0.0.1',
    publicUrl: o.publicUrl?.replace(/\/+$/, ''),
    seedOld: o.seedOld ?? 0,
    seedNewMigrated: fraction,
    seedLinked: o.seedLinked ?? 0,
    seedMfa: o.seedMfa ?? 0,
    seed: o.seed ?? 1,
    seedFile: o.seedFile,
    timing,
    rateLimit: o.rateLimit ?? RATE_LIMIT_PROFILES[profile],
    authRateLimit: o.authRateLimit ?? AUTH_RATE_LIMIT_PROFILES[profile],
    endpointRateLimits: endpointLimits(profile, o.endpointRateLimits),
    organizationLimits: { ...DEFAULT_ORGANIZATION_LIMITS, ...o.organizationLimits },
    exportLinkTtlMs: (o.exportLinkTtlSeconds ?? 60) * 1000,
    jobRetentionMs: (o.jobRetentionSeconds ?? 86_400) * 1000,
    tokenTtlSeconds: o.tokenTtlSeconds ?? 86_400,
    bruteForceThreshold: o.bruteForceThreshold ?? 10,
    bruteForceBlockMs: o.bruteForceBlockMs ?? 15 * 60_000,
    maxProfileBytes: o.maxProfileBytes ?? 102_400,
    faults: o.faults ?? [],
    workDir: o.workDir,
  };
}

function endpointLimits(
  profile: TimingProfile,
  given: SimOptions['endpointRateLimits'],
): Partial<Record<EndpointRateLimitName, RateLimitOptions>> {
  if (given === false) return {};
  const out: Partial<Record<EndpointRateLimitName, RateLimitOptions>> = {
    ...ENDPOINT_RATE_LIMIT_PROFILES[profile],
  };
  for (const [name, limit] of Object.entries(given ?? {}) as Array<
    [EndpointRateLimitName, RateLimitOptions | false]
  >) {
    if (limit === false) delete out[name];
    else out[name] = limit;
  }
  return out;
}
