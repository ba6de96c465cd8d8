/**
 * `sweep`, `import` (through {@link runCommand}), `worker` and `status`: each builds the runtime
 * once, does its work, closes every connection and returns the exit code (errors.ts).
 */
import { requireTenant, type Config } from '../config.js';
import { ConfigError, ExitCode, MigrateError, coerceError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { count, formatDuration, n } from '../report/format.js';
import { startMetricsServer, type MetricsServer } from '../report/metrics.js';
import { createProgress, type ProgressStream } from '../report/progress.js';
import type { RunSummary } from '../report/types.js';
import { startWorkers } from '../workers/index.js';
import { acquireSweepLock, newRunId, startRun, type RunSpec } from './flow.js';
import { warnIfPayloadsUnencrypted } from './payload.js';
import { removeWorkDir } from './report.js';
import { QUEUES, type QueueName } from './queues.js';
import { createRuntime, type RunnerSettings, type Runtime } from './runtime.js';
import { progressSnapshot } from './summary.js';
import { sum, type RunProgress } from './types.js';

export interface RunCommandOptions {
  dryRun?: boolean;
  upsert?: boolean;
  runId?: string;
  /** false (`--no-workers`): only enqueue the run. @defaultValue true */
  workers?: boolean;
}

/** What tests, the demo and the bench change; the CLI uses the defaults. */
export interface CommandHooks {
  settings?: Partial<RunnerSettings>;
  logger?: Logger;
  /** Where progress and the summary go. @defaultValue process.stderr / process.stdout */
  progressStream?: ProgressStream;
  out?: { write(text: string): unknown };
  /** Stops following the run (the CLI wires SIGINT/SIGTERM here). */
  signal?: AbortSignal;
  /** Called with the run id once the run is enqueued. */
  onRun?: (runId: string) => void;
  /** `worker`: called once the workers run. */
  onReady?: () => void;
}

/** `auth0-migrate sweep [--dry-run] [--upsert] [--run-id ID] [--no-workers]` */
export async function sweepCommand(
  config: Config,
  opts: RunCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  requireTenant(config, 'old');
  requireTenant(config, 'new');
  return runCommand(config, { kind: 'sweep', ...pickRun(opts) }, opts, hooks);
}

export function pickRun(opts: RunCommandOptions): Pick<RunSpec, 'dryRun' | 'upsert' | 'runId'> {
  return {
    ...(opts.dryRun === true && { dryRun: true }),
    ...(opts.upsert === true && { upsert: true }),
    ...(opts.runId !== undefined && { runId: opts.runId }),
  };
}

/**
 * Enqueues (or resumes) a run and, unless `workers` is false, runs every worker in this process
 * until the run's report is written, showing progress; ends with the summary and the exit code.
 */
export async function runCommand(
  config: Config,
  spec: RunSpec,
  opts: RunCommandOptions,
  hooks: CommandHooks = {},
): Promise<number> {
  const out = hooks.out ?? process.stdout;
  const logger = hooks.logger ?? createLogger(config, { command: spec.kind });
  const rt = await createRuntime(config, { logger, ...(hooks.settings && { settings: hooks.settings }) });
  warnIfPayloadsUnencrypted(config, logger);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  const external = hooks.signal;
  external?.addEventListener('abort', onSignal, { once: true });
  if (external === undefined) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
  try {
    const runId = spec.runId ?? newRunId(spec.kind);
    if (spec.kind === 'sweep') {
      const lock = await acquireSweepLock(rt, runId);
      if (!lock.ok) {
        throw new MigrateError(`Sweep ${lock.holder} is still running; sweeps do not overlap.`, {
          hint: `Follow it with \`auth0-migrate status ${lock.holder}\`.`,
        });
      }
    }
    const started = await startRun(rt, { ...spec, runId });
    hooks.onRun?.(runId);
    if (started.resumed) out.write(`Resuming run ${runId}.\n`);
    if (opts.workers === false) {
      out.write(
        `Run ${runId} is queued; the workers (\`auth0-migrate worker\`) process it.\nFollow it with \`auth0-migrate status ${runId}\`.\n`,
      );
      return ExitCode.ok;
    }
    workers = await startWorkers(rt);
    const progress = createProgress({
      ...(hooks.progressStream && { stream: hooks.progressStream }),
      logFormat: config.logFormat,
    });
    const final = await followRun(rt, runId, {
      signal: stop.signal,
      onProgress: (p) => progress.update(progressSnapshot(p)),
    });
    if (final === undefined) {
      progress.stop();
      throw new MigrateError(`Stopped; run ${runId} is not finished.`, {
        hint: `Resume it with \`auth0-migrate ${spec.kind}${spec.kind === 'import' ? ' FILE' : ''} --run-id ${runId}\`, or let \`auth0-migrate worker\` finish it.`,
      });
    }
    progress.stop(progressSnapshot(final));
    return await finish(rt, final, out);
  } finally {
    if (workers !== undefined) await workers.close();
    external?.removeEventListener('abort', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rt.close();
  }
}

/**
 * Waits for the run's report (or for the report to fail), feeding progress; undefined when the
 * signal stopped the wait first.
 */
export async function followRun(
  rt: Runtime,
  runId: string,
  options: { signal?: AbortSignal; onProgress?: (p: RunProgress) => void; intervalMs?: number } = {},
): Promise<RunProgress | undefined> {
  const interval = options.intervalMs ?? 500;
  for (;;) {
    const p = await rt.store.progress(runId);
    if (p === undefined) throw new MigrateError(`Run ${runId} has disappeared from Redis.`);
    options.onProgress?.(p);
    if (p.run.reportDir !== undefined || p.run.reportError !== undefined) return p;
    if (options.signal?.aborted) return undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, interval);
      options.signal?.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}

/** Prints the end of a run and answers its exit code. */
async function finish(rt: Runtime, p: RunProgress, out: { write(text: string): unknown }): Promise<number> {
  const summary = await rt.store.getSummary(p.run.runId);
  if (summary !== undefined) out.write(formatSummary(summary, p.run.reportDir));
  if (p.run.reportError !== undefined) {
    throw new MigrateError(`Run ${p.run.runId}: the report could not be written (${p.run.reportError}).`, {
      hint: 'Fix the cause (REPORTS_DIR writable?) and resume the run with --run-id.',
    });
  }
  if (p.run.status === 'failed') {
    throw new MigrateError(`Run ${p.run.runId} could not finish: ${p.run.error ?? 'unknown error'}`, {
      hint: `Fix the cause, then resume it with --run-id ${p.run.runId}; users already imported are not sent again.`,
    });
  }
  return sum(p.counts.failed) > 0 ? ExitCode.usersFailed : ExitCode.ok;
}

/** The summary as a few lines for the terminal (summary.md has the whole of it). */
export function formatSummary(s: RunSummary, dir: string | undefined): string {
  const c = s.counts;
  const took =
    s.timings.finishedAt !== undefined
      ? formatDuration(Date.parse(s.timings.finishedAt) - Date.parse(s.timings.startedAt))
      : '–';
  const split = (r: Record<string, number>): string =>
    Object.keys(r).length === 0
      ? ''
      : ` (${Object.entries(r)
          .map(([k, v]) => `${k} ${n(v)}`)
          .join(', ')})`;
  const lines = [
    '',
    `${s.kind} ${s.runId}${s.dryRun ? ' (dry run: nothing was sent)' : ''}: ${s.status} in ${took}`,
    `  users             ${n(c.total)}`,
    `  ${s.dryRun ? 'would import     ' : 'imported         '} ${n(c.imported)}${s.dryRun ? '' : ` (inserted ${n(s.imported.inserted)}, updated ${n(s.imported.updated)})`}`,
    `  already migrated  ${n(c.already_migrated)}${split(s.already_migrated)}`,
    `  skipped           ${n(c.skipped)}${split(s.skipped)}`,
    `  failed            ${n(c.failed)}${split(s.failed)}`,
    `  batches           ${n(s.batches.total)} (${n(s.batches.failed)} failed), Auth0 jobs ${n(s.auth0Jobs.length)}`,
  ];
  if (s.passwordResets > 0) {
    lines.push(
      `  password resets   ${count(s.passwordResets, 'user')}${s.dryRun ? ' would be' : s.passwordResets === 1 ? ' was' : ' were'} imported without a password hash`,
    );
  }
  if (s.problems !== undefined) lines.push(`  PROBLEMS: ${s.problems.join('; ')}`);
  if (dir !== undefined)
    lines.push(`Report: ${dir}/summary.md (and summary.html, failures, retry, password-reset files)`);
  if (c.failed > 0 && dir !== undefined)
    lines.push(`Retry the failed users with \`auth0-migrate import ${dir}/retry.ndjson\`.`);
  if (s.passwordResets > 0 && !s.dryRun)
    lines.push(
      `Send them password-change tickets with \`auth0-migrate resets ${s.runId}\`, or have Auth0 email them with \`--email\`.`,
    );
  return `${lines.join('\n')}\n`;
}

/** `auth0-migrate worker`: the workers, the sweep schedule (SWEEP_CRON) and metrics (METRICS_PORT) until SIGTERM. */
export async function workerCommand(config: Config, hooks: CommandHooks = {}): Promise<number> {
  requireTenant(config, 'new');
  if (config.sweepCron !== undefined) requireTenant(config, 'old');
  const logger = hooks.logger ?? createLogger(config, { command: 'worker' });
  // Listen for the stop signal before anything starts: a container stopped while it is still
  // starting must close what it opened, not die on Node's default SIGTERM handling.
  const stopped = stopSignal(hooks.signal, logger);
  const rt = await createRuntime(config, { logger, ...(hooks.settings && { settings: hooks.settings }) });
  warnIfPayloadsUnencrypted(config, logger);
  let metrics: MetricsServer | undefined;
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
  let clean = true;
  try {
    await keepSchedule(rt);
    workers = await startWorkers(rt);
    if (config.metricsPort !== undefined) {
      metrics = await startMetricsServer({
        port: config.metricsPort,
        host: config.metricsHost,
        queues: (Object.values(QUEUES) as QueueName[]).map((q) => rt.queue(q)),
        counters: () => runningSnapshots(rt),
        logger,
      });
      logger.info({ url: metrics.url }, 'metrics served');
    }
    hooks.onReady?.();
    await stopped;
  } finally {
    if (workers !== undefined) clean = await workers.close();
    await metrics?.close().catch(() => {});
    await rt.close();
  }
  return clean ? ExitCode.ok : ExitCode.failure;
}

/** Resolves when the caller's signal aborts, or on SIGINT/SIGTERM when there is none. */
function stopSignal(signal: AbortSignal | undefined, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal !== undefined) {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const onSignal = (sig: NodeJS.Signals): void => {
      logger.info({ signal: sig }, 'stopping: active jobs finish or are handed back');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Keeps the `sweep` job scheduler in step with SWEEP_CRON (removed when it is not set). */
export async function keepSchedule(rt: Runtime): Promise<void> {
  const queue = rt.queue(QUEUES.sweep);
  const cron = rt.config.sweepCron;
  if (cron === undefined) {
    await queue.removeJobScheduler('sweep');
    return;
  }
  try {
    await queue.upsertJobScheduler(
      'sweep',
      { pattern: cron, tz: rt.config.sweepTimezone },
      { name: 'sweep', data: {} },
    );
  } catch (err) {
    throw new ConfigError(
      `SWEEP_CRON "${cron}" (time zone ${rt.config.sweepTimezone}) is not a schedule BullMQ accepts: ${coerceError(err).message}`,
      {
        hint: 'Use a cron expression such as "0 3 * * *" (every day at 03:00) and an IANA time zone in SWEEP_TZ.',
      },
    );
  }
  rt.logger.info({ cron, tz: rt.config.sweepTimezone }, 'sweep scheduled');
}

async function runningSnapshots(rt: Runtime) {
  const snapshots = [];
  for (const id of await rt.store.listRunIds(20)) {
    const p = await rt.store.progress(id);
    if (p !== undefined && p.run.status === 'running') snapshots.push(progressSnapshot(p));
  }
  return snapshots;
}

/** `auth0-migrate status [RUN_ID] [--json]` */
/**
 * `discard RUN_ID`: gives up a failed run. Its per-user data in Redis (staged payloads, results,
 * skipped lines) and its work files (the export and snapshot it read) are deleted; its report
 * stays, and so do its counts and batch records. The run can no longer be resumed.
 */
export async function discardCommand(
  config: Config,
  runId: string,
  hooks: CommandHooks = {},
): Promise<number> {
  const out = hooks.out ?? process.stdout;
  const rt = await createRuntime(config, { ...(hooks.logger && { logger: hooks.logger }) });
  try {
    const run = await rt.store.getRun(runId);
    if (run === undefined) {
      throw new MigrateError(`There is no run ${runId}.`, { hint: 'List runs with `auth0-migrate runs`.' });
    }
    if (run.discardedAt !== undefined) {
      out.write(`Run ${runId} was discarded already (${new Date(run.discardedAt).toISOString()}).\n`);
      return ExitCode.ok;
    }
    if (run.status === 'completed') {
      out.write(
        `Run ${runId} completed: it keeps no user data to discard (its report stays in ${run.reportDir ?? config.reportsDir}).\n`,
      );
      return ExitCode.ok;
    }
    if (run.status !== 'failed') {
      throw new MigrateError(
        `Run ${runId} is still running (phase ${run.phase}): only a failed run can be discarded.`,
        {
          hint: `Let it finish, or stop its workers; a run whose workers are gone fails when they come back, or resume it with --run-id ${runId}.`,
        },
      );
    }
    await rt.store.purgeUserData(runId);
    await removeWorkDir(rt, runId);
    await rt.store.setRun(runId, { discardedAt: Date.now() });
    out.write(
      `Discarded run ${runId}: its user data in Redis and its work files are deleted; the report stays${run.reportDir !== undefined ? ` in ${run.reportDir}` : ''}.\n`,
    );
    return ExitCode.ok;
  } finally {
    await rt.close();
  }
}

export async function statusCommand(
  config: Config,
  runId: string | undefined,
  opts: { json?: boolean } = {},
  hooks: CommandHooks = {},
): Promise<number> {
  const out = hooks.out ?? process.stdout;
  const rt = await createRuntime(config, { ...(hooks.logger && { logger: hooks.logger }) });
  try {
    const id = runId ?? (await rt.store.listRunIds(1))[0];
    if (id === undefined) {
      out.write('No runs yet. Start one with `auth0-migrate sweep` or `auth0-migrate import FILE`.\n');
      return ExitCode.ok;
    }
    const p = await rt.store.progress(id);
    if (p === undefined) {
      throw new MigrateError(
        `There is no run ${id}${config.queuePrefix !== 'auth0-migrate' ? ` under QUEUE_PREFIX ${config.queuePrefix}` : ''}.`,
        {
          hint: 'List runs with `auth0-migrate runs`.',
        },
      );
    }
    const summary = await rt.store.getSummary(id);
    if (opts.json === true) {
      out.write(
        `${JSON.stringify({ run: p.run, progress: progressSnapshot(p), batches: p.batches, summary }, null, 2)}\n`,
      );
    } else if (summary !== undefined) {
      out.write(formatSummary(summary, p.run.reportDir));
    } else {
      const s = progressSnapshot(p);
      out.write(
        [
          `${p.run.kind} ${id}: ${p.run.status}, phase ${p.run.phase}${p.run.dryRun ? ' (dry run)' : ''}`,
          `  read ${n(s.usersRead)}${s.total !== undefined ? ` of ${n(s.total)}` : ''} users; batches ${n(p.batches.staged)} staged, ${n(p.batches.running)} running, ${n(p.batches.done)} done, ${n(p.batches.failed)} failed`,
          `  imported ${n(s.counts.imported)}, already migrated ${n(s.counts.already_migrated)}, skipped ${n(s.counts.skipped)}, failed ${n(s.counts.failed)}`,
          `  started ${new Date(p.run.createdAt).toISOString()}, ${formatDuration(Date.now() - p.run.createdAt)} ago`,
          ...(p.run.error !== undefined ? [`  error: ${p.run.error}`] : []),
          '',
        ].join('\n'),
      );
    }
    if (p.run.status === 'failed') return ExitCode.failure;
    return sum(p.counts.failed) > 0 ? ExitCode.usersFailed : ExitCode.ok;
  } finally {
    await rt.close();
  }
}
