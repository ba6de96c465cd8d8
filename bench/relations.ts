/**
 * `npm run bench -- relations [--users N] [--rps R] [--migrated F]`: the relations stage on the
 * simulator at an enterprise production tenant's Management API rate (16/s, burst 50), with a
 * seed whose old tenant has 10 roles. Two figures against baselines computed from the simulator's
 * state before the run:
 *   - requests (list pages read + calls sent) against the minimum: every list read in pages of
 *     100, every missing assignment sent in chunks of RELATIONS_ROLE_USERS_CHUNK;
 *   - the stage's wall time against (the larger tenant's list pages + the calls) ÷ R (each tenant's
 *     budget, OLD/NEW_AUTH0_MAX_RPS; both tenants are read at once, the calls follow): target ≤ 1.1.
 * The simulator's 429s are printed too: with R below the tenant's rate there should be none.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { followRun } from '../src/commands/run.js';
import { loadConfig, toTenantConfig, withTenants } from '../src/config.js';
import { startRun } from '../src/jobs/flow.js';
import { deleteKeysUnder } from '../src/jobs/queues.js';
import {
  redisAnswers,
  redisServerInstalled,
  startPrivateRedis,
  type PrivateRedis,
} from '../src/jobs/redis-server.js';
import { createRuntime } from '../src/jobs/runtime.js';
import { endpointBucket } from '../src/jobs/endpoint-limits.js';
import { DEFAULT_RELATIONS } from '../src/jobs/types.js';
import { RATE_LIMIT_PROFILES, startSimulator, type Simulator } from '../src/sim/index.js';
import { rbacCatalog } from '../src/sim/tenant/generate-rbac.js';
import { startWorkers } from '../src/workers/index.js';

const PAGE = 100;
const pages = (n: number): number => Math.max(1, Math.ceil(n / PAGE));

/** The first seed whose old tenant has exactly `roles` roles. */
function seedWithRoles(roles: number): number {
  for (let seed = 1; seed < 10_000; seed++) if (rbacCatalog(seed).roles.length === roles) return seed;
  throw new Error(`no seed gives ${roles} roles`);
}

/** Requests the stage cannot do with fewer: every list in pages of 100, every write in full chunks. */
function minimumRequests(
  sim: Simulator,
  chunk: number,
): { reads: { old: number; new: number }; writes: number } {
  const old = sim.tenant('old');
  const neu = sim.tenant('new');
  const reads = { old: 0, new: 0 };
  for (const [side, t] of [
    ['old', old],
    ['new', neu],
  ] as const) {
    const roles = t.rbac.roles();
    reads[side] += pages(t.rbac.resourceServers().length) + pages(roles.length);
    for (const r of roles) reads[side] += pages(r.permissions.size) + pages(t.rbac.memberCount(r.id));
  }
  const newApis = new Set(neu.rbac.resourceServers().map((s) => s.identifier));
  let writes = 0;
  for (const r of old.rbac.roles()) {
    if (neu.rbac.roleByName(r.name) !== undefined) continue;
    const usable = [...r.permissions.values()].filter((p) =>
      newApis.has(p.resource_server_identifier),
    ).length;
    writes += 1 + (usable > 0 ? Math.ceil(usable / PAGE) : 0);
  }
  const missing = new Map<string, number>();
  for (const u of old.listUsers()) {
    const id = String(u.user_id);
    if (neu.user(id) === undefined) continue;
    const held = new Set(neu.rbac.rolesOf(id).map((r) => r.name));
    for (const r of old.rbac.rolesOf(id))
      if (!held.has(r.name)) missing.set(r.name, (missing.get(r.name) ?? 0) + 1);
  }
  for (const n of missing.values()) writes += Math.ceil(n / chunk);
  return { reads, writes };
}

/**
 * The organizations' share of the minimum (organizations.ts in src/relations): both tenants'
 * organizations, each one's enabled connections and members read in pages of 100 (the new tenant's
 * connections and roles too); writes: each missing organization, connection link, chunk of 10
 * missing members, and one call per member lacking roles. Requests per endpoint bucket too, since
 * those endpoints are paced by limits of their own.
 */
function organizationRequests(sim: Simulator): {
  reads: { old: number; new: number };
  writes: number;
  buckets: Map<string, { method: string; path: string; n: number }>;
} {
  const old = sim.tenant('old');
  const neu = sim.tenant('new');
  const reads = { old: 0, new: 0 };
  const buckets = new Map<string, { method: string; path: string; n: number }>();
  const count = (method: string, path: string, n: number): void => {
    const key = `${method} ${path}`;
    const b = buckets.get(key) ?? { method, path, n: 0 };
    b.n += n;
    buckets.set(key, b);
  };
  for (const [side, t] of [
    ['old', old],
    ['new', neu],
  ] as const) {
    const orgs = t.organizations.list();
    reads[side] += pages(orgs.length);
    count('GET', '/organizations', pages(orgs.length));
    for (const o of orgs) {
      reads[side] += pages(o.connections.size) + pages(o.members.size);
      count('GET', '/organizations/o/enabled_connections', pages(o.connections.size));
      count('GET', '/organizations/o/members', pages(o.members.size));
    }
  }
  reads.new += pages(neu.connections.length) + pages(neu.rbac.roles().length);
  let writes = 0;
  for (const o of old.organizations.list()) {
    const there = neu.organizations.byName(o.name);
    if (there === undefined) {
      writes++;
      count('POST', '/organizations', 1);
    }
    for (const id of o.connections.keys()) {
      const name = old.connectionById(id)?.name;
      const target = name === undefined ? undefined : neu.connectionByName(name);
      if (target !== undefined && !(there?.connections.has(target.id) ?? false)) {
        writes++;
        count('POST', '/organizations/o/enabled_connections', 1);
      }
    }
    let toAdd = 0;
    for (const m of o.members.after()) {
      if (neu.user(m.userId) === undefined) continue;
      if (!(there?.members.has(m.userId) ?? false)) toAdd++;
      const held = new Set(
        there === undefined ? [] : (neu.organizations.memberRoles(there, m.userId) ?? []).map((r) => r.name),
      );
      if (old.organizations.existingRoles(m.roles).some((r) => !held.has(r.name))) {
        writes++;
        count('POST', '/organizations/o/members/u/roles', 1);
      }
    }
    writes += Math.ceil(toAdd / 10);
    count('POST', '/organizations/o/members', Math.ceil(toAdd / 10));
  }
  return { reads, writes, buckets };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string', default: '100000' },
      rps: { type: 'string', default: '15' },
      migrated: { type: 'string', default: '1' },
    },
  });
  const users = Number(values.users);
  const rps = Number(values.rps);
  let privateRedis: PrivateRedis | undefined;
  let redisUrl = 'redis://127.0.0.1:6379';
  if (redisServerInstalled()) {
    privateRedis = await startPrivateRedis();
    redisUrl = privateRedis.url;
  } else if (!(await redisAnswers(redisUrl))) {
    throw new Error('The relations bench needs redis-server installed or a Redis at 127.0.0.1:6379.');
  }
  const seed = seedWithRoles(10);
  process.stderr.write(
    `seeding the simulator with ${users.toLocaleString('en-US')} users (seed ${seed}, 10 roles)…\n`,
  );
  const sim = await startSimulator({
    seedOld: users,
    seedNewMigrated: Number(values.migrated),
    seed,
    timing: { pendingMs: 0, exportUsersPerSecond: Infinity, tickMs: 20 },
    rateLimit: RATE_LIMIT_PROFILES.enterprise,
  });
  const reportsDir = await mkdtemp(join(tmpdir(), 'bench-relations-'));
  const prefix = `bench-relations-${Date.now().toString(36)}`;
  const config = withTenants(
    loadConfig({
      env: {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        REPORTS_DIR: reportsDir,
        OLD_AUTH0_MAX_RPS: String(rps),
        NEW_AUTH0_MAX_RPS: String(rps),
        POLL_INTERVAL_MS: '200',
        LOG_LEVEL: 'silent',
        LOG_FORMAT: 'json',
      },
      dotenvPath: false,
    }),
    { old: toTenantConfig(sim.tenants.old), new: toTenantConfig(sim.tenants.new) },
  );
  const rt = await createRuntime(config);
  const workers = await startWorkers(rt);
  try {
    const chunk = config.roleUsersChunk;
    const rbacMin = minimumRequests(sim, chunk);
    const orgMin = organizationRequests(sim);
    const min = {
      reads: { old: rbacMin.reads.old + orgMin.reads.old, new: rbacMin.reads.new + orgMin.reads.new },
      writes: rbacMin.writes + orgMin.writes,
    };
    // Calls run phase by phase (organizations created, then links, members and role assignments,
    // then member roles), each phase no faster than the budget nor than its slowest endpoint's own
    // bucket (its requests beyond the burst at its rate).
    const bucketMs = (method: string, path: string): number => {
      const b = orgMin.buckets.get(`${method} ${path}`);
      const bucket = endpointBucket(config.endpointRateLimits, method, path);
      if (b === undefined || bucket === undefined) return 0;
      return (Math.max(0, b.n - bucket.burst) / bucket.rps) * 1000;
    };
    const calls = (method: string, path: string): number => orgMin.buckets.get(`${method} ${path}`)?.n ?? 0;
    const phasesMs = [
      Math.max((calls('POST', '/organizations') / rps) * 1000, bucketMs('POST', '/organizations')),
      Math.max(
        ((rbacMin.writes +
          calls('POST', '/organizations/o/enabled_connections') +
          calls('POST', '/organizations/o/members')) /
          rps) *
          1000,
        bucketMs('POST', '/organizations/o/enabled_connections'),
        bucketMs('POST', '/organizations/o/members'),
      ),
      Math.max(
        (calls('POST', '/organizations/o/members/u/roles') / rps) * 1000,
        bucketMs('POST', '/organizations/o/members/u/roles'),
      ),
    ];
    const endpointFloorMs = phasesMs.reduce((a, b) => a + b, 0);
    const before = {
      old: sim.tenant('old').stats.managementRequests,
      new: sim.tenant('new').stats.managementRequests,
    };
    const { runId } = await startRun(rt, { kind: 'relations', relations: DEFAULT_RELATIONS });
    const final = await followRun(rt, runId, { intervalMs: 250 });
    const summary = (await rt.store.getSummary(runId))!;
    const r = summary.relations!;
    const wall = summary.timings.phases.relations ?? 0;
    const made = r.reads.old + r.reads.new + r.calls;
    const least = min.reads.old + min.reads.new + min.writes;
    // The tenants are read at once, each under its own budget; the calls follow the reads.
    const readsMs = (Math.max(r.reads.old, r.reads.new) / rps) * 1000;
    const budgetFloor = readsMs + (r.calls / rps) * 1000;
    const floor = Math.max(budgetFloor, readsMs + endpointFloorMs);
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const c = r.counts.role_assignments;
    process.stdout.write(
      [
        `relations: ${users.toLocaleString('en-US')} users, 10 roles, tenant at 16 requests/s (burst 50), budget ${rps}/s per tenant (${final?.run.status})`,
        `  role assignments: total ${c?.total ?? 0}, added ${c?.added ?? 0}, already present ${c?.already_present ?? 0}, pending ${c?.pending_user ?? 0}, failed ${c?.failed ?? 0}${summary.problems ? `; PROBLEMS: ${summary.problems.join('; ')}` : ''}`,
        `  requests: ${made} (list pages old ${r.reads.old} + new ${r.reads.new}, calls ${r.calls}) against a minimum of ${least} (old ${min.reads.old} + new ${min.reads.new} + calls ${min.writes}, chunks of ${chunk}): ratio ${(made / least).toFixed(3)}`,
        `  Management API requests seen by the simulator: old ${sim.tenant('old').stats.managementRequests - before.old}, new ${sim.tenant('new').stats.managementRequests - before.new} (the new tenant's also count its users export); 429s: old ${sim.tenant('old').stats.rateLimited}, new ${sim.tenant('new').stats.rateLimited}`,
        `  organizations: ${orgMin.writes} calls at least (created ${r.counts.organizations_created?.added ?? 0}, connection links ${r.counts.organization_connections?.added ?? 0}, memberships ${r.counts.memberships?.added ?? 0}, member roles ${r.counts.member_roles?.added ?? 0}); calls phase by phase under the budget and each endpoint's own bucket at least ${s(endpointFloorMs)} (ENDPOINT_RATE_LIMITS=${config.endpointRateLimits})`,
        `  relations phase ${s(wall)} (its users export of the new tenant included) against max((max(old pages, new pages) + calls) ÷ budget ${s(budgetFloor)}, pages ÷ budget + the phases' floors ${s(readsMs + endpointFloorMs)}): ratio ${(wall / floor).toFixed(3)} (target ≤ 1.1)`,
        '',
      ].join('\n'),
    );
  } finally {
    await workers.close();
    await rt.close();
    await sim.close();
    if (privateRedis === undefined) {
      const { Redis } = await import('ioredis');
      const redis = new Redis(redisUrl);
      await deleteKeysUnder(redis, prefix);
      await redis.quit();
    }
    await privateRedis?.stop();
    await rm(reportsDir, { recursive: true, force: true });
  }
}
