/**
 * The sweep processor: a job of the `sweep` queue (the schedule's, or `sweep --no-workers`)
 * starts a sweep run, unless one is already running: sweeps never overlap. A relations job (the
 * RELATIONS_CRON schedule's) likewise waits for no other relations run to be active.
 */
import type { Job } from 'bullmq';
import { acquireSweepLock, newRunId, releaseSweepLock, startRun } from '../jobs/flow.js';
import { acquireRelationsLock, releaseRelationsLock } from '../jobs/relations-lock.js';
import type { Runtime } from '../jobs/runtime.js';
import { RunStateLost } from '../jobs/store/index.js';
import { DEFAULT_RELATIONS, type SweepJobData } from '../jobs/types.js';

export interface SweepJobResult {
  runId: string;
  /** Set when the sweep was skipped because another one is running. */
  skippedFor?: string;
}

export function sweepProcessor(rt: Runtime) {
  return async (job: Job<SweepJobData>): Promise<SweepJobResult> => {
    const relations = job.data.relations === false ? undefined : (job.data.relations ?? DEFAULT_RELATIONS);
    if (job.data.kind === 'relations') {
      // Its id follows the job's, so a redelivered job resumes its own run (and keeps its lock).
      const runId = job.data.runId ?? newRunId('relations', new Date(job.timestamp), job.id);
      const lock = await acquireRelationsLock(rt, runId);
      if (!lock.ok) {
        rt.logger.warn({ runId, running: lock.holder }, 'relations skipped: another relations run is active');
        return { runId, skippedFor: lock.holder };
      }
      try {
        await startRun(rt, {
          kind: 'relations',
          runId,
          dryRun: job.data.dryRun === true,
          relations: relations ?? DEFAULT_RELATIONS,
        });
      } catch (err) {
        if (!(err instanceof RunStateLost)) throw err;
        await releaseRelationsLock(rt, runId);
        rt.logger.error({ runId, hint: err.hint }, err.message);
      }
      return { runId };
    }
    // Derived from the job, so a redelivered job resumes its own run instead of starting another.
    const runId = job.data.runId ?? newRunId('sweep', new Date(job.timestamp), job.id);
    const lock = await acquireSweepLock(rt, runId);
    if (!lock.ok) {
      rt.logger.warn({ runId, running: lock.holder }, 'sweep skipped: another sweep is still running');
      return { runId, skippedFor: lock.holder };
    }
    try {
      await startRun(rt, {
        kind: 'sweep',
        runId,
        dryRun: job.data.dryRun === true,
        upsert: job.data.upsert === true,
        ...(relations !== undefined && { relations }),
      });
    } catch (err) {
      // A redelivered sweep job whose run Redis lost: the next scheduled sweep starts a new run.
      if (!(err instanceof RunStateLost)) throw err;
      await releaseSweepLock(rt, runId);
      rt.logger.error({ runId, hint: err.hint }, err.message);
    }
    return { runId };
  };
}
