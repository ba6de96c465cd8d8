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
    const min = minimumRequests(sim, chunk);
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
    const floor = ((Math.max(r.reads.old, r.reads.new) + r.calls) / rps) * 1000;
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const c = r.counts.role_assignments;
    process.stdout.write(
      [
        `relations: ${users.toLocaleString('en-US')} users, 10 roles, tenant at 16 requests/s (burst 50), budget ${rps}/s per tenant (${final?.run.status})`,
        `  role assignments: total ${c?.total ?? 0}, added ${c?.added ?? 0}, already present ${c?.already_present ?? 0}, pending ${c?.pending_user ?? 0}, failed ${c?.failed ?? 0}${summary.problems ? `; PROBLEMS: ${summary.problems.join('; ')}` : ''}`,
        `  requests: ${made} (list pages old ${r.reads.old} + new ${r.reads.new}, calls ${r.calls}) against a minimum of ${least} (old ${min.reads.old} + new ${min.reads.new} + calls ${min.writes}, chunks of ${chunk}): ratio ${(made / least).toFixed(3)}`,
        `  Management API requests seen by the simulator: old ${sim.tenant('old').stats.managementRequests - before.old}, new ${sim.tenant('new').stats.managementRequests - before.new} (the new tenant's also count its users export); 429s: old ${sim.tenant('old').stats.rateLimited}, new ${sim.tenant('new').stats.rateLimited}`,
        `  relations phase ${s(wall)} (its users export of the new tenant included) against (max(old pages, new pages) + calls) ÷ budget ${s(floor)}: ratio ${(wall / floor).toFixed(3)} (target ≤ 1.1)`,
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
