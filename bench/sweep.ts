/**
 * `npm run bench -- sweep [--users N[,N…]] [--no-relations] [--snapshot-at MB] [--env NAME=VALUE…]`:
 * the whole product on a whole sweep. For each size (default 100,000 and 1,000,000 users in the old
 * tenant) it starts a private `redis-server` and the simulator with fast job timing (no rate
 * limits, jobs end at once), both in this process, then runs `auth0-migrate sweep` in a process of
 * its own: export, snapshot, plan, every import batch, relations (unless `--no-relations`) and the
 * report, with its workers in that one process, as a single machine runs it. Prints that process's
 * peak RSS (the kernel's high-water mark; target ≤ 250 MB at 1,000,000 users) and Redis's peak
 * memory (`used_memory_peak` of the private server, which holds nothing else), which must not grow
 * with the number of users. `--snapshot-at MB` writes a heap snapshot of the sweep's process the
 * first time its V8 heap holds more than MB in use; `--env` sets more of its environment (e.g.
 * `IMPORT_CONCURRENCY=4`).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig, tenantEnvironment, toTenantConfig, withTenants } from '../src/config.js';
import { redisServerInstalled, startPrivateRedis } from '../src/jobs/redis-server.js';
import type { RunSummary } from '../src/report/types.js';
import { startSimulator } from '../src/sim/index.js';
import { mb, thousands } from './lib/measure.js';

const TARGET_RSS = 250 * 1024 * 1024;

interface SweepFigures {
  users: number;
  exitCode: number | null;
  wallMs: number;
  maxRss: number;
  /** V8's heap and the memory outside it at the highest RSS sample. */
  atPeak: {
    rss: number;
    heapTotal: number;
    heapUsed: number;
    external: number;
    arrayBuffers: number;
    at: number;
  };
  redisPeak: number;
  redisIdle: number;
  summary: RunSummary | undefined;
  load: string;
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

/** The sweep command, built beside this file (npm run bench), or the sources through tsx. */
function sweepCommand(extra: string[]): { args: string[]; probe: string[] } {
  const built = !import.meta.url.endsWith('.ts');
  const cli = new URL(built ? '../src/cli.js' : '../src/cli.ts', import.meta.url).pathname;
  const probe = new URL(built ? './lib/rss-probe.js' : './lib/rss-probe.ts', import.meta.url).href;
  return built
    ? { probe: ['--import', probe], args: [cli, 'sweep', ...extra] }
    : { probe: ['--import', 'tsx', '--import', probe], args: [cli, 'sweep', ...extra] };
}

async function sweepOnce(
  users: number,
  snapshotAtMb: number | undefined,
  extraEnv: Record<string, string>,
  sweepArgs: string[],
): Promise<SweepFigures> {
  const redis = await startPrivateRedis();
  const work = await mkdtemp(join(tmpdir(), 'bench-sweep-'));
  const reportsDir = join(work, 'reports');
  const rssFile = join(work, 'rss.json');
  process.stderr.write(`seeding the simulator with ${thousands(users)} users…\n`);
  const sim = await startSimulator({ seedOld: users, timing: 'fast', rateLimit: false });
  const probe = new Redis(redis.url);
  try {
    const info = async (field: string): Promise<number> =>
      Number(new RegExp(`${field}:(\\d+)`).exec(await probe.info('memory'))?.[1] ?? 0);
    await probe.config('RESETSTAT');
    const redisIdle = await info('used_memory');
    const config = withTenants(loadConfig({ env: {}, dotenvPath: false }), {
      old: toTenantConfig(sim.tenants.old),
      new: toTenantConfig(sim.tenants.new),
    });
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...tenantEnvironment(config),
      REDIS_URL: redis.url,
      QUEUE_PREFIX: 'bench-sweep',
      REPORTS_DIR: reportsDir,
      // The simulated jobs end at once: a short first poll, as a fast tenant would allow.
      POLL_INTERVAL_MS: '100',
      PAYLOAD_KEY: 'ab'.repeat(32),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      BENCH_RSS_FILE: rssFile,
      ...(snapshotAtMb !== undefined && { BENCH_SNAPSHOT_MB: String(snapshotAtMb) }),
      ...extraEnv,
    };
    const { args, probe: preload } = sweepCommand(sweepArgs);
    process.stderr.write(`sweeping ${thousands(users)} users (load average ${load()})…\n`);
    const started = performance.now();
    const child = spawn(process.execPath, [...preload, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer): void => {
      tail = (tail + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const wallMs = performance.now() - started;
    if (!existsSync(rssFile))
      throw new Error(`the sweep process wrote no figures (exit ${exitCode}): ${tail}`);
    const probed = JSON.parse(readFileSync(rssFile, 'utf8')) as {
      maxRss: number;
      sampled: SweepFigures['atPeak'];
      snapshot?: string;
    };
    if (probed.snapshot !== undefined) {
      const kept = join(tmpdir(), `bench-sweep-${users}.heapsnapshot`);
      await copyFile(probed.snapshot, kept);
      process.stderr.write(`heap snapshot: ${kept}\n`);
    }
    const runs = existsSync(reportsDir) ? readdirSync(reportsDir) : [];
    const summaryFile = runs.map((r) => join(reportsDir, r, 'summary.json')).find((f) => existsSync(f));
    const summary =
      summaryFile === undefined ? undefined : (JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary);
    if (exitCode !== 0) process.stderr.write(`the sweep exited with ${exitCode}:\n${tail}\n`);
    return {
      users,
      exitCode,
      wallMs,
      maxRss: probed.maxRss,
      atPeak: probed.sampled,
      redisPeak: await info('used_memory_peak'),
      redisIdle,
      summary,
      load: load(),
    };
  } finally {
    await probe.quit();
    await sim.close();
    await redis.stop();
    await rm(work, { recursive: true, force: true });
  }
}

function describe(f: SweepFigures): string {
  const c = f.summary?.counts;
  const p = f.atPeak;
  const outcome =
    c === undefined
      ? 'no summary written'
      : `${thousands(c.total)} users = ${thousands(c.imported)} imported + ${thousands(c.already_migrated)} already migrated + ` +
        `${thousands(c.skipped)} skipped + ${thousands(c.failed)} failed` +
        (c.total === c.imported + c.already_migrated + c.skipped + c.failed
          ? ' (adds up)'
          : ' (DOES NOT ADD UP)');
  return [
    `sweep of ${thousands(f.users)} users: exit ${f.exitCode}, ${(f.wallMs / 1000).toFixed(1)} s; load average ${f.load}`,
    `  outcome: ${outcome}; ${f.summary?.auth0Jobs.length ?? 0} Auth0 import jobs`,
    `  phases: ${Object.entries(f.summary?.timings.phases ?? {})
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(', ')}`,
    `  peak RSS of the sweep's process ${mb(f.maxRss)}; at the highest sample (${(p.at / 1000).toFixed(0)} s in): ` +
      `V8 heap ${mb(p.heapTotal)} (${mb(p.heapUsed)} in use), outside it ${mb(p.external)} (Buffers ${mb(p.arrayBuffers)})`,
    `  Redis used_memory_peak ${mb1(f.redisPeak)} (${mb1(f.redisIdle)} idle before the run)`,
  ].join('\n');
}

const mb1 = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string', default: '100000,1000000' },
      'snapshot-at': { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      'no-relations': { type: 'boolean', default: false },
    },
  });
  const sizes = values.users.split(',').map((v) => Number(v.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('--users must be a whole number ≥ 1, or several separated by commas');
  if (!redisServerInstalled())
    throw new Error('The sweep bench needs redis-server on the PATH (a private one per size).');
  const snapshotAt = values['snapshot-at'] === undefined ? undefined : Number(values['snapshot-at']);
  process.stdout.write(
    `sweep bench: ${sizes.map(thousands).join(', ')} users; ${cpus().length} CPUs, load average ${load()}\n`,
  );
  const extraEnv = Object.fromEntries(
    values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  const results: SweepFigures[] = [];
  for (const users of sizes) {
    const f = await sweepOnce(users, snapshotAt, extraEnv, values['no-relations'] ? ['--no-relations'] : []);
    results.push(f);
    process.stdout.write(`${describe(f)}\n`);
  }
  process.stdout.write('\n');
  const rows: Array<[string, (f: SweepFigures) => string]> = [
    ['wall time', (f) => `${(f.wallMs / 1000).toFixed(1)} s`],
    ['peak RSS of the sweep', (f) => mb(f.maxRss)],
    ['Redis used_memory_peak', (f) => mb1(f.redisPeak)],
    ['load average (1/5/15 min)', (f) => f.load],
  ];
  const width = Math.max(...rows.map(([l]) => l.length));
  const col = (f: SweepFigures, i: number) =>
    Math.max(`${thousands(f.users)} users`.length, ...rows.map(([, g]) => g(results[i]!).length));
  process.stdout.write(
    `${''.padEnd(width)}  ${results.map((f, i) => `${thousands(f.users)} users`.padStart(col(f, i))).join('  ')}\n`,
  );
  for (const [label, g] of rows) {
    process.stdout.write(
      `${label.padEnd(width)}  ${results.map((f, i) => g(f).padStart(col(f, i))).join('  ')}\n`,
    );
  }
  if (results.some((f) => f.exitCode !== 0)) {
    process.stdout.write('a sweep did not finish: no targets checked\n');
    process.exitCode = 1;
    return;
  }
  const million = results.find((f) => f.users === 1_000_000);
  if (million !== undefined) {
    process.stdout.write(
      `peak RSS at 1,000,000 users ${mb(million.maxRss)} (target ≤ ${mb(TARGET_RSS)}: ${million.maxRss <= TARGET_RSS ? 'met' : 'NOT MET'})\n`,
    );
  }
  if (results.length > 1) {
    const first = results[0]!;
    const last = results.at(-1)!;
    process.stdout.write(
      `Redis peak from ${thousands(first.users)} to ${thousands(last.users)} users: ${mb1(first.redisPeak)} → ${mb1(last.redisPeak)} ` +
        `(target: flat; ${last.redisPeak <= first.redisPeak * 1.25 + 1024 * 1024 ? 'met' : 'NOT MET'})\n`,
    );
  }
}
