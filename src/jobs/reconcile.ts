/**
 * What BullMQ failed without our processors knowing: a job that stalled more often than
 * `maxStalledCount` (its workers kept dying) is moved to `failed` by the stalled check alone. Such
 * a job is tried again a few times (its stage resumes from the stored state: a batch with a job
 * id only polls); after that the batch ends with its users failed, with the reason, or the stage
 * fails its run, so the run always reaches its report. Every worker process runs this now and
 * then; it is idempotent.
 */
import type { Job } from 'bullmq';
import { giveUpBatch } from './batch-lifecycle.js';
import { failRun } from './flow.js';
import { QUEUES } from './queues.js';
import type { Runtime } from './runtime.js';
import { RunStateLost } from './store/index.js';
import type { ImportBatchJobData, StageJobData } from './types.js';

const PAGE = 500;
/** Times a job BullMQ failed on its own is tried again before its users or its run are failed. */
export const MAX_REVIVALS = 3;

/** Revives or ends what failed jobs left open; answers how many jobs it acted on. */
export async function reconcileFailedJobs(rt: Runtime): Promise<number> {
  let acted = 0;
  const batches = (await rt.queue(QUEUES.importBatch).getFailed(0, PAGE - 1)) as Array<
    Job<ImportBatchJobData>
  >;
  for (const job of batches) {
    const { runId, batch } = job.data;
    const run = await rt.store.getRun(runId);
    const record = await rt.store.getBatch(runId, batch);
    // A lost run's jobs are left as they are: nothing of theirs is written again.
    if (run?.status !== 'running' || record === undefined) continue;
    if (record.state === 'done' || record.state === 'failed') continue;
    try {
      const revived = await rt.store.countRevival(runId, batch);
      if (revived <= MAX_REVIVALS) await job.retry('failed');
      else await giveUpBatch(rt, runId, batch, 'batch_failed', job.failedReason || 'the batch job failed');
    } catch (err) {
      if (err instanceof RunStateLost) continue;
      throw err;
    }
    acted++;
  }
  for (const stage of [QUEUES.export, QUEUES.snapshot, QUEUES.plan] as const) {
    const jobs = (await rt.queue(stage).getFailed(0, PAGE - 1)) as Array<Job<StageJobData>>;
    for (const job of jobs) {
      const run = await rt.store.getRun(job.data.runId);
      if (run?.status !== 'running') continue;
      try {
        const revived = await rt.store.countStageRevival(run.runId, stage);
        if (revived <= MAX_REVIVALS) await job.retry('failed');
        else await failRun(rt, run.runId, `${stage}: ${job.failedReason || 'the job failed'}`);
      } catch (err) {
        if (err instanceof RunStateLost) continue;
        throw err;
      }
      acted++;
    }
  }
  return acted;
}
