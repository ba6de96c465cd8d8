/**
 * A simulator, a private queue prefix and reports folder, and a runtime with short timings, for
 * the runner's integration tests. A harness belongs to the test that starts it: when that test
 * ends, passed or failed, the harness closes, with the worker processes and workers started
 * through it, so test files need no clean-up of their own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { tenantEnvironment, toTenantConfig, withTenants, type Config } from '../../src/config.js';
import { createRuntime, type RunnerSettings, type Runtime } from '../../src/jobs/runtime.js';
import type { PlanItem } from '../../src/jobs/plan.js';
import type { Batch, ImportCandidate } from '../../src/pipeline/types.js';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';
import { startWorkers, type StartWorkersOptions, type Workers } from '../../src/workers/index.js';
import { REDIS_URL, newRedis, testConfig, uniquePrefix } from './helpers.js';
import { deleteKeysUnder } from '../../src/jobs/queues.js';
import {
  startPrivateRedis,
  type PrivateRedis,
  type PrivateRedisOptions,
} from '../../src/jobs/redis-server.js';
import { spawnWorker, type WorkerProcess } from './processes.js';

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
  /** The environment a worker container would get, pointing at this simulator, prefix and folder. */
  workerEnv(extra?: Record<string, string>): Record<string, string>;
  /** A worker process (test/jobs/worker-process.ts) with {@link workerEnv}; killed when the harness closes. */
  spawnWorker(extraEnv?: Record<string, string>): WorkerProcess;
  /** Workers in this process on the harness's runtime; closed when the harness closes. */
  startWorkers(options?: StartWorkersOptions): Promise<Workers>;
  /**
   * Kills its worker processes, closes its workers, runtime and simulator, deletes its Redis keys
   * and reports folder. Called when the test that started the harness ends; calling it earlier is fine.
   */
  close(): Promise<void>;
}

/**
 * Starts a harness. Started in a test, it closes when the test ends; started in a beforeAll hook
 * (shared by a file's tests), the file closes it in afterAll.
 */
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
  const processes: WorkerProcess[] = [];
  const workers: Workers[] = [];
  let closing: Promise<void> | undefined;
  const harness: Harness = {
    sim,
    config,
    rt,
    prefix,
    reportsDir,
    workerEnv(extra = {}) {
      return {
        PATH: process.env.PATH ?? '',
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        REPORTS_DIR: reportsDir,
        IMPORT_CONCURRENCY: String(config.importConcurrency),
        OLD_AUTH0_MAX_RPS: String(config.maxRps.old),
        NEW_AUTH0_MAX_RPS: String(config.maxRps.new),
        LOG_LEVEL: 'silent',
        LOG_FORMAT: 'json',
        RUNNER_TEST_SETTINGS: JSON.stringify(FAST),
        ...tenantEnvironment(config),
        ...extra,
      };
    },
    spawnWorker(extraEnv) {
      const worker = spawnWorker(harness.workerEnv(extraEnv));
      processes.push(worker);
      return worker;
    },
    async startWorkers(workerOptions) {
      const started = await startWorkers(rt, workerOptions);
      workers.push(started);
      return started;
    },
    close() {
      closing ??= (async () => {
        for (const p of processes) {
          if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
          await p.exited;
        }
        for (const w of workers) await w.close();
        await rt.close();
        await sim.close();
        // A test's private Redis is stopped with its data; the shared one is cleaned.
        if (config.redisUrl === REDIS_URL) {
          const redis = newRedis();
          await deleteKeysUnder(redis, prefix);
          await redis.quit();
        }
        await rm(reportsDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
  try {
    onTestFinished(() => harness.close());
  } catch {
    // Started in a beforeAll hook, not in a test: the file's afterAll closes it.
  }
  return harness;
}

/**
 * A redis-server of the test's own, for tests that stop or restart Redis. Call it in a test, before
 * the harness that uses it: it stops when the test ends, after that harness has closed.
 */
export async function startOwnRedis(options?: PrivateRedisOptions): Promise<PrivateRedis> {
  const redis = await startPrivateRedis(options);
  onTestFinished(() => redis.stop());
  return redis;
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
