/**
 * The relations processors: the stage job (read, diff, plan: jobs/relations.ts) and one job per
 * planned call. A call that fails for good is counted failed by the stage itself; the job then ends.
 */
import type { Job } from 'bullmq';
import { checkIdentity } from '../jobs/batch-lifecycle.js';
import { withRelationsLease } from '../jobs/relations-lock.js';
import { runRelationCall, runRelationsStage, type RelationCallJobData } from '../jobs/relations.js';
import type { Runtime } from '../jobs/runtime.js';
import { RunStopped } from '../jobs/store/index.js';
import { deferJob, endsQuietly, isLastAttempt } from './defer.js';
import { stageProcessor } from './stage.js';

export const relationsProcessor = (rt: Runtime) =>
  stageProcessor(rt, 'relations', async (runId, signal) =>
    withRelationsLease(rt, await rt.store.requireRun(runId), () => runRelationsStage(rt, runId, signal)),
  );

export function relationCallProcessor(rt: Runtime) {
  return async (job: Job<RelationCallJobData>, token?: string, signal?: AbortSignal): Promise<void> => {
    const { runId } = job.data;
    try {
      const run = await rt.store.requireRun(runId);
      checkIdentity(rt, run);
      // A stopped run's calls wait for its resume, which queues them again.
      if (run.status !== 'running') throw new RunStopped(runId);
      await withRelationsLease(rt, run, () => runRelationCall(rt, job.data, isLastAttempt(job)));
    } catch (thrown) {
      await deferJob(job, token, thrown, signal);
      if (endsQuietly(rt, runId, thrown)) return;
      throw thrown;
    }
  };
}
