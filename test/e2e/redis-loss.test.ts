/**
 * Redis restarted in the middle of a sweep, on a redis-server of the test's own: without
 * persistence the run is lost (said as such, never half-resumed, nothing recreated) and a new run
 * imports everyone who is not in the new tenant; with AOF (as docker-compose.yml runs Redis) the
 * same run finishes, every user once, and the workers wait quietly while Redis is away. Both
 * tenants are compared user by user.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { discardCommand } from '../../src/commands/discard.js';
import { followRun } from '../../src/commands/run.js';
import { statusCommand } from '../../src/commands/status.js';
import { startRun } from '../../src/jobs/flow.js';
import { redisServerInstalled } from '../../src/jobs/redis-server.js';
import { createRuntime } from '../../src/jobs/runtime.js';
import { RunStateLost } from '../../src/jobs/store/index.js';
import { startWorkers } from '../../src/workers/index.js';
import { checkSummary } from '../../src/report/write.js';
import { FAST, startHarness, startOwnRedis } from '../jobs/harness.js';
import { captureLogger } from '../jobs/helpers.js';
import { until } from '../jobs/processes.js';
import { expectTenantsMatch, snapshotTenants } from './tenants.js';

const SIM = { seedOld: 3_000, seedNewMigrated: 0.1, timing: { importUsersPerSecond: 1_500, tickMs: 5 } };

describe.skipIf(!redisServerInstalled())('Redis restarted mid-run', () => {
  it('without persistence: the run is lost, said so, never recreated; a new run imports everyone not in the new tenant', async () => {
    const redis = await startOwnRedis();
    const h = await startHarness({ sim: SIM, env: { REDIS_URL: redis.url, BATCH_BYTES: '40000' } });
    const before = snapshotTenants(h.sim);
    const worker = h.spawnWorker({ REDIS_URL: redis.url, BATCH_BYTES: '40000', LOG_LEVEL: 'warn' });
    await worker.ready;
    const { runId: lost } = await startRun(h.rt, { kind: 'sweep' });
    await until(async () => (await h.rt.store.endedCount(lost)) >= 4);

    await redis.halt();
    await redis.start();

    // The command following the run says what happened and what to do.
    await expect(followRun(h.rt, lost, { intervalMs: 50 })).rejects.toThrow(new RunStateLost(lost).message);
    // A resume is refused: what is left cannot be trusted; status says what happened.
    await expect(startRun(h.rt, { kind: 'sweep', runId: lost })).rejects.toThrow(RunStateLost);
    await expect(statusCommand(h.config, lost, {}, { out: { write: () => true } })).rejects.toThrow(
      RunStateLost,
    );
    // The worker noticed, and its jobs of the lost run ended saying why.
    await until(() => worker.stderr().includes('Redis came back without its data'));
    await until(() => worker.stderr().includes(`Redis lost run ${lost}'s state`));
    // The batches that had ended before the restart are in the lost run's folder, not in Redis.
    const parts = await readdir(join(h.reportsDir, lost, 'parts'));
    expect(parts.filter((p) => p.startsWith('batch-')).length).toBeGreaterThanOrEqual(4);

    // The same worker process, still running, takes the new run.
    const { runId } = await startRun(h.rt, { kind: 'sweep' });
    const final = await followRun(h.rt, runId, { intervalMs: 50 });
    const summary = (await h.rt.store.getSummary(runId))!;
    expect(final!.run.status).toBe('completed');
    expect(checkSummary(summary)).toEqual([]);
    expect(summary.problems).toBeUndefined();
    expect(summary.counts.failed).toBe(0);
    expect(summary.counts.total).toBe(before.old.length);
    expectTenantsMatch(h.sim, before);
    // What the lost run imported is already migrated for the new one; nobody was imported twice.
    const stats = h.sim.tenant('new').stats;
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
    expect(summary.counts.imported + summary.counts.already_migrated).toBe(
      before.importable.length + before.newOnlyWithoutEmail,
    );
    // The lost run's late writes (batches still in flight at the restart) recreated nothing.
    expect(await h.rt.redis.keys(`${h.prefix}:run:${lost}*`)).toEqual([]);
    // Discarding the lost run deletes its files but keeps the mark that it was started.
    let said = '';
    expect(await discardCommand(h.config, lost, { out: { write: (t: string) => (said += t) } })).toBe(0);
    expect(said).toContain(`Run ${lost} was lost by Redis`);
    expect(existsSync(join(h.reportsDir, lost, 'parts'))).toBe(false);
    expect(existsSync(join(h.reportsDir, lost, 'run.json'))).toBe(true);
  });

  it('with AOF: the same run finishes after the restart, every user once, and the workers wait quietly', async () => {
    const redis = await startOwnRedis({ aof: true });
    // A lock longer than the outage, also on a loaded machine (where the outage and the AOF replay
    // have taken over 15 s): the test is about Redis coming back, not about stalled jobs.
    const settings = { ...FAST, lockDurationMs: 60_000, stalledIntervalMs: 5_000 };
    const h = await startHarness({ sim: SIM, env: { REDIS_URL: redis.url, BATCH_BYTES: '40000' }, settings });
    const before = snapshotTenants(h.sim);
    const log = captureLogger();
    const wrt = await createRuntime(h.config, { settings, logger: log.logger });
    onTestFinished(() => wrt.close());
    const workers = await startWorkers(wrt);
    onTestFinished(async () => void (await workers.close()));
    const { runId } = await startRun(h.rt, { kind: 'sweep' });
    await until(async () => (await h.rt.store.endedCount(runId)) >= 3);

    await redis.halt();
    // Let the workers try to reconnect a few times before Redis is back.
    let attempts = 0;
    await new Promise<void>((resolve) => {
      const onAttempt = (): void => {
        if (++attempts < 5) return;
        wrt.redis.off('reconnecting', onAttempt);
        resolve();
      };
      wrt.redis.on('reconnecting', onAttempt);
    });
    await redis.start();

    const final = await followRun(h.rt, runId, { intervalMs: 50 });
    const summary = (await h.rt.store.getSummary(runId))!;
    expect(final!.run.status).toBe('completed');
    expect(checkSummary(summary)).toEqual([]);
    expect(summary.problems).toBeUndefined();
    expect(summary.counts.failed).toBe(0);
    expect(summary.counts.total).toBe(before.old.length);
    expectTenantsMatch(h.sim, before);
    const stats = h.sim.tenant('new').stats;
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
    expect(summary.counts.imported).toBe(stats.importedUserIds.length);
    expect(stats.importJobsCreated).toBe(summary.batches.total);
    // One line when Redis went away, one when it came back; no line per worker per attempt.
    const msgs = log.lines.map((l) => String(l.msg));
    expect(msgs.filter((m) => m.startsWith('Redis is unreachable'))).toHaveLength(1);
    expect(msgs.filter((m) => m.startsWith('Redis is back'))).toHaveLength(1);
    expect(msgs.filter((m) => /worker error|queue error/.test(m))).toEqual([]);
  });
});
