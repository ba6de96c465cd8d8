/**
 * `worker`: the sweep schedule (SWEEP_CRON) with overlapping sweeps deduplicated, metrics, and
 * a clean stop; and a worker process stopped with SIGTERM hands its batches back.
 */
import { describe, expect, it } from 'vitest';
import { followRun } from '../../src/commands/run.js';
import { workerCommand } from '../../src/commands/worker.js';
import { stagePlan } from '../../src/jobs/plan.js';
import { QUEUES } from '../../src/jobs/queues.js';
import { freePort } from '../../src/jobs/redis-server.js';
import { batchesOf, FAST, importableUsers, iterate, startHarness } from './harness.js';
import { until } from './processes.js';

// Worker processes start through tsx (seconds each on a busy machine): a longer time limit.
describe('worker command', { timeout: 120_000 }, () => {
  it('keeps the sweep schedule, never runs two sweeps at once, serves metrics and stops cleanly', async () => {
    const h = await startHarness({
      sim: { seedOld: 400, timing: { importUsersPerSecond: 150, tickMs: 5 } },
      env: { BATCH_BYTES: '40000' },
    });
    const port = await freePort();
    const config = { ...h.config, sweepCron: '*/1 * * * * *', metricsPort: port };
    const stop = new AbortController();
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    const running = workerCommand(config, { settings: FAST, signal: stop.signal, onReady: ready });
    await started;

    const sweepQueue = h.rt.queue(QUEUES.sweep);
    expect(await sweepQueue.getJobSchedulers()).toEqual([
      expect.objectContaining({ key: 'sweep', pattern: '*/1 * * * * *' }),
    ]);
    // Wait for the first sweep to finish while the schedule keeps firing every second.
    await until(async () => {
      const ids = await h.rt.store.listRunIds();
      const runs = await Promise.all(ids.map((id) => h.rt.store.getRun(id)));
      return runs.some((r) => r?.reportDir !== undefined);
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    stop.abort();
    expect(await running).toBe(0);

    const ids = await h.rt.store.listRunIds();
    const runs = (await Promise.all(ids.map((id) => h.rt.store.getRun(id)))).map((r) => r!);
    const first = runs.find((r) => r.reportDir !== undefined)!;
    // No other sweep started while the first one ran; the scheduled ones in between were skipped.
    const overlapping = runs.filter((r) => r.runId !== first.runId && r.createdAt < first.finishedAt!);
    expect(overlapping).toEqual([]);
    const skipped = (await sweepQueue.getCompleted(0, 100)).filter(
      (j) => j.returnvalue?.skippedFor === first.runId,
    );
    expect(skipped.length).toBeGreaterThan(0);
    expect(metrics).toContain('auth0_migrate_queue_jobs');
  });

  it('removes the schedule when SWEEP_CRON is unset', async () => {
    const h = await startHarness();
    const stop = new AbortController();
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    const first = workerCommand(
      { ...h.config, sweepCron: '0 3 * * *' },
      { settings: FAST, signal: stop.signal, onReady: ready },
    );
    await started;
    expect(await h.rt.queue(QUEUES.sweep).getJobSchedulers()).toHaveLength(1);
    stop.abort();
    await first;
    const again = new AbortController();
    again.abort();
    expect(await workerCommand(h.config, { settings: FAST, signal: again.signal })).toBe(0);
    expect(await h.rt.queue(QUEUES.sweep).getJobSchedulers()).toHaveLength(0);
  });

  it('keeps the relations schedule (RELATIONS_CRON): its job starts a relations run that carries the roles', async () => {
    const h = await startHarness({ sim: { seedOld: 200, seedNewMigrated: 0.5, seed: 5 } });
    const stop = new AbortController();
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    const running = workerCommand(
      { ...h.config, relationsCron: '*/1 * * * * *' },
      { settings: FAST, signal: stop.signal, onReady: ready },
    );
    await started;
    expect(await h.rt.queue(QUEUES.sweep).getJobSchedulers()).toEqual([
      expect.objectContaining({ key: 'relations', pattern: '*/1 * * * * *' }),
    ]);
    let done: string | undefined;
    await until(async () => {
      for (const id of await h.rt.store.listRunIds()) {
        const run = await h.rt.store.getRun(id);
        if (run?.kind === 'relations' && run.reportDir !== undefined) done = id;
      }
      return done !== undefined;
    });
    stop.abort();
    expect(await running).toBe(0);
    const summary = (await h.rt.store.getSummary(done!))!;
    expect(summary.kind).toBe('relations');
    expect(summary.relations!.counts.role_assignments!.total).toBeGreaterThan(0);
    expect(summary.problems).toBeUndefined();
    // Unset, the schedule goes.
    const again = new AbortController();
    again.abort();
    expect(await workerCommand(h.config, { settings: FAST, signal: again.signal })).toBe(0);
    expect(await h.rt.queue(QUEUES.sweep).getJobSchedulers()).toHaveLength(0);
  });

  it('a worker process stopped with SIGTERM hands its running batch back; the next one resumes it without sending it again', async () => {
    const h = await startHarness({
      // Two batches whose Auth0 jobs take about 12 s each, side by side: far longer than the stop
      // takes even on a CPU-starved machine, so the batch is still running when the worker stops.
      sim: { seedOld: 130, timing: { importUsersPerSecond: 5, tickMs: 5 } },
      settings: { maxStagedBatches: 50 },
    });
    const users = importableUsers(h.sim);
    const runId = 'sigterm';
    await h.rt.store.createRun({
      runId,
      kind: 'import',
      dryRun: false,
      upsert: false,
      createdAt: Date.now(),
    });
    const planned = await stagePlan(h.rt, runId, iterate(batchesOf(users, Math.ceil(users.length / 2))));
    // A grace period that a CPU-starved machine still meets: the hand-back is what is tested here.
    const settings = { ...FAST, shutdownGraceMs: 15_000 };
    const first = h.spawnWorker({ RUNNER_TEST_SETTINGS: JSON.stringify(settings) });
    await first.ready;
    await until(async () => (await h.rt.store.getBatch(runId, 0))?.jobId !== undefined);
    first.child.kill('SIGTERM');
    // 0: every active job was handed back within the grace period (1 when it ran out).
    expect(await first.exited).toBe(0);
    // Both running batches are handed back; neither is taken again by the worker that is stopping.
    for (const n of [0, 1]) {
      const handedBack = await h.rt.queue(QUEUES.importBatch).getJob(`${runId}-${n}`);
      expect(await handedBack!.getState()).toMatch(/waiting|prioritized/);
    }
    expect((await h.rt.store.getBatch(runId, 0))!.state).toBe('submitted');

    const second = h.spawnWorker();
    await second.ready;
    await followRun(h.rt, runId, { intervalMs: 50 });
    const stats = h.sim.tenant('new').stats;
    expect(stats.importJobsCreated).toBe(planned.batches);
    expect(stats.importedUserIds).toHaveLength(users.length);
    expect((await h.rt.store.getSummary(runId))!.counts.imported).toBe(users.length);
  });
});
