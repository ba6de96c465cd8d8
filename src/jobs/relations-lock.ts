/**
 * One relations run at a time per queue prefix: two runs planning from the same tenants would both
 * send, and both count, the same additions. The run store holds the lock with a lease; the run's
 * jobs renew it while they work, so a crashed holder blocks the next run for one lease at most.
 */
import type { Runtime } from './runtime.js';
import { RunStopped } from './store/index.js';

/** Takes the relations lock for `runId`, or answers the run that holds it. */
export function acquireRelationsLock(
  rt: Runtime,
  runId: string,
): Promise<{ ok: true } | { ok: false; holder: string }> {
  return rt.store.acquireRelationsLock(runId, rt.settings.relationsLeaseMs);
}

export function releaseRelationsLock(rt: Runtime, runId: string): Promise<void> {
  return rt.store.releaseRelationsLock(runId);
}

/**
 * Runs `work` while renewing the lease of a relations run (other runs' relations stages hold no
 * lock). A run whose lease lapsed and was taken by another run is stopped, not run beside it:
 * `relations --run-id` resumes it later.
 */
export async function withRelationsLease<T>(
  rt: Runtime,
  run: { runId: string; kind: string },
  work: () => Promise<T>,
): Promise<T> {
  if (run.kind !== 'relations') return work();
  const { runId } = run;
  const leaseMs = rt.settings.relationsLeaseMs;
  if (!(await rt.store.renewRelationsLock(runId, leaseMs))) {
    if (await rt.store.stopRun(runId)) {
      rt.logger.warn(
        { runId },
        'relations run stopped: its lease lapsed and another relations run holds the lock',
      );
    }
    throw new RunStopped(runId);
  }
  const timer = setInterval(
    () => {
      rt.store.renewRelationsLock(runId, leaseMs).catch(() => undefined);
    },
    Math.max(1, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
