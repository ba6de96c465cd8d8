/**
 * Several worker PROCESSES on one run: the import slots hold across them, and a worker killed with
 * SIGKILL in the middle of a run loses nothing: another one finishes it.
 */
import { describe, expect, it } from 'vitest';
import { followRun } from '../../src/commands/run.js';
import { stagePlan } from '../../src/jobs/plan.js';
import { batchesOf, importableUsers, iterate, newTenantIds, startHarness, type Harness } from './harness.js';
import { killAtImportJob } from './processes.js';

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

// Worker processes start through tsx (seconds each on a busy machine): a longer time limit.
describe('worker processes', { timeout: 120_000 }, () => {
  it('three processes never run more than two Auth0 import jobs at once', async () => {
    const h = await startHarness({
      sim: { seedOld: 900, timing: { importUsersPerSecond: 300, tickMs: 5 } },
      settings: { maxStagedBatches: 100 },
    });
    const procs = [h.spawnWorker(), h.spawnWorker(), h.spawnWorker()];
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
    const h = await startHarness({
      sim: { seedOld: 700, timing: { importUsersPerSecond: 600, tickMs: 5 } },
      settings: { maxStagedBatches: 100 },
    });
    const total = await stagedRun(h, 'killed', 40);
    const first = h.spawnWorker();
    await first.ready;
    // With two slots, the fifth import job starts once at least three Auth0 jobs have ended.
    await killAtImportJob(h.sim, 5, first);
    const atKill = (await h.rt.store.progress('killed'))!.batches;
    const second = h.spawnWorker();
    await second.ready;
    const final = await followRun(h.rt, 'killed', { intervalMs: 50 });

    expect(atKill.running).toBeGreaterThan(0);
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
