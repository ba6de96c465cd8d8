/**
 * The run's summary and progress snapshot, derived from the per-batch and per-chunk records
 * (store.ts), never from running counters.
 */
import type { ProgressSnapshot, RunSummary } from '../report/types.js';
import type { Auth0JobEntry } from './store/index.js';
import { sum, type RunProgress } from './types.js';

export function phaseDurations(p: RunProgress['run']['phases']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [phase, t] of Object.entries(p)) {
    if (t?.start !== undefined && t.end !== undefined) out[phase] = Math.max(0, t.end - t.start);
  }
  return out;
}

/** When each phase that ended started and ended, as ISO times. */
export function phaseSpans(p: RunProgress['run']['phases']): Record<string, { start: string; end: string }> {
  const out: Record<string, { start: string; end: string }> = {};
  for (const [phase, t] of Object.entries(p)) {
    if (t?.start !== undefined && t.end !== undefined) {
      out[phase] = { start: new Date(t.start).toISOString(), end: new Date(t.end).toISOString() };
    }
  }
  return out;
}

/** The run's summary but for its files, which writeRunReport names as it writes them. */
export function buildSummary(
  progress: RunProgress,
  jobs: Auth0JobEntry[],
  finishedAt: number,
  importSlots?: number,
): Omit<RunSummary, 'files'> {
  const { run, counts } = progress;
  const alreadyMigrated = sum(counts.already_migrated);
  const skipped = sum(counts.skipped);
  const failed = sum(counts.failed);
  return {
    runId: run.runId,
    kind: run.kind,
    dryRun: run.dryRun,
    upsert: run.upsert,
    status: run.status === 'failed' ? 'failed' : 'completed',
    ...(run.error !== undefined && { error: run.error }),
    input: {
      ...(run.file !== undefined && { file: run.file }),
      ...(run.hashesFile !== undefined && { hashesFile: run.hashesFile }),
      ...(run.mfaFile !== undefined && { mfaFile: run.mfaFile }),
      ...(run.oldTenant !== undefined && { oldTenant: run.oldTenant }),
      ...(run.newTenant !== undefined && { newTenant: run.newTenant }),
      ...(run.connection !== undefined && { connection: run.connection }),
    },
    counts: {
      total: counts.records,
      imported: counts.imported,
      already_migrated: alreadyMigrated,
      skipped,
      failed,
    },
    imported: { inserted: counts.inserted, updated: counts.updated },
    already_migrated: counts.already_migrated,
    skipped: counts.skipped,
    failed: counts.failed,
    passwordResets: counts.passwordResets,
    mfaReenrolments: counts.mfaReenrolments,
    batches: { total: run.planEmitted, completed: progress.batches.done, failed: progress.batches.failed },
    ...(importSlots !== undefined && { importSlots }),
    auth0Jobs: jobs,
    timings: {
      startedAt: new Date(run.createdAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      phases: phaseDurations(run.phases),
      spans: phaseSpans(run.phases),
    },
  };
}

export function progressSnapshot(p: RunProgress): ProgressSnapshot {
  const c = p.counts;
  const total = p.run.kind === 'sweep' ? p.run.exportUsers : undefined;
  return {
    runId: p.run.runId,
    phase: p.run.status === 'running' ? p.run.phase : 'done',
    usersRead: p.run.planRead,
    batches: {
      queued: p.batches.queued,
      running: p.batches.running,
      done: p.batches.done,
      failed: p.batches.failed,
    },
    counts: {
      imported: c.imported,
      already_migrated: sum(c.already_migrated),
      skipped: sum(c.skipped),
      failed: sum(c.failed),
    },
    ...(total !== undefined && { total }),
    ...(p.relations !== undefined && { relations: p.relations }),
    startedAt: p.run.createdAt,
  };
}
