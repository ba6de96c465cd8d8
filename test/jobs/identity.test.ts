/**
 * A run's identity: a worker configured with another connection on the same QUEUE_PREFIX refuses
 * the run's jobs (saying so at a bounded rate, naming both values) and a worker that matches does
 * them; `status` lists both workers and flags the mismatch; a resume with other settings is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { followRun } from '../../src/commands/run.js';
import { statusCommand, type WorkerSeen } from '../../src/commands/status.js';
import { withTenants } from '../../src/config.js';
import { startRun } from '../../src/jobs/flow.js';
import { runIdentity } from '../../src/jobs/identity.js';
import { QUEUES } from '../../src/jobs/queues.js';
import { createRuntime, type Runtime } from '../../src/jobs/runtime.js';
import { FAST, startHarness, type Harness } from './harness.js';
import { killAll, spawnWorker, workerEnv, type WorkerProcess } from './processes.js';

let h: Harness | undefined;
let other: Runtime | undefined;
const procs: WorkerProcess[] = [];
afterEach(async () => {
  await killAll(procs);
  await other?.close();
  other = undefined;
  await h?.close();
  h = undefined;
});

describe('a run started with other settings than a worker', () => {
  it('is refused by that worker and done by one that matches; status flags the mismatch', async () => {
    h = await startHarness({ sim: { seedOld: 600 }, env: { BATCH_BYTES: '30000' } });
    const connection = h.sim.tenants.new.connection;
    const matching = spawnWorker(workerEnv(h, { BATCH_BYTES: '30000' }));
    const stray = spawnWorker(
      workerEnv(h, { BATCH_BYTES: '30000', NEW_AUTH0_CONNECTION: 'no-such-connection', LOG_LEVEL: 'warn' }),
    );
    procs.push(matching, stray);
    await Promise.all([matching.ready, stray.ready]);

    const { runId } = await startRun(h.rt, { kind: 'sweep' });
    const final = await followRun(h.rt, runId, { intervalMs: 50 });
    expect(final!.run.status).toBe('completed');
    const summary = (await h.rt.store.getSummary(runId))!;
    expect(summary.counts.failed).toBe(0);
    expect(summary.input.connection).toBe(connection);

    // Every job of the run was done by the worker that matches.
    const ids = new Set<string | undefined>();
    for (const queue of [QUEUES.export, QUEUES.snapshot, QUEUES.plan, QUEUES.importBatch, QUEUES.report]) {
      for (const job of await h.rt.queue(queue).getCompleted(0, 1000)) ids.add(job.processedBy);
    }
    expect([...ids]).toEqual([expect.stringMatching(new RegExp(`:${matching.child.pid}$`))]);
    // The stray worker said why, naming both values, at a bounded rate (it refused many jobs).
    const refusals = stray
      .stderr()
      .split('\n')
      .filter((l) => l.includes('not configured for run'));
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(2);
    expect(refusals[0]).toContain(
      `NEW_AUTH0_CONNECTION is \\"${connection}\\" for the run, \\"no-such-connection\\" here`,
    );

    let json = '';
    await statusCommand(h.config, runId, { json: true }, { out: { write: (t: string) => (json += t) } });
    const workers = (JSON.parse(json) as { workers: WorkerSeen[] }).workers;
    const byPid = (pid: number | undefined) => workers.find((w) => w.id.endsWith(`:${pid}`));
    expect(byPid(matching.child.pid)).toMatchObject({ alive: true, differences: [] });
    expect(byPid(stray.child.pid)).toMatchObject({
      alive: true,
      differences: [{ setting: 'NEW_AUTH0_CONNECTION', run: connection, here: 'no-such-connection' }],
    });
  });

  it('is not resumed with other settings', async () => {
    h = await startHarness();
    await h.rt.store.createRun({
      runId: 'theirs',
      kind: 'sweep',
      dryRun: false,
      upsert: false,
      createdAt: Date.now(),
      ...runIdentity(h.config, 'sweep'),
    });
    const config = withTenants(h.config, { new: { ...h.config.tenants.new!, connection: 'elsewhere' } });
    other = await createRuntime(config, { settings: FAST });
    await expect(startRun(other, { kind: 'sweep', runId: 'theirs' })).rejects.toThrow(
      `Run theirs was started with other settings: NEW_AUTH0_CONNECTION is "${h.sim.tenants.new.connection}" for the run, "elsewhere" in this configuration.`,
    );
  });
});
