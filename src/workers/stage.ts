/** The wrapper shared by the export, snapshot, plan and report processors. */
import { UnrecoverableError, type Job } from 'bullmq';
import { coerceError, isToolError } from '../errors.js';
import { checkIdentity } from '../jobs/batch-lifecycle.js';
import { failRun } from '../jobs/flow.js';
import type { Runtime } from '../jobs/runtime.js';
import type { StageJobData, StageName } from '../jobs/types.js';
import { deferJob, endsQuietly, isFinal, isLastAttempt } from './defer.js';

export type StageFn = (runId: string, signal: AbortSignal | undefined) => Promise<unknown>;

/**
 * Runs `fn` for the job's run. A stage that cannot finish (an error no attempt cures, or the last
 * attempt) fails the run, which then gets its report saying why. A run Redis lost, or a stopped
 * one, ends the job without writing anything.
 */
export function stageProcessor(rt: Runtime, stage: StageName, fn: StageFn) {
  return async (job: Job<StageJobData>, token?: string, signal?: AbortSignal): Promise<void> => {
    const { runId } = job.data;
    try {
      const run = await rt.store.requireRun(runId);
      checkIdentity(rt, run);
      if (run.status !== 'running' && stage !== 'report') return;
      await fn(runId, signal);
    } catch (thrown) {
      await deferJob(job, token, thrown, signal);
      if (endsQuietly(rt, runId, thrown)) return;
      const err = coerceError(thrown);
      const final = isFinal(err);
      rt.logger.warn(
        { runId, stage, err: err.message, attempt: job.attemptsMade + 1, final },
        'stage failed',
      );
      if (!final && !isLastAttempt(job)) throw err;
      const hint = isToolError(err) ? err.hint : undefined;
      const message = `${stage}: ${err.message}${hint !== undefined ? ` (${hint})` : ''}`;
      if (stage === 'report') await rt.store.setRun(runId, { reportError: message });
      else await failRun(rt, runId, message);
      throw final ? new UnrecoverableError(err.message) : err;
    }
  };
}
