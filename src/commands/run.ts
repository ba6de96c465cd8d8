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
import { acquireRelationsLock, releaseRelationsLock } from '../jobs/relations-lock.js';
import { createRuntime, redactUrl, type RunnerSettings, type Runtime } from '../jobs/runtime.js';
import { progressSnapshot } from '../jobs/summary.js';
import { sum, type RunProgress } from '../jobs/types.js';
import { relationKinds } from '../relations/registry.js';

/** How long marking a run stopped may take before the command gives up on it (Redis hung). */
const STOP_WRITE_MS = 3_000;

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
  /** false (`sweep --no-relations`): no relations stage. */
  relations?: boolean;
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
    if (spec.kind === 'relations') {
      const lock = await acquireRelationsLock(rt, runId);
      if (!lock.ok) {
        throw new MigrateError(`Relations run ${lock.holder} is active; relations runs do not overlap.`, {
          hint: `Follow it with \`auth0-migrate status ${lock.holder}\`, and start this one when it has ended.`,
        });
      }
    }
    const started = await startRun(rt, { ...spec, runId }).catch(async (err: unknown) => {
      // A relations run that could not start (or resume) keeps nobody else waiting.
      const run = spec.kind === 'relations' ? await rt.store.getRun(runId) : undefined;
      if (spec.kind === 'relations' && (run?.kind !== 'relations' || run.status !== 'running'))
        await releaseRelationsLock(rt, runId);
      throw err;
    });
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
    const resume = `auth0-migrate ${spec.kind}${spec.kind === 'import' ? ' FILE' : ''} --run-id ${runId}`;
    let last: RunProgress | undefined;
    let final: RunProgress | undefined;
    try {
      final = await followRun(rt, runId, {
        signal: stop.signal,
        onProgress: (p) => {
          last = p;
          progress.update(progressSnapshot(p));
        },
        resumeHint: `When Redis is back, resume it with \`${resume}\` (workers elsewhere carry on by themselves).`,
      });
    } catch (err) {
      progress.stop();
      throw err;
    }
    if (final === undefined) {
      progress.stop(last === undefined ? undefined : { ...progressSnapshot(last), phase: 'stopped' });
      const marked = await markStopped(rt, runId);
      throw new MigrateError(
        marked
          ? `Stopped: run ${runId} is stopped, not finished.`
          : `Stopped while Redis did not answer: run ${runId} is not finished.`,
        {
          code: 'stopped',
          hint: `Resume it with \`${resume}\`: batches already sent to Auth0 are not sent again.`,
        },
      );
    }
    progress.stop(progressSnapshot(final));
    return await finish(rt, final, out);
  } finally {
    if (workers !== undefined) await workers.close({ now: rt.health.down });
    external?.removeEventListener('abort', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rt.close();
  }
}

/**
 * Marks the run stopped, so no worker (here or elsewhere) starts more of its work until it is
 * resumed. False when Redis does not answer in time, or the run is no longer running.
 */
async function markStopped(rt: Runtime, runId: string): Promise<boolean> {
  if (rt.health.down) return false;
  const r = await within(rt.store.stopRun(runId), STOP_WRITE_MS);
  return r.kind === 'value' && r.value;
}

export interface FollowRunOptions {
  /** Stops following at once (the CLI wires SIGINT/SIGTERM here). */
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** @defaultValue 500 */
  intervalMs?: number;
  /** How long Redis may go without answering before following gives up. @defaultValue `config.redisWaitMs` */
  giveUpAfterMs?: number;
  /** What the error says to do when Redis does not answer. */
  resumeHint?: string;
}

/**
 * Waits for the run's report (or for the report to fail), feeding progress; undefined when the
 * signal stopped the wait first, which it does at once even while Redis does not answer. Throws
 * {@link RunStateLost} when Redis lost the run, and gives up when Redis has not answered for
 * `giveUpAfterMs`.
 */
export async function followRun(
  rt: Runtime,
  runId: string,
  options: FollowRunOptions = {},
): Promise<RunProgress | undefined> {
  const interval = options.intervalMs ?? 500;
  const giveUpAfter = options.giveUpAfterMs ?? rt.config.redisWaitMs;
  let answeredAt = Date.now();
  for (;;) {
    const read = await within(
      rt.store.progress(runId),
      answeredAt + giveUpAfter - Date.now(),
      options.signal,
    );
    if (read.kind === 'aborted') return undefined;
    if (read.kind === 'timeout') {
      throw new MigrateError(
        `Redis at ${redactUrl(rt.config.redisUrl)} has not answered for ${formatDuration(Date.now() - answeredAt)}: stopped following run ${runId}.`,
        {
          code: 'redis_unreachable',
          hint: `${options.resumeHint ?? `When Redis is back, follow it with \`auth0-migrate status ${runId}\`.`} If Redis restarted without its data, start a new run: users already imported are found in the new tenant. REDIS_WAIT_MS sets how long to wait.`,
        },
      );
    }
    answeredAt = Date.now();
    const p = read.value;
    if (p === undefined) {
      await rt.store.findRun(runId);
      throw new MigrateError(`There is no run ${runId}.`, { hint: 'List runs with `auth0-migrate runs`.' });
    }
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

type Within<T> = { kind: 'value'; value: T } | { kind: 'timeout' } | { kind: 'aborted' };

/**
 * `work`'s value, unless `ms` pass or `signal` aborts first. A Redis read does not fail while
 * Redis is away (it waits in ioredis's queue), so this is how a command stops waiting for it.
 */
export async function within<T>(work: Promise<T>, ms: number, signal?: AbortSignal): Promise<Within<T>> {
  // The read left behind settles when Redis answers or the connection closes; nobody awaits it.
  work.catch(() => undefined);
  if (signal?.aborted) return { kind: 'aborted' };
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work.then((value): Within<T> => ({ kind: 'value', value })),
      new Promise<Within<T>>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), Math.max(0, ms));
        onAbort = () => resolve({ kind: 'aborted' });
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
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
  const relationsFailed = Object.values(summary?.relations?.counts ?? {}).some((c) => c.failed > 0);
  return sum(p.counts.failed) > 0 || relationsFailed ? ExitCode.usersFailed : ExitCode.ok;
}

/**
 * The summary as a few lines for the terminal (summary.md has the whole of it), ending with the
 * next steps (retry the failed users, password resets), or with `nextSteps` when given (a
 * rolled-back run offers neither).
 */
export function formatSummary(
  s: RunSummary,
  dir: string | undefined,
  options: { nextSteps?: string[] } = {},
): string {
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
  const users = [
    `  users             ${n(c.total)}`,
    `  ${s.dryRun ? 'would import     ' : 'imported         '} ${n(c.imported)}${s.dryRun ? '' : ` (inserted ${n(s.imported.inserted)}, updated ${n(s.imported.updated)})`}`,
    `  already migrated  ${n(c.already_migrated)}${split(s.already_migrated)}`,
    `  skipped           ${n(c.skipped)}${split(s.skipped)}`,
    `  failed            ${n(c.failed)}${split(s.failed)}`,
    `  batches           ${n(s.batches.total)} (${n(s.batches.failed)} failed), Auth0 jobs ${n(s.auth0Jobs.length)}`,
  ];
  const lines = [
    '',
    `${s.kind} ${s.runId}${s.dryRun ? ' (dry run: nothing was sent)' : ''}: ${s.status} in ${took}`,
    // A relations run imports nobody: its lines are the relations'.
    ...(s.kind === 'relations' ? [] : users),
  ];
  if (s.passwordResets > 0) {
    lines.push(
      `  password resets   ${count(s.passwordResets, 'user')}${s.dryRun ? ' would be' : s.passwordResets === 1 ? ' was' : ' were'} imported without a password hash`,
    );
  }
  if ((s.mfaReenrolments ?? 0) > 0) {
    lines.push(
      `  MFA re-enrolment  ${count(s.mfaReenrolments!, 'user')} enrolled in the old tenant ${s.dryRun ? 'would arrive' : 'arrived'} without their factors (mfa-reenrolment.ndjson): require a verified re-enrolment for them`,
    );
  }
  if (s.relations !== undefined) {
    // In the families' order (registry.ts), each kind's figures in one column.
    const order = relationKinds();
    const rank = (kind: string): number => (order.includes(kind) ? order.indexOf(kind) : order.length);
    const kinds = Object.entries(s.relations.counts).sort(([a], [b]) => rank(a) - rank(b));
    const width = Math.max(18, ...kinds.map(([kind]) => kind.length + 2));
    for (const [kind, k] of kinds) {
      lines.push(
        `  ${kind.padEnd(width)}${n(k.total)}: ${s.dryRun ? 'would add' : 'added'} ${n(k.added)}, already present ${n(k.already_present)}, pending user ${n(k.pending_user)}, failed ${n(k.failed)}${split(k.failures)}`,
      );
    }
    const missing = s.relations.findings.byType.missing_api ?? 0;
    if (missing > 0)
      lines.push(`  missing APIs      ${n(missing)} (see the Relations section of summary.md)`);
    const connections = s.relations.findings.byType.missing_connection ?? 0;
    if (connections > 0)
      lines.push(`  missing connections ${n(connections)} (see the Relations section of summary.md)`);
  }
  if (s.problems !== undefined) lines.push(`  PROBLEMS: ${s.problems.join('; ')}`);
  if (dir !== undefined)
    lines.push(
      `Report: ${dir}/summary.md (and summary.html, and every user by outcome: imported, already-migrated, skipped, failures, retry files)`,
    );
  if (options.nextSteps !== undefined) {
    lines.push(...options.nextSteps);
    return `${lines.join('\n')}\n`;
  }
  if (c.failed > 0 && dir !== undefined)
    lines.push(`Retry the failed users with \`auth0-migrate import ${dir}/retry.ndjson\`.`);
  if (s.passwordResets > 0 && !s.dryRun)
    lines.push(
      `Send them password-change tickets with \`auth0-migrate resets ${s.runId}\`, or have Auth0 email them with \`--email\`.`,
    );
  return `${lines.join('\n')}\n`;
}
