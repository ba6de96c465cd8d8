/** The wrapper shared by the export, snapshot, plan and report processors. */
import { UnrecoverableError, type Job } from 'bullmq';
import { coerceError, isToolError } from '../errors.js';
import { failRun } from '../jobs/flow.js';
import type { Runtime } from '../jobs/runtime.js';
import type { StageJobData, StageName } from '../jobs/types.js';
import { deferJob, isFinal, isLastAttempt } from './defer.js';

export type StageFn = (runId: string, signal: AbortSignal | undefined) => Promise<unknown>;

/**
 * Runs `fn` for the job's run. A stage that cannot finish (an error no attempt cures, or the last
 * attempt) fails the run, which then gets its report saying why.
 */
export function stageProcessor(rt: Runtime, stage: StageName, fn: StageFn) {
  return async (job: Job<StageJobData>, token?: string, signal?: AbortSignal): Promise<void> => {
    const { runId } = job.data;
    const run = await rt.store.getRun(runId);
    if (run === undefined) return;
    if (run.status !== 'running' && stage !== 'report') return;
    try {
      await fn(runId, signal);
    } catch (thrown) {
      await deferJob(job, token, thrown, signal);
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
