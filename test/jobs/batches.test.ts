/**
 * The batch lifecycle on real Redis and the simulator, with batches built in the test: staging
 * with backpressure, idempotent resume of a batch whose Auth0 job id is stored, dry runs, and
 * faults ending in a correct accounting.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { followRun } from '../../src/commands/run.js';
import { batchJobId, stageJobId } from '../../src/jobs/flow.js';
import { stagePlan, stagingLimit } from '../../src/jobs/plan.js';
import { QUEUES } from '../../src/jobs/queues.js';
import type { RunSpec } from '../../src/jobs/flow.js';
import { sum } from '../../src/jobs/types.js';
import { batchesOf, importableUsers, iterate, newTenantIds, startHarness, type Harness } from './harness.js';
import { until } from './processes.js';

const BATCH_QUEUES = [QUEUES.importBatch, QUEUES.report] as const;

async function createRun(harness: Harness, runId: string, spec: Partial<RunSpec> = {}): Promise<void> {
  await harness.rt.store.createRun({
    runId,
    kind: 'import',
    dryRun: spec.dryRun === true,
    upsert: false,
    createdAt: Date.now(),
  });
}

describe('import batches', () => {
  it('stages batches no further ahead than the limit, imports every user once, and reports', async () => {
    const h = await startHarness({
      sim: { seedOld: 700, timing: { importUsersPerSecond: 4000, tickMs: 5 } },
    });
    const users = importableUsers(h.sim);
    const runId = 'staging-1';
    await createRun(h, runId);
    await h.startWorkers({ queues: BATCH_QUEUES });

    let peak = 0;
    const sampler = setInterval(() => {
      void h.rt.redis
        .keys(`${h.prefix}:run:${runId}:payload:*`)
        .then((k) => (peak = Math.max(peak, k.length)));
    }, 10);
    const planned = await stagePlan(h.rt, runId, iterate(batchesOf(users, 25)));
    const final = await followRun(h.rt, runId, { intervalMs: 50 });
    clearInterval(sampler);

    expect(planned.batches).toBe(Math.ceil(users.length / 25));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(stagingLimit(h.rt));
    const stats = h.sim.tenant('new').stats;
    expect(stats.importedUserIds).toHaveLength(users.length);
    expect(new Set(stats.importedUserIds).size).toBe(users.length);
    expect(stats.maxActiveImportJobs).toBeLessThanOrEqual(2);
    expect(newTenantIds(h.sim)).toEqual(new Set(users.map((u) => String(u.user_id))));

    const summary = (await h.rt.store.getSummary(runId))!;
    expect(final!.run.status).toBe('completed');
    expect(summary.counts).toEqual({
      total: users.length,
      imported: users.length,
      already_migrated: 0,
      skipped: 0,
      failed: 0,
    });
    expect(summary.problems).toBeUndefined();
    expect(summary.auth0Jobs).toHaveLength(planned.batches);
    expect(summary.passwordResets).toBe(users.length);
    const mode = (await stat(join(final!.run.reportDir!, 'imported.ndjson.gz'))).mode & 0o777;
    expect(mode).toBe(0o600);
    // Per-user data never stays in Redis, and the parts go once the report holds them (the report
    // job deletes them after marking the run completed, so its end is waited for).
    const report = (await h.rt.queue(QUEUES.report).getJob(stageJobId(runId, 'report')))!;
    await until(() => report.isCompleted());
    expect(await h.rt.redis.keys(`${h.prefix}:run:${runId}:payload:*`)).toEqual([]);
    await expect(stat(join(h.reportsDir, runId, 'parts'))).rejects.toThrow();
  });

  it('resumes polling a batch whose Auth0 job id is stored, and never sends its users again', async () => {
    const h = await startHarness({
      sim: { seedOld: 120, timing: { importUsersPerSecond: 400, tickMs: 10 } },
    });
    const users = importableUsers(h.sim, 100);
    const runId = 'resume-1';
    await createRun(h, runId);
    // Stage without workers, then play a worker that created the Auth0 job and died.
    await stagePlan(h.rt, runId, iterate(batchesOf(users, 100)));
    const staged = (await h.rt.store.loadBatch(runId, 0))!;
    const job = await h.rt.client('new').createImportJob({
      connectionId: h.sim.tenants.new.connectionId,
      users: Buffer.from(staged.payload),
      externalId: batchJobId(runId, 0),
    });
    await h.rt.store.setBatch(runId, 0, { state: 'submitted', jobId: job.id, submittedAt: Date.now() });
    expect(h.sim.tenant('new').stats.importJobsCreated).toBe(1);

    await h.startWorkers({ queues: BATCH_QUEUES });
    await followRun(h.rt, runId, { intervalMs: 50 });

    const stats = h.sim.tenant('new').stats;
    expect(stats.importJobsCreated).toBe(1);
    expect(stats.importedUserIds).toHaveLength(users.length);
    const summary = (await h.rt.store.getSummary(runId))!;
    expect(summary.counts.imported).toBe(users.length);
    expect(summary.auth0Jobs).toEqual([expect.objectContaining({ jobId: job.id, status: 'completed' })]);
  });

  it('--dry-run goes through every batch and submits nothing', async () => {
    const h = await startHarness({ sim: { seedOld: 300 } });
    const users = importableUsers(h.sim);
    const runId = 'dry-1';
    await createRun(h, runId, { dryRun: true });
    await h.startWorkers({ queues: BATCH_QUEUES });
    await stagePlan(h.rt, runId, iterate(batchesOf(users, 40)));
    await followRun(h.rt, runId, { intervalMs: 50 });

    expect(h.sim.tenant('new').stats.importJobsCreated).toBe(0);
    expect(h.sim.tenant('new').userCount()).toBe(0);
    const summary = (await h.rt.store.getSummary(runId))!;
    expect(summary.dryRun).toBe(true);
    expect(summary.counts.imported).toBe(users.length);
    expect(summary.auth0Jobs).toEqual([]);
  });

  it('puts the users of batches that fail on every attempt in failed, with the reason: nothing disappears', async () => {
    const h = await startHarness({ sim: { seedOld: 200 }, settings: { batchAttempts: 3 } });
    const users = importableUsers(h.sim, 120);
    const runId = 'gives-up';
    await createRun(h, runId);
    // Every submission gets a 503: the answer is lost, so each attempt may or may not have worked.
    h.sim.faults.add({
      kind: 'error',
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
      status: 503,
      times: 0,
    });
    await h.startWorkers({ queues: BATCH_QUEUES });
    await stagePlan(h.rt, runId, iterate(batchesOf(users, 40)));
    await followRun(h.rt, runId, { intervalMs: 50 });

    const summary = (await h.rt.store.getSummary(runId))!;
    const lines = (name: string) =>
      readFile(join(h.reportsDir, runId, name), 'utf8').then((t) =>
        t
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      );
    const failures = await lines('failures.ndjson');
    const retry = await lines('retry.ndjson');
    expect(summary.counts).toMatchObject({ total: 120, failed: 120, imported: 0 });
    expect(summary.failed).toEqual({ outcome_unknown: 120 });
    expect(summary.batches).toEqual({ total: 3, completed: 0, failed: 3 });
    expect(h.sim.tenant('new').stats.faultsInjected).toBe(9);
    expect(failures).toHaveLength(120);
    expect(failures[0]).toMatchObject({ batch: `${runId}-0`, code: 'outcome_unknown' });
    expect(failures[0].message).toMatch(/no usable answer/);
    expect(retry.map((r) => r.user_id).sort()).toEqual(users.map((u) => u.user_id).sort());
    expect(summary.problems).toBeUndefined();
  });

  it('ends in a correct accounting through 429 storms, 5xx, dropped connections and a failed Auth0 job', async () => {
    const h = await startHarness({
      sim: { seedOld: 500, timing: { importUsersPerSecond: 5000, tickMs: 5 } },
    });
    const users = importableUsers(h.sim);
    const runId = 'faults-1';
    await createRun(h, runId);
    const tenant = 'new';
    h.sim.faults.add({
      kind: 'rate-limit',
      tenant,
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
      times: 6,
    });
    h.sim.faults.add({
      kind: 'error',
      tenant,
      method: 'GET',
      path: '/api/v2/jobs/',
      status: 503,
      times: 5,
      skip: 3,
    });
    h.sim.faults.add({
      kind: 'drop',
      tenant,
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
      times: 2,
      skip: 2,
    });
    h.sim.faults.add({ kind: 'drop', tenant, method: 'GET', path: '/api/v2/jobs/', times: 2, skip: 8 });
    h.sim.faults.failJob({ tenant, statusDetails: 'Internal error while processing the import' });

    await h.startWorkers({ queues: BATCH_QUEUES });
    await stagePlan(h.rt, runId, iterate(batchesOf(users, 30)));
    await followRun(h.rt, runId, { intervalMs: 50 });

    const summary = (await h.rt.store.getSummary(runId))!;
    const stats = h.sim.tenant('new').stats;
    const inNew = newTenantIds(h.sim);
    expect(summary.problems).toBeUndefined();
    expect(summary.counts.total).toBe(users.length);
    // Exactly one batch (the failed Auth0 job) is lost; its users are failed, never dropped.
    expect(summary.failed).toEqual({ job_failed: 30 });
    expect(summary.batches.failed).toBe(1);
    expect(summary.counts.imported + summary.counts.already_migrated).toBe(users.length - 30);
    expect(inNew.size).toBe(users.length - 30);
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
    expect(stats.faultsInjected).toBeGreaterThanOrEqual(15);
    expect(stats.maxActiveImportJobs).toBeLessThanOrEqual(2);
    expect(sum(summary.already_migrated) + summary.counts.imported + summary.counts.failed).toBe(
      users.length,
    );
  });
});
