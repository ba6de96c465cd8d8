/**
 * The relations stage across worker processes: three processes share one rate budget per tenant
 * (the simulator answers no 429 when the budget is below its limit), a process killed with SIGKILL
 * mid-stage is replaced and the run ends with every role assigned and every call counted once,
 * and 429 storms and 5xx answers are waited out.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { followRun } from '../../src/commands/run.js';
import { toTenantConfig } from '../../src/config.js';
import { startRun } from '../../src/jobs/flow.js';
import { DEFAULT_RELATIONS } from '../../src/jobs/types.js';
import { unbalanced } from '../../src/relations/types.js';
import { startHarness, type Harness } from './harness.js';
import { missingAssignments, roleMembers } from '../relations/compare.js';

async function expectRolesCarried(h: Harness, runId: string): Promise<void> {
  const old = createTenantClient(toTenantConfig(h.sim.tenants.old), { label: 'old' });
  const neu = createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' });
  const present = (id: string) => h.sim.tenant('new').user(id) !== undefined;
  expect(missingAssignments(await roleMembers(old), await roleMembers(neu), present)).toEqual({});
  const summary = (await h.rt.store.getSummary(runId))!;
  expect(summary.problems).toBeUndefined();
  const r = summary.relations!;
  expect(unbalanced(r.counts)).toEqual([]);
  // Every assignment the run counted as added is one line of the added-records, and no more.
  const lines = (await readFile(join(h.reportsDir, runId, 'relations-added.ndjson'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; userId?: string; entity: { name: string } });
  const assigned = lines
    .filter((l) => l.kind === 'role_assignments')
    .map((l) => `${l.entity.name} ${l.userId}`);
  expect(new Set(assigned).size).toBe(r.counts.role_assignments!.added);
}

describe('relations across worker processes', () => {
  it('three processes share the rate budget: no 429 from a tenant whose limit is above it', async () => {
    // A budget of half the tenant's rate: requests leave evenly spaced but arrive with the jitter
    // of three processes and a loaded machine, which a small burst (10) must absorb. With the
    // budget above the limit the same run gets 429s.
    const h = await startHarness({
      sim: { seedOld: 800, seedNewMigrated: 0.6, seed: 3, rateLimit: { capacity: 10, refillPerSecond: 40 } },
      env: { OLD_AUTH0_MAX_RPS: '20', NEW_AUTH0_MAX_RPS: '20', RELATIONS_ROLE_USERS_CHUNK: '5' },
    });
    const workers = [h.spawnWorker(), h.spawnWorker(), h.spawnWorker()];
    await Promise.all(workers.map((w) => w.ready));
    await startRun(h.rt, { kind: 'relations', runId: 'shared-budget', relations: DEFAULT_RELATIONS });
    const final = await followRun(h.rt, 'shared-budget', { intervalMs: 50 });
    expect(final!.run.status).toBe('completed');
    expect(h.sim.tenant('old').stats.rateLimited).toBe(0);
    expect(h.sim.tenant('new').stats.rateLimited).toBe(0);
    await expectRolesCarried(h, 'shared-budget');
    const calls = await h.rt.queue('relation-call').getCompleted(0, 1000);
    expect(calls.length).toBeGreaterThan(10);
    expect(new Set(calls.map((j) => j.processedBy)).size).toBeGreaterThan(1);
  }, 120_000);

  it('a worker killed with SIGKILL mid-stage is replaced: every role assigned, every call counted once', async () => {
    const h = await startHarness({
      sim: { seedOld: 800, seedNewMigrated: 0.6, seed: 4 },
      env: { NEW_AUTH0_MAX_RPS: '25', RELATIONS_ROLE_USERS_CHUNK: '3' },
    });
    const first = h.spawnWorker();
    await first.ready;
    await startRun(h.rt, { kind: 'relations', runId: 'killed-rel', relations: DEFAULT_RELATIONS });
    // Killed once some calls are counted and others wait.
    for (;;) {
      const s = await h.rt.store.relations.state('killed-rel');
      const ended = s.ended.reduce((a, b) => a + b, 0);
      const total = s.calls.reduce((a, b) => a + b, 0);
      if (s.planned && ended >= 5 && ended < total - 5) break;
      if (s.done) throw new Error('the stage ended before the kill');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = await h.rt.store.relations.state('killed-rel');
    const second = h.spawnWorker();
    await second.ready;
    const final = await followRun(h.rt, 'killed-rel', { intervalMs: 50 });
    expect(final!.run.status).toBe('completed');
    expect(atKill.done).toBe(false);
    await expectRolesCarried(h, 'killed-rel');
    const after = await h.rt.store.relations.state('killed-rel');
    expect(after.ended).toEqual(after.calls);
  }, 120_000);

  it('waits out a 429 storm, 5xx answers and lost answers on the calls, and still carries every role', async () => {
    const h = await startHarness({ sim: { seedOld: 600, seedNewMigrated: 0.6, seed: 6 } });
    h.sim.faults.add({
      kind: 'rate-limit',
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/roles',
      times: 25,
      resetSeconds: 0,
    });
    h.sim.faults.add({
      kind: 'error',
      status: 503,
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/roles',
      times: 6,
    });
    h.sim.faults.add({
      kind: 'error',
      status: 502,
      tenant: 'old',
      method: 'GET',
      path: '/api/v2/roles',
      times: 3,
    });
    // Answers lost after the tenant acted: the calls are repeated (a role then exists: looked up by name).
    h.sim.faults.add({ kind: 'drop-after', tenant: 'new', method: 'POST', path: '/api/v2/roles', times: 3 });
    await h.startWorkers();
    await startRun(h.rt, { kind: 'relations', runId: 'storm', relations: DEFAULT_RELATIONS });
    const final = await followRun(h.rt, 'storm', { intervalMs: 50 });
    expect(final!.run.status).toBe('completed');
    expect(h.sim.faults.list()).toEqual([]);
    await expectRolesCarried(h, 'storm');
    const summary = (await h.rt.store.getSummary('storm'))!;
    for (const c of Object.values(summary.relations!.counts)) expect(c.failed).toBe(0);
  }, 120_000);

  it('a user gone from the new tenant after the plan is pending, and the rest of their batch is assigned', async () => {
    const h = await startHarness({ sim: { seedOld: 400, seedNewMigrated: 0.6, seed: 7 } });
    // The stage plans, but no call runs until the user is gone.
    await h.startWorkers({ queues: ['relations'] });
    await startRun(h.rt, { kind: 'relations', runId: 'gone', relations: DEFAULT_RELATIONS });
    while (!(await h.rt.store.relations.state('gone')).planned) await new Promise((r) => setTimeout(r, 20));
    const plan = (await readFile(join(h.reportsDir, 'gone', 'relations-plan.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; call?: { kind: string; userIds: string[] } });
    const batch = plan.find(
      (l) => l.type === 'call' && l.call!.kind === 'role_assignments' && l.call!.userIds.length > 1,
    )!;
    const gone = batch.call!.userIds[0]!;
    const neu = createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' });
    await neu.request('DELETE', `/users/${encodeURIComponent(gone)}`);
    await h.startWorkers({ queues: ['relation-call', 'report'] });
    const final = await followRun(h.rt, 'gone', { intervalMs: 50 });
    expect(final!.run.status).toBe('completed');
    await expectRolesCarried(h, 'gone');
    const r = (await h.rt.store.getSummary('gone'))!.relations!;
    expect(r.counts.role_assignments!.failed).toBe(0);
    const plannedPending = plan.filter(
      (l) =>
        l.type === 'settled' &&
        (l as unknown as { settled: { kind: string; outcome: string } }).settled.kind ===
          'role_assignments' &&
        (l as unknown as { settled: { outcome: string } }).settled.outcome === 'pending_user',
    ).length;
    expect(r.counts.role_assignments!.pending_user).toBe(plannedPending + 1);
  }, 120_000);
});
