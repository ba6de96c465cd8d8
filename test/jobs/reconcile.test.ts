/**
 * Jobs BullMQ fails on its own (stalled more than maxStalledCount): tried again a few times, then
 * their batch ends with its users failed; and a worker killed while stalling is not allowed at all
 * still loses nobody.
 */
import { UnrecoverableError, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { followRun } from '../../src/commands/run.js';
import { stagePlan } from '../../src/jobs/plan.js';
import { QUEUES } from '../../src/jobs/queues.js';
import { MAX_REVIVALS, reconcileFailedJobs } from '../../src/jobs/reconcile.js';
import { FAST, batchesOf, importableUsers, iterate, newTenantIds, startHarness } from './harness.js';
import { killAtImportJob, until } from './processes.js';

// Worker processes start through tsx (seconds each on a busy machine): a longer time limit.
describe('jobs BullMQ failed on its own', { timeout: 120_000 }, () => {
  it('are tried again, then their users are failed with the reason', async () => {
    const h = await startHarness({ sim: { seedOld: 50 } });
    const users = importableUsers(h.sim, 20);
    await h.rt.store.createRun({
      runId: 'lost',
      kind: 'import',
      dryRun: false,
      upsert: false,
      createdAt: Date.now(),
    });
    // A worker that is not ours fails every job behind our processors' back.
    let failures = 0;
    const rogue = new Worker(
      QUEUES.importBatch,
      async () => {
        failures++;
        throw new UnrecoverableError('job stalled more than allowable limit');
      },
      { connection: h.rt.redis, prefix: h.prefix },
    );
    try {
      await stagePlan(h.rt, 'lost', iterate(batchesOf(users, 20)));
      for (let i = 1; i <= MAX_REVIVALS + 1; i++) {
        await until(
          async () => (await h.rt.queue(QUEUES.importBatch).getFailedCount()) === 1 && failures === i,
        );
        expect(await reconcileFailedJobs(h.rt)).toBe(1);
      }
      await until(async () => (await h.rt.store.getBatch('lost', 0))!.state === 'failed');
    } finally {
      await rogue.close();
    }
    expect(failures).toBe(MAX_REVIVALS + 1);
    const p = (await h.rt.store.progress('lost'))!;
    expect(p.counts.failed).toEqual({ batch_failed: 20 });
    expect(await reconcileFailedJobs(h.rt)).toBe(0);
  });

  it('a SIGKILLed worker whose jobs may not stall even once still loses nobody', async () => {
    const h = await startHarness({
      sim: { seedOld: 500, timing: { importUsersPerSecond: 600, tickMs: 5 } },
      settings: { maxStagedBatches: 100 },
    });
    const users = importableUsers(h.sim);
    await h.rt.store.createRun({
      runId: 'strict',
      kind: 'import',
      dryRun: false,
      upsert: false,
      createdAt: Date.now(),
    });
    await stagePlan(h.rt, 'strict', iterate(batchesOf(users, 40)));
    const env = { RUNNER_TEST_SETTINGS: JSON.stringify({ ...FAST, maxStalledCount: 0 }) };
    const first = h.spawnWorker(env);
    await first.ready;
    // With two slots, the fourth import job starts once at least two Auth0 jobs have ended.
    await killAtImportJob(h.sim, 4, first);
    const second = h.spawnWorker(env);
    await second.ready;
    await followRun(h.rt, 'strict', { intervalMs: 50 });

    const summary = (await h.rt.store.getSummary('strict'))!;
    // The killed worker's batches were failed by BullMQ's stalled check, then revived.
    expect((await h.rt.store.getRun('strict'))!.revivedBatches).toBeGreaterThan(0);
    const stats = h.sim.tenant('new').stats;
    expect(summary.counts).toMatchObject({ total: users.length, failed: 0 });
    expect(summary.counts.imported + summary.counts.already_migrated).toBe(users.length);
    expect(newTenantIds(h.sim).size).toBe(users.length);
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
  });
});
