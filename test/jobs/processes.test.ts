/**
 * Several worker PROCESSES on one run: the import slots hold across them, and a worker killed with
 * SIGKILL in the middle of a run loses nothing: another one finishes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { followRun } from '../../src/commands/run.js';
import { stagePlan } from '../../src/jobs/plan.js';
import { batchesOf, importableUsers, iterate, newTenantIds, startHarness, type Harness } from './harness.js';
import { killAll, spawnWorker, until, workerEnv, type WorkerProcess } from './processes.js';

let h: Harness | undefined;
const procs: WorkerProcess[] = [];
afterEach(async () => {
  await killAll(procs);
  await h?.close();
  h = undefined;
});

async function stagedRun(harness: Harness, runId: string, perBatch: number): Promise<number> {
  const users = importableUsers(harness.sim);
  await harness.rt.store.createRun({
    runId,
    kind: 'import',
    dryRun: false,
    upsert: false,
    createdAt: Date.now(),
  });
  // No worker yet: stage everything up front (a generous limit), the processes do the rest.
  const staging = stagePlan(harness.rt, runId, iterate(batchesOf(users, perBatch)));
  return staging.then(() => users.length);
}

describe('worker processes', () => {
  it('three processes never run more than two Auth0 import jobs at once', async () => {
    h = await startHarness({
      sim: { seedOld: 900, timing: { importUsersPerSecond: 300, tickMs: 5 } },
      settings: { maxStagedBatches: 100 },
    });
    const env = workerEnv(h);
    for (let i = 0; i < 3; i++) procs.push(spawnWorker(env));
    await Promise.all(procs.map((p) => p.ready));
    const total = await stagedRun(h, 'three-procs', 30);
    await followRun(h.rt, 'three-procs', { intervalMs: 50 });

    const stats = h.sim.tenant('new').stats;
    expect(stats.maxActiveImportJobs).toBe(2);
    // Our slots held before Auth0's own limit had to say no.
    expect(stats.importJobsRejected).toBe(0);
    expect(new Set(stats.importedUserIds).size).toBe(total);
    expect(stats.importedUserIds).toHaveLength(total);
    const summary = (await h.rt.store.getSummary('three-procs'))!;
    expect(summary.counts.imported).toBe(total);
    expect(summary.problems).toBeUndefined();
    // The jobs were spread over the processes (each took some).
    const workersSeen = new Set(
      (await h.rt.queue('import-batch').getCompleted(0, 1000)).map((j) => j.processedBy),
    );
    expect(workersSeen.size).toBeGreaterThan(1);
  });

  it('a worker killed with SIGKILL mid-run is replaced and the run ends with no user lost or imported twice', async () => {
    h = await startHarness({
      sim: { seedOld: 700, timing: { importUsersPerSecond: 600, tickMs: 5 } },
      settings: { maxStagedBatches: 100 },
    });
    const total = await stagedRun(h, 'killed', 40);
    const first = spawnWorker(workerEnv(h));
    procs.push(first);
    await first.ready;
    // Killed while it holds a batch: between two batches a loaded machine may have none running.
    let runningAtKill = 0;
    await until(async () => {
      if ((await h!.rt.store.endedCount('killed')) < 3) return false;
      runningAtKill = (await h!.rt.store.progress('killed'))!.batches.running;
      return runningAtKill > 0;
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const second = spawnWorker(workerEnv(h));
    procs.push(second);
    await second.ready;
    const final = await followRun(h.rt, 'killed', { intervalMs: 50 });

    expect(runningAtKill).toBeGreaterThan(0);
    const stats = h.sim.tenant('new').stats;
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
    expect(newTenantIds(h.sim).size).toBe(total);
    const summary = (await h.rt.store.getSummary('killed'))!;
    expect(final!.run.status).toBe('completed');
    expect(summary.problems).toBeUndefined();
    expect(summary.counts.total).toBe(total);
    expect(summary.counts.failed).toBe(0);
    expect(summary.counts.imported + summary.counts.already_migrated).toBe(total);
    expect(stats.maxActiveImportJobs).toBeLessThanOrEqual(2);
  });
});
