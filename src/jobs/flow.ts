/**
 * The run's flow: which job comes after which. Every job has a deterministic id (`<runId>-export`,
 * `<runId>-snapshot`, `<runId>-plan`, `<runId>-<n>` per batch, `<runId>-report`), so adding one
 * twice is harmless, and each stage, when it ends, adds the next one if the run is ready for it:
 *
 *   export ─┐
 *           ├─▶ plan ─▶ import-batch × n ─▶ report
 *   snapshot┘
 *
 * (an `import` run has no export: its file is the input). Whoever ends last adds the next job,
 * so no stage waits on another and a crash between two steps is repaired by the redelivery.
 */
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { MigrateError } from '../errors.js';
import { describeDiff, identityDiff, runIdentity } from './identity.js';
import { QUEUES, type QueueName } from './queues.js';
import type { Runtime } from './runtime.js';
import { RunStateLost, isValidRunId } from './store/index.js';
import {
  relationsOf,
  type ImportBatchJobData,
  type RelationsRunOptions,
  type RunKind,
  type RunMeta,
  type StageJobData,
} from './types.js';

export const batchJobId = (runId: string, n: number): string => `${runId}-${n}`;
export const stageJobId = (
  runId: string,
  stage: 'export' | 'snapshot' | 'plan' | 'relations' | 'report',
): string => `${runId}-${stage}`;

/** `sweep-20250102-030000-1a2b`; `seed` makes the suffix deterministic (a scheduled job's id). */
export function newRunId(kind: RunKind, now = new Date(), seed?: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const suffix =
    seed === undefined
      ? randomBytes(2).toString('hex')
      : createHash('sha256').update(seed).digest('hex').slice(0, 4);
  return `${kind}-${stamp}-${suffix}`;
}

export interface RunSpec {
  kind: RunKind;
  runId?: string;
  dryRun?: boolean;
  upsert?: boolean;
  /** The export file of an `import` run. */
  file?: string;
  hashesFile?: string;
  /** MFA factors merged in (`--mfa`). */
  mfaFile?: string;
  /** `--mfa-reads`. */
  mfaReads?: boolean;
  /** The relations stage's options; absent: no relations stage (an import, `sweep --no-relations`). */
  relations?: RelationsRunOptions;
}

export interface StartedRun {
  runId: string;
  /** The run existed already and was resumed (or had finished). */
  resumed: boolean;
  run: RunMeta;
}

/**
 * Creates a run and adds its first jobs, or resumes the run when `spec.runId` names one. A run that
 * Redis lost is never created again under its id ({@link RunStateLost}); a run recorded with other
 * settings than this process's is not resumed with them.
 */
export async function startRun(rt: Runtime, spec: RunSpec): Promise<StartedRun> {
  const runId = spec.runId ?? newRunId(spec.kind);
  if (!isValidRunId(runId)) {
    throw new MigrateError(`"${runId}" cannot name a run: use up to 100 letters, digits, ".", "_" and "-".`);
  }
  let created: boolean;
  try {
    created = await rt.store.createRun({
      runId,
      kind: spec.kind,
      dryRun: spec.dryRun === true,
      upsert: spec.upsert === true,
      createdAt: Date.now(),
      ...(spec.file !== undefined && { file: resolve(spec.file) }),
      ...(spec.hashesFile !== undefined && { hashesFile: resolve(spec.hashesFile) }),
      ...(spec.mfaFile !== undefined && { mfaFile: resolve(spec.mfaFile) }),
      ...(spec.mfaReads === true && { mfaReads: true }),
      relations: spec.relations === undefined ? 'off' : JSON.stringify(spec.relations),
      ...runIdentity(rt.config, spec.kind),
    });
  } catch (err) {
    if (!(err instanceof RunStateLost)) throw err;
    const summary = await rt.store.files.readSummary(runId);
    if (summary?.status === 'completed') {
      throw new MigrateError(
        `Run ${runId} finished on ${summary.timings.finishedAt ?? '(unknown)'}; its report is in ${rt.store.files.dir(runId)}.`,
        {
          hint: 'Start a new run without --run-id (users it imported are found in the new tenant).',
        },
      );
    }
    throw err;
  }
  if (!created) {
    const existing = (await rt.store.getRun(runId))!;
    if (existing.kind !== spec.kind) {
      throw new MigrateError(
        `Run ${runId} is a${existing.kind === 'import' ? 'n' : ''} ${existing.kind} run, not a${spec.kind === 'import' ? 'n' : ''} ${spec.kind}.`,
        {
          hint: 'Choose another --run-id, or resume it with the command that started it.',
        },
      );
    }
    if (spec.file !== undefined && existing.file !== undefined && resolve(spec.file) !== existing.file) {
      throw new MigrateError(`Run ${runId} imports ${existing.file}, not ${resolve(spec.file)}.`, {
        hint: 'Resume it with the same file, or choose another --run-id.',
      });
    }
    const diff = identityDiff(existing, rt.identity);
    if (diff.length > 0 && existing.status !== 'completed') {
      throw new MigrateError(
        `Run ${runId} was started with other settings: ${describeDiff(diff, 'in this configuration')}.`,
        {
          hint: 'Resume it with the settings it was started with, or start a new run.',
        },
      );
    }
    await resumeRun(rt, runId);
    return { runId, resumed: true, run: (await rt.store.getRun(runId))! };
  }
  if (spec.kind === 'relations') {
    // No users to import: the relations stage is the whole run.
    await rt.store.setRun(runId, { planDone: 1 });
    await addStageJob(rt, QUEUES.relations, runId);
  } else {
    if (spec.kind === 'sweep') await addStageJob(rt, QUEUES.export, runId);
    await addStageJob(rt, QUEUES.snapshot, runId);
  }
  rt.logger.info({ runId, kind: spec.kind, dryRun: spec.dryRun === true }, 'run started');
  return { runId, resumed: false, run: (await rt.store.getRun(runId))! };
}

/**
 * Picks a run up where it stopped: stage jobs that failed are tried again, missing ones added,
 * batches staged and not ended get their job again. A finished run is left alone.
 */
export async function resumeRun(rt: Runtime, runId: string): Promise<void> {
  const run = await rt.store.findRun(runId);
  if (run === undefined)
    throw new MigrateError(`There is no run ${runId}.`, { hint: 'List runs with `auth0-migrate runs`.' });
  if (run.rollbackStartedAt !== undefined) {
    throw new MigrateError(
      `Run ${runId} was rolled back${run.rolledBackAt === undefined ? ' (in part)' : ''} on ${new Date(run.rolledBackAt ?? run.rollbackStartedAt).toISOString()}: it cannot be resumed.`,
      {
        hint: `Start a new run; \`auth0-migrate rollback ${runId}\` shows what the rollback did.`,
      },
    );
  }
  if (run.status === 'completed') return;
  if (run.discardedAt !== undefined) {
    throw new MigrateError(
      `Run ${runId} was discarded on ${new Date(run.discardedAt).toISOString()}: its user data and work files are gone, so it cannot be resumed.`,
      {
        hint: 'Start a new run (without --run-id, or with a new id); users already imported are found in the new tenant and skipped.',
      },
    );
  }
  if (run.status !== 'running' || run.reportError !== undefined) {
    await rt.store.reopenRun(runId);
    await rt.queue(QUEUES.report).remove(stageJobId(runId, 'report'));
  }
  const stages: Array<'export' | 'snapshot' | 'plan' | 'relations'> = [];
  if (run.kind === 'relations') {
    stages.push('relations');
  } else {
    if (run.kind === 'sweep' && run.phases.export?.end === undefined) stages.push('export');
    if (run.phases.snapshot?.end === undefined) stages.push('snapshot');
    if (stages.length === 0 && !run.planDone) stages.push('plan');
  }
  // Relations begun before the stop: its stage job queues again the calls not yet counted.
  if (run.kind !== 'relations' && run.phases.relations?.start !== undefined) stages.push('relations');
  for (const stage of stages) await addOrRetry(rt, stage, runId);
  const open = await rt.store.openBatches(runId);
  for (const n of open) await addOrRetryBatch(rt, runId, n);
  if (run.planDone) await maybeFinishRun(rt, runId);
  rt.logger.info({ runId, stages, batches: open.length }, 'run resumed');
}

/** A batch job that ended without ending its batch (a stopped run's) is added again. */
async function addOrRetryBatch(rt: Runtime, runId: string, n: number): Promise<void> {
  const job = await rt.queue(QUEUES.importBatch).getJob(batchJobId(runId, n));
  if (job !== undefined && (await job.isFailed())) {
    await job.retry('failed');
    return;
  }
  if (job !== undefined && (await job.isCompleted())) await job.remove();
  await addBatchJob(rt, runId, n);
}

async function addOrRetry(
  rt: Runtime,
  stage: 'export' | 'snapshot' | 'plan' | 'relations',
  runId: string,
): Promise<void> {
  const queue = rt.queue(stage);
  const job = await queue.getJob(stageJobId(runId, stage));
  if (job !== undefined && (await job.isFailed())) {
    await job.retry('failed');
    return;
  }
  if (job !== undefined && (await job.isCompleted())) await job.remove();
  await addStageJob(rt, stage, runId);
}

export async function addStageJob(rt: Runtime, queue: QueueName, runId: string): Promise<void> {
  const stage = queue as 'export' | 'snapshot' | 'plan' | 'relations' | 'report';
  const data: StageJobData = { runId };
  await rt.queue(queue).add(stage, data, { ...rt.jobOptions(queue), jobId: stageJobId(runId, stage) });
}

export async function addBatchJob(rt: Runtime, runId: string, n: number): Promise<void> {
  const data: ImportBatchJobData = { runId, batch: n };
  await rt
    .queue(QUEUES.importBatch)
    .add('import-batch', data, { ...rt.jobOptions(QUEUES.importBatch), jobId: batchJobId(runId, n) });
}

/** Adds the plan job once the export (sweep) and the snapshot are done. */
export async function maybeStartPlan(rt: Runtime, runId: string): Promise<void> {
  const run = await rt.store.getRun(runId);
  if (run === undefined || run.status !== 'running') return;
  const exported = run.kind === 'import' || run.phases.export?.end !== undefined;
  if (exported && run.phases.snapshot?.end !== undefined) await addStageJob(rt, QUEUES.plan, runId);
}

/**
 * Adds the report job once every staged batch has ended and the plan has read everything (or the
 * run failed: the report then says what was done before it stopped).
 */
export async function maybeFinishRun(rt: Runtime, runId: string): Promise<void> {
  const run = await rt.store.getRun(runId);
  if (run === undefined || run.reportDir !== undefined) return;
  if (!run.planDone && run.status !== 'failed') return;
  if ((await rt.store.endedCount(runId)) < run.planEmitted) return;
  if (run.planEmitted > 0) await rt.store.markTime(runId, 'import', 'end');
  // Users first, then their relations (the stage calls this again when it is done).
  if (
    run.status !== 'failed' &&
    relationsOf(run) !== undefined &&
    !(await rt.store.relations.state(runId)).done
  ) {
    await addStageJob(rt, QUEUES.relations, runId);
    return;
  }
  await addStageJob(rt, QUEUES.report, runId);
}

/** A stage gave up: the run cannot finish. The report still says what was done. */
export async function failRun(rt: Runtime, runId: string, message: string): Promise<void> {
  await rt.store.failRun(runId, message);
  rt.logger.error({ runId, err: message }, 'run failed');
  await maybeFinishRun(rt, runId);
}

/**
 * One sweep at a time: takes the sweep lock for `runId`, or answers the run that holds it. A lock
 * left by a run that has finished (or vanished) is taken over.
 */
export function acquireSweepLock(
  rt: Runtime,
  runId: string,
): Promise<{ ok: true } | { ok: false; holder: string }> {
  return rt.store.acquireSweepLock(runId);
}

export function releaseSweepLock(rt: Runtime, runId: string): Promise<void> {
  return rt.store.releaseSweepLock(runId);
}
