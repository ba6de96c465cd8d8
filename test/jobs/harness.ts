/**
 * A simulator, a private queue prefix and reports folder, and a runtime with short timings, for
 * the runner's integration tests; `close()` undoes all of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toTenantConfig, withTenants, type Config } from '../../src/config.js';
import { createRuntime, type RunnerSettings, type Runtime } from '../../src/jobs/runtime.js';
import type { PlanItem } from '../../src/jobs/plan.js';
import type { Batch, ImportCandidate } from '../../src/pipeline/types.js';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';
import { REDIS_URL, newRedis, testConfig, uniquePrefix } from './helpers.js';
import { deleteKeysUnder } from '../../src/jobs/queues.js';

/** Timings that keep the suite in seconds: short locks and stalled checks, quick polls and backoffs. */
export const FAST: Partial<RunnerSettings> = {
  lockDurationMs: 2_000,
  stalledIntervalMs: 1_000,
  pollIntervalMs: 20,
  maxPollIntervalMs: 100,
  slotWaitMs: 50,
  slotHoldMs: 2_000,
  busyWaitMs: 100,
  batchBackoffMs: 50,
  stageBackoffMs: 50,
  shutdownGraceMs: 3_000,
  handBackMs: 300,
  heartbeatMs: 500,
  retry: { baseDelayMs: 10, maxDelayMs: 200, rateLimitFallbackMs: 50, maxElapsedMs: 20_000 },
};

export interface Harness {
  sim: Simulator;
  config: Config;
  rt: Runtime;
  prefix: string;
  reportsDir: string;
  close(): Promise<void>;
}

export async function startHarness(
  options: { sim?: SimOptions; env?: Record<string, string>; settings?: Partial<RunnerSettings> } = {},
): Promise<Harness> {
  const sim = await startSimulator({ timing: 'fast', ...options.sim });
  const prefix = uniquePrefix('run');
  const reportsDir = await mkdtemp(join(tmpdir(), 'runner-reports-'));
  const config = withTenants(testConfig({ QUEUE_PREFIX: prefix, REPORTS_DIR: reportsDir, ...options.env }), {
    old: toTenantConfig(sim.tenants.old),
    new: toTenantConfig(sim.tenants.new),
  });
  const rt = await createRuntime(config, { settings: { ...FAST, ...options.settings } });
  return {
    sim,
    config,
    rt,
    prefix,
    reportsDir,
    async close() {
      await rt.close();
      await sim.close();
      // A test's private Redis is stopped with its data; the shared one is cleaned.
      if (config.redisUrl === REDIS_URL) {
        const redis = newRedis();
        await deleteKeysUnder(redis, prefix);
        await redis.quit();
      }
      await rm(reportsDir, { recursive: true, force: true });
    },
  };
}

/**
 * Batches of the old tenant's database users, built in the test (not by the pipeline) so the
 * runner's tests do not depend on the transform: ids without `auth0|`, import-schema fields only.
 */
export function batchesOf(users: Array<Record<string, unknown>>, perBatch: number): PlanItem[] {
  const items: PlanItem[] = [];
  for (let i = 0; i < users.length; i += perBatch) {
    const candidates: ImportCandidate[] = users.slice(i, i + perBatch).map((u, j) => {
      const userId = String(u.user_id);
      return {
        kind: 'import',
        source: { line: i + j + 1, userId, email: String(u.email) },
        user: {
          email: String(u.email),
          email_verified: u.email_verified === true,
          user_id: userId.replace(/^auth0\|/, ''),
          ...(typeof u.name === 'string' && { name: u.name }),
        },
        original: u,
        hasPassword: false,
      };
    });
    const batch: Batch = {
      kind: 'batch',
      index: items.length,
      payload: Buffer.from(JSON.stringify(candidates.map((c) => c.user))),
      users: candidates,
    };
    items.push(batch);
  }
  return items;
}

export async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

/** The old tenant's database users that have an email (the importable ones). */
export function importableUsers(sim: Simulator, limit = Infinity): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const u of sim.tenant('old').listUsers(sim.tenants.old.connection)) {
    if (typeof u.email === 'string') out.push(u);
    if (out.length >= limit) break;
  }
  return out;
}

/** User ids in the new tenant's database connection. */
export function newTenantIds(sim: Simulator): Set<string> {
  const ids = new Set<string>();
  for (const u of sim.tenant('new').listUsers(sim.tenants.new.connection)) ids.add(String(u.user_id));
  return ids;
}
