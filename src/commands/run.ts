/**
 * What the run commands share: `sweep` and `import` enqueue a run through {@link runCommand} and
 * follow it to its report; `status` and `discard` read runs. Each command builds the runtime once,
 * does its work, closes every connection and returns the exit code (errors.ts).
 */
import type { Config } from '../config.js';
import { ExitCode, MigrateError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { count, formatDuration, n } from '../report/format.js';
import { createProgress, type ProgressStream } from '../report/progress.js';
import type { RunSummary } from '../report/types.js';
import { startWorkers } from '../workers/index.js';
import { acquireSweepLock, newRunId, startRun, type RunSpec } from '../jobs/flow.js';
import { warnIfPayloadsUnencrypted } from '../jobs/payload.js';
import { createRuntime, type RunnerSettings, type Runtime } from '../jobs/runtime.js';
import { progressSnapshot } from '../jobs/summary.js';
import { sum, type RunProgress } from '../jobs/types.js';

/** Where a command writes; process.stdout unless a test gives its own. */
export interface CommandOutput {
  write(text: string): unknown;
}

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
  out?: CommandOutput;
  /** Stops following the run (the CLI wires SIGINT/SIGTERM here). */
  signal?: AbortSignal;
  /** Called with the run id once the run is enqueued. */
  onRun?: (runId: string) => void;
  /** `worker`: called once the workers run. */
  onReady?: () => void;
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
async function finish(rt: Runtime, p: RunProgress, out: CommandOutput): Promise<number> {
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
    lines.push(
      `Report: ${dir}/summary.md (and summary.html, and every user by outcome: imported, already-migrated, skipped, failures, retry files)`,
    );
  if (c.failed > 0 && dir !== undefined)
    lines.push(`Retry the failed users with \`auth0-migrate import ${dir}/retry.ndjson\`.`);
  if (s.passwordResets > 0 && !s.dryRun)
    lines.push(
      `Send them password-change tickets with \`auth0-migrate resets ${s.runId}\`, or have Auth0 email them with \`--email\`.`,
    );
  return `${lines.join('\n')}\n`;
}
