/** The import-batch processor: runs one batch (jobs/batch-lifecycle.ts) and maps its waits onto BullMQ. */
import type { Job } from 'bullmq';
import { coerceError } from '../errors.js';
import { giveUpBatch, runBatch } from '../jobs/batch-lifecycle.js';
import type { Runtime } from '../jobs/runtime.js';
import type { ImportBatchJobData } from '../jobs/types.js';
import { deferJob, endsQuietly, errorCode, isFinal, isLastAttempt } from './defer.js';

export function importBatchProcessor(rt: Runtime) {
  return async (job: Job<ImportBatchJobData>, token?: string, signal?: AbortSignal): Promise<void> => {
    const { runId, batch } = job.data;
    try {
      await runBatch(rt, runId, batch, { ...(signal && { signal }) });
    } catch (thrown) {
      await deferJob(job, token, thrown, signal);
      if (endsQuietly(rt, runId, thrown)) return;
      const err = coerceError(thrown);
      if (!isFinal(err) && !isLastAttempt(job)) throw err;
      // Nothing disappears: the batch's users end as failed, with the reason, and the run goes on.
      await giveUpBatch(rt, runId, batch, errorCode(err), err.message);
      rt.logger.error({ batch: job.id, err: err.message, attempts: job.attemptsMade + 1 }, 'batch failed');
    }
  };
}
