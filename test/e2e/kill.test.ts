/**
 * A sweep whose worker process is killed with SIGKILL in the middle (the plan stage and import
 * batches in flight) and finished by another process: no user lost, none imported twice.
 */
import { describe, expect, it } from 'vitest';
import { followRun } from '../../src/commands/run.js';
import { startRun } from '../../src/jobs/flow.js';
import { checkSummary } from '../../src/report/write.js';
import { newTenantIds, startHarness } from '../jobs/harness.js';
import { killAtImportJob } from '../jobs/processes.js';
import { expectTenantsMatch, snapshotTenants } from './tenants.js';

// Worker processes start through tsx (seconds each on a busy machine): a longer time limit.
describe('a killed worker process', { timeout: 120_000 }, () => {
  it('is replaced by another and the sweep ends with every user accounted for once', async () => {
    const h = await startHarness({
      sim: { seedOld: 5_000, seedNewMigrated: 0.2, timing: { importUsersPerSecond: 2_500, tickMs: 5 } },
      env: { BATCH_BYTES: '40000' },
    });
    const oldUsers = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)];
    const before = newTenantIds(h.sim);
    const tenants = snapshotTenants(h.sim);
    const { runId } = await startRun(h.rt, { kind: 'sweep' });
    const env = { BATCH_BYTES: '40000' };

    const first = h.spawnWorker(env);
    await first.ready;
    // With two slots, the eighth import job starts once at least six Auth0 jobs have ended.
    await killAtImportJob(h.sim, 8, first);
    const atKill = (await h.rt.store.getRun(runId))!;

    const second = h.spawnWorker(env);
    await second.ready;
    const final = await followRun(h.rt, runId, { intervalMs: 50 });

    const summary = (await h.rt.store.getSummary(runId))!;
    const stats = h.sim.tenant('new').stats;
    const withEmail = oldUsers.filter((u) => typeof u.email === 'string');
    const expected = new Set([...before, ...withEmail.map((u) => String(u.user_id))]);
    // Killed while the plan stage was still staging batches.
    expect(atKill.planDone).toBe(false);
    expect(final!.run.status).toBe('completed');
    expect(checkSummary(summary)).toEqual([]);
    expect(summary.counts.total).toBe(oldUsers.length);
    expect(summary.counts.failed).toBe(0);
    expect(newTenantIds(h.sim)).toEqual(expected);
    expectTenantsMatch(h.sim, tenants);
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
    // Imported or already there: every user with an email, and those without one already in the new tenant.
    const noEmailThere = oldUsers.filter((u) => typeof u.email !== 'string' && before.has(String(u.user_id)));
    expect(summary.counts.imported + summary.counts.already_migrated).toBe(
      withEmail.length + noEmailThere.length,
    );
    expect(stats.maxActiveImportJobs).toBeLessThanOrEqual(2);
    expect(summary.batches.total).toBeGreaterThan(20);
  });
});
