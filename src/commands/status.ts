import type { Config } from '../config.js';
import { ExitCode, MigrateError } from '../errors.js';
import { identityDiff, describeDiff, type IdentityDifference } from '../jobs/identity.js';
import { createRuntime } from '../jobs/runtime.js';
import type { WorkerRecord } from '../jobs/store/index.js';
import { progressSnapshot } from '../jobs/summary.js';
import { sum, type RunMeta } from '../jobs/types.js';
import { formatDuration, n } from '../report/format.js';
import { readRollbackSummary, rollbackNote, type RollbackSummary } from '../report/rollback.js';
import { formatSummary, type CommandHooks } from './run.js';

/** A worker process seen on this QUEUE_PREFIX, and whether it may work on the run. */
export interface WorkerSeen extends WorkerRecord {
  /** Seen within three heartbeats (and not stopped). */
  alive: boolean;
  /** Where its settings differ from the run's; empty when it may work on the run. */
  differences: IdentityDifference[];
}

/** `auth0-migrate status [RUN_ID] [--json]` */
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
      // Throws when the run's folder says it was started: Redis lost it.
      await rt.store.findRun(id);
      throw new MigrateError(
        `There is no run ${id}${config.queuePrefix !== 'auth0-migrate' ? ` under QUEUE_PREFIX ${config.queuePrefix}` : ''}.`,
        {
          hint: 'List runs with `auth0-migrate runs`.',
        },
      );
    }
    const now = Date.now();
    const workers: WorkerSeen[] = (await rt.store.workers.list(now)).map((w) => ({
      ...w,
      alive: w.stoppedAt === undefined && now - w.lastSeen <= 3 * rt.settings.heartbeatMs,
      differences: identityDiff(p.run, w.identity),
    }));
    const summary = await rt.store.getSummary(id);
    if (opts.json === true) {
      out.write(
        `${JSON.stringify({ run: p.run, progress: progressSnapshot(p), batches: p.batches, summary, workers }, null, 2)}\n`,
      );
    } else if (summary !== undefined) {
      const rollback = p.run.reportDir !== undefined ? await readRollbackSummary(p.run.reportDir) : undefined;
      const rolledBack = rollback !== undefined || p.run.rollbackStartedAt !== undefined;
      out.write(
        formatSummary(
          summary,
          p.run.reportDir,
          rolledBack ? { nextSteps: rolledBackSteps(p.run, rollback) } : {},
        ),
      );
      if (rollback !== undefined) out.write(`${rollbackNote(rollback)}\n`);
    } else {
      const s = progressSnapshot(p);
      out.write(
        [
          `${p.run.kind} ${id}: ${p.run.status}, phase ${p.run.phase}${p.run.dryRun ? ' (dry run)' : ''}`,
          `  read ${n(s.usersRead)}${s.total !== undefined ? ` of ${n(s.total)}` : ''} users; batches ${n(p.batches.staged)} staged, ${n(p.batches.running)} running, ${n(p.batches.done)} done, ${n(p.batches.failed)} failed`,
          `  imported ${n(s.counts.imported)}, already migrated ${n(s.counts.already_migrated)}, skipped ${n(s.counts.skipped)}, failed ${n(s.counts.failed)}`,
          `  started ${new Date(p.run.createdAt).toISOString()}, ${formatDuration(now - p.run.createdAt)} ago`,
          ...(p.run.error !== undefined ? [`  error: ${p.run.error}`] : []),
          ...(p.run.status === 'stopped'
            ? [
                `  stopped ${p.run.stoppedAt !== undefined ? `${formatDuration(now - p.run.stoppedAt)} ago` : ''}; resume it with \`auth0-migrate ${p.run.kind}${p.run.kind === 'import' ? ' FILE' : ''} --run-id ${id}\``,
              ]
            : []),
          ...workerLines(p.run, workers, now),
          '',
        ].join('\n'),
      );
    }
    if (p.run.status === 'failed' || p.run.status === 'stopped') return ExitCode.failure;
    return sum(p.counts.failed) > 0 ? ExitCode.usersFailed : ExitCode.ok;
  } finally {
    await rt.close();
  }
}

/**
 * What follows a rolled-back run: it was undone, so resetting its users' passwords or retrying its
 * failed users would only work against the rollback; a run not completed may still hold user data.
 */
function rolledBackSteps(run: RunMeta, rollback: RollbackSummary | undefined): string[] {
  const id = run.runId;
  const complete = run.rolledBackAt !== undefined || rollback?.complete === true;
  const steps = [
    complete
      ? `Run ${id} was rolled back: what it added is removed, so no retries or password resets follow from it; start a new run to migrate its users again.`
      : `Run ${id} was rolled back in part: no retries or password resets follow from it${rollback === undefined ? `; \`auth0-migrate rollback ${id} --send\` carries on` : ''}.`,
  ];
  if (run.discardedAt === undefined && (run.status === 'failed' || run.status === 'stopped')) {
    steps.push(
      `Its user data in Redis and its work files remain: \`auth0-migrate discard ${id}\` deletes them.`,
    );
  }
  return steps;
}

function workerLines(run: RunMeta, workers: WorkerSeen[], now: number): string[] {
  if (run.status !== 'running' && run.status !== 'stopped') return [];
  const lines = [`  workers seen: ${workers.length === 0 ? 'none' : ''}`];
  for (const w of workers) {
    const seen =
      w.stoppedAt !== undefined
        ? `stopped ${formatDuration(now - w.stoppedAt)} ago`
        : `seen ${formatDuration(now - w.lastSeen)} ago`;
    const fit =
      w.differences.length === 0
        ? 'configured for this run'
        : `MISMATCH: ${describeDiff(w.differences, 'on this worker')}`;
    lines.push(`    ${w.id} (${seen}): ${fit}`);
  }
  if (run.status === 'running' && !workers.some((w) => w.alive && w.differences.length === 0)) {
    lines.push(
      '  no worker configured for this run is running: start one with the settings the run was started with',
    );
  }
  return lines;
}
