/**
 * `npm run bench -- e2e [--users N[,N…]] [--rate R] [--slots S] [--migrated F] [--variance SEED]`: a whole sweep of N
 * users through the simulator, whose import jobs process R users per second each. The baseline is
 * the simulator's theoretical minimum for the import, users / (slots × rate): the bench prints how
 * close the run came to it, the share of the import phase during which every slot held a running
 * Auth0 job, and Redis's memory (`INFO memory`, sampled during the run): it must not grow with the
 * number of users, since per-user lines go to the run's folder. With several sizes, each runs on a
 * fresh Redis and the peaks are printed side by side.
 *
 * With `--variance SEED` each size runs twice, with constant job timing and with the simulator's
 * seeded variance (each job's speed ±30 %, an occasional slow one), and prints both runs' share of
 * the import phase with every slot busy and wall / (export job time + import minimum), where the
 * import minimum is the Auth0 jobs' processing time over the slots (the best any runner could do
 * at the speeds the jobs drew).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig, tenantEnvironment, toTenantConfig, withTenants, type Config } from '../src/config.js';
import { followRun } from '../src/commands/run.js';
import { startRun } from '../src/jobs/flow.js';
import {
  redisAnswers,
  redisServerInstalled,
  startPrivateRedis,
  type PrivateRedis,
} from '../src/jobs/redis-server.js';
import { createRuntime } from '../src/jobs/runtime.js';
import { startSimulator } from '../src/sim/index.js';
import { deleteKeysUnder } from '../src/jobs/queues.js';

interface SlotSample {
  /** Time with every slot busy, in the import phase (ms). */
  busyMs: number;
  /** Periods with a slot free between two busy periods: how long a slot waits for the next batch. */
  gaps: number[];
  gapStart?: number;
  firstActive?: number;
  lastActive?: number;
  maxActive: number;
}

/** `auth0-migrate worker` in a child process, pointed at the simulator; resolves once its workers run. */
async function spawnWorker(
  config: Config,
  redisUrl: string,
  reportsDir: string,
  prefix: string,
  slots: number,
): Promise<ChildProcess> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    REPORTS_DIR: reportsDir,
    IMPORT_CONCURRENCY: String(slots),
    // A tenth of the default, as the simulated jobs last about a tenth of a real 1,000-user job.
    POLL_INTERVAL_MS: '100',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  };
  Object.assign(env, tenantEnvironment(config));
  // The built CLI beside the built bench (npm run bench), or the sources through tsx.
  const built = !import.meta.url.endsWith('.ts');
  const cli = new URL(built ? '../src/cli.js' : '../src/cli.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, built ? [cli, 'worker'] : ['--import', 'tsx', cli, 'worker'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('workers started')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`the worker process exited (${code}): ${log.slice(-2000)}`)),
    );
  });
  return child;
}

function gapText(gaps: number[]): string {
  if (gaps.length === 0) return 'never';
  const sorted = [...gaps].sort((a, b) => a - b);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  return `${Math.round(mean)} ms on average (median ${Math.round(sorted[Math.floor(sorted.length / 2)]!)} ms, max ${Math.round(sorted.at(-1)!)} ms, ${gaps.length} times)`;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string', default: '100000' },
      rate: { type: 'string', default: '250' },
      slots: { type: 'string', default: '2' },
      migrated: { type: 'string', default: '0' },
      variance: { type: 'string' },
    },
  });
  const seed = values.variance === undefined ? undefined : Number(values.variance);
  if (seed !== undefined && !Number.isInteger(seed)) throw new Error('--variance takes an integer seed');
  const sizes = values.users.split(',').map(Number);
  const peaks: Array<{ users: number; peak: number; baseline: number }> = [];
  for (const users of sizes) {
    const sweep = (variance: number | false) =>
      sweepOnce(users, Number(values.rate), Number(values.slots), Number(values.migrated), variance);
    const constant = await sweep(false);
    peaks.push({ users, ...constant });
    if (seed !== undefined) {
      const varied = await sweep(seed);
      const line = (name: string, r: SweepFigures) =>
        `  ${name}: all slots busy ${r.busyShare.toFixed(3)} of the import phase (target ≥ 0.95), wall / (export ${(r.exportMs / 1000).toFixed(1)} s + import minimum ${(r.importMinMs / 1000).toFixed(1)} s) ${r.ratio.toFixed(3)} (target ≤ 1.08)`;
      process.stdout.write(
        [
          `e2e sweep of ${users.toLocaleString('en-US')} users, constant job timing beside variance seed ${seed}:`,
          line('constant', constant),
          line(`variance ${seed}`, varied),
          '',
        ].join('\n'),
      );
    }
  }
  if (peaks.length > 1) {
    const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;
    process.stdout.write(
      `Redis peak used memory during the run (INFO memory, above its memory before the run): ${peaks
        .map((p) => `${p.users.toLocaleString('en-US')} users ${mb(p.peak - p.baseline)}`)
        .join(', ')} (target: flat)\n`,
    );
  }
}

interface SweepFigures {
  peak: number;
  baseline: number;
  busyShare: number;
  /** The old tenant's export job, from creation to its end. */
  exportMs: number;
  /** The import jobs' processing time (from start to end) summed, over the slots. */
  importMinMs: number;
  /** wall / (exportMs + importMinMs). */
  ratio: number;
}

async function sweepOnce(
  users: number,
  rate: number,
  slots: number,
  migrated: number,
  variance: number | false,
): Promise<SweepFigures> {
  let privateRedis: PrivateRedis | undefined;
  let redisUrl = 'redis://127.0.0.1:6379';
  if (redisServerInstalled()) {
    // A Redis of its own, so the peak memory is the run's and nobody else's.
    privateRedis = await startPrivateRedis();
    redisUrl = privateRedis.url;
  } else if (!(await redisAnswers(redisUrl))) {
    throw new Error('The e2e bench needs redis-server installed or a Redis at 127.0.0.1:6379.');
  }
  const reportsDir = await mkdtemp(join(tmpdir(), 'bench-e2e-'));
  process.stderr.write(`seeding the simulator with ${users.toLocaleString('en-US')} users…\n`);
  const sim = await startSimulator({
    seedOld: users,
    seedNewMigrated: migrated,
    timing: { pendingMs: 0, importUsersPerSecond: rate, exportUsersPerSecond: Infinity, tickMs: 20 },
    timingVariance: variance,
    rateLimit: false,
  });
  const probe = new Redis(redisUrl);
  const prefix = `bench-e2e-${Date.now().toString(36)}`;
  const config = withTenants(
    loadConfig({
      env: {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        REPORTS_DIR: reportsDir,
        IMPORT_CONCURRENCY: String(slots),
        LOG_LEVEL: 'silent',
        LOG_FORMAT: 'json',
      },
      dotenvPath: false,
    }),
    { old: toTenantConfig(sim.tenants.old), new: toTenantConfig(sim.tenants.new) },
  );
  const rt = await createRuntime(config);
  const usedMemory = async (): Promise<number> =>
    Number(/used_memory:(\d+)/.exec(await probe.info('memory'))?.[1] ?? 0);
  const baseline = await usedMemory();
  let peakUsed = baseline;
  const memorySampler = setInterval(() => {
    void usedMemory().then(
      (m) => (peakUsed = Math.max(peakUsed, m)),
      () => undefined,
    );
  }, 250);

  const newTenant = sim.tenant('new');
  const sample: SlotSample = { busyMs: 0, maxActive: 0, gaps: [] };
  let last = performance.now();
  let lastBusy = false;
  const sampler = setInterval(() => {
    const now = performance.now();
    let active = 0;
    for (const j of newTenant.jobs.values()) {
      if (j.type === 'users_import' && (j.status === 'pending' || j.status === 'processing')) active++;
    }
    if (lastBusy) sample.busyMs += now - last;
    if (active > 0) {
      sample.firstActive ??= now;
      sample.lastActive = now;
    }
    sample.maxActive = Math.max(sample.maxActive, active);
    if (lastBusy && active < slots) sample.gapStart = now;
    if (!lastBusy && active >= slots && sample.gapStart !== undefined) {
      sample.gaps.push(now - sample.gapStart);
      sample.gapStart = undefined;
    }
    lastBusy = active >= slots;
    last = now;
  }, 10);

  let staged = 0;
  // The workers run in a process of their own, as in a container, so the simulated Auth0 (here)
  // and the runner do not share one event loop.
  const worker = await spawnWorker(config, redisUrl, reportsDir, prefix, slots);
  const started = performance.now();
  try {
    const { runId } = await startRun(rt, { kind: 'sweep' });
    const final = await followRun(rt, runId, {
      intervalMs: 250,
      onProgress: (p) => {
        staged = Math.max(staged, p.batches.staged - p.batches.done - p.batches.failed);
      },
    });
    const wall = performance.now() - started;
    clearInterval(sampler);
    clearInterval(memorySampler);
    const summary = (await rt.store.getSummary(runId))!;
    const imported = summary.counts.imported;
    const sent = summary.auth0Jobs.reduce((n, j) => n + (j.summary?.total ?? 0), 0);
    const theoretical = (sent / (slots * rate)) * 1000;
    const importPhase = (sample.lastActive ?? 0) - (sample.firstActive ?? 0);
    const busyShare = importPhase > 0 ? sample.busyMs / importPhase : 0;
    const peak = Math.max(peakUsed, await usedMemory());
    let exportMs = 0;
    for (const j of sim.tenant('old').jobs.values()) {
      if (j.type === 'users_export' && j.endedAtMs !== undefined) {
        exportMs = Math.max(exportMs, j.endedAtMs - j.createdAtMs);
      }
    }
    let processingMs = 0;
    for (const j of newTenant.jobs.values()) {
      if (j.type === 'users_import' && j.endedAtMs !== undefined && j.startedAtMs !== undefined) {
        processingMs += j.endedAtMs - j.startedAtMs;
      }
    }
    const importMinMs = processingMs / slots;
    const ratio = wall / (exportMs + importMinMs);
    const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    process.stdout.write(
      [
        `e2e sweep: ${users.toLocaleString('en-US')} users in the old tenant, ${slots} import slots, ${rate} users/s per Auth0 job, ${variance === false ? 'constant job timing' : `job timing variance seed ${variance}`} (${final?.run.status})`,
        `  outcome: imported ${imported.toLocaleString('en-US')}, already migrated ${summary.counts.already_migrated}, skipped ${summary.counts.skipped}, failed ${summary.counts.failed}; ${summary.auth0Jobs.length} Auth0 jobs, at most ${sample.maxActive} at once${summary.problems ? `; PROBLEMS: ${summary.problems.join('; ')}` : ''}`,
        `  theoretical minimum, users sent / (slots × rate): ${s(theoretical)}`,
        `  import phase ${s(importPhase)}: ratio ${(importPhase / theoretical).toFixed(3)}; whole run (export, snapshot, plan, import, report) ${s(wall)}: ratio ${(wall / theoretical).toFixed(3)} (target ≤ 1.15)`,
        `  share of the import phase with all ${slots} slots busy: ${busyShare.toFixed(3)} (target ≥ 0.9); a freed slot waited ${gapText(sample.gaps)} for the next batch`,
        `  Redis used memory (INFO memory, sampled every 250 ms): peak ${mb(peak)}, ${mb(peak - baseline)} above the ${mb(baseline)} before the run${privateRedis === undefined ? ' (shared server)' : ''}; batches staged and not ended at most ${staged}`,
        `  phases: ${Object.entries(summary.timings.phases)
          .map(([k, v]) => `${k} ${s(v)}`)
          .join(', ')}`,
        '',
      ].join('\n'),
    );
    return { peak, baseline, busyShare, exportMs, importMinMs, ratio };
  } finally {
    clearInterval(sampler);
    clearInterval(memorySampler);
    worker.kill('SIGTERM');
    await new Promise((resolve) => (worker.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
    await rt.close();
    await sim.close();
    if (privateRedis === undefined) await deleteKeysUnder(probe, prefix);
    await probe.quit();
    await privateRedis?.stop();
    await rm(reportsDir, { recursive: true, force: true });
  }
}
