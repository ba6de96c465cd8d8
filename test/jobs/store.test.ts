/**
 * The run store: outcomes recorded twice count once (a redelivered batch), and the first one
 * written is the one kept; no write recreates a run or a batch Redis lost; per-user lines go to
 * the run's folder, never through a symbolic link; with PAYLOAD_KEY batch payloads sit encrypted
 * in Redis.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/jobs/batch-lifecycle.js';
import { startRun } from '../../src/jobs/flow.js';
import { dryRunBatch, failBatch } from '../../src/jobs/outcomes.js';
import { stagePlan } from '../../src/jobs/plan.js';
import { deleteKeysUnder } from '../../src/jobs/queues.js';
import { RunStateLost } from '../../src/jobs/store/index.js';
import { emptyCounts } from '../../src/jobs/types.js';
import { batchesOf, importableUsers, iterate, startHarness } from './harness.js';

const newRun = (runId: string, dryRun = false) => ({
  runId,
  kind: 'import' as const,
  dryRun,
  upsert: false,
  createdAt: Date.now(),
});

describe('run store', () => {
  it('counts a batch once however often its outcome is written or the batch is run again', async () => {
    const h = await startHarness({ sim: { seedOld: 60 } });
    const users = importableUsers(h.sim, 40);
    await h.rt.store.createRun(newRun('twice', true));
    await stagePlan(h.rt, 'twice', iterate(batchesOf(users, 20)));
    const staged = (await h.rt.store.loadBatch('twice', 0))!;
    const outcome = dryRunBatch('twice-0', 0, staged.users);
    await h.rt.store.finishBatch('twice', outcome);
    await h.rt.store.finishBatch('twice', outcome);
    // A redelivered job of an ended batch does nothing.
    await runBatch(h.rt, 'twice', 0);
    // A different ending of the same batch (a give-up racing a redelivery) does not replace it.
    const other = failBatch('twice-0', 0, staged.users, 'batch_failed', 'too late');
    expect(await h.rt.store.finishBatch('twice', other)).toEqual(outcome);
    const p = (await h.rt.store.progress('twice'))!;
    expect(p.counts.imported).toBe(20);
    expect(p.counts.records).toBe(20);
    expect(p.counts.failed).toEqual({});
    expect(p.batches).toMatchObject({ staged: 2, done: 1, failed: 0 });
    expect(await h.rt.store.loadBatch('twice', 0)).toBeUndefined();
    expect(await h.rt.store.getOutcome('twice', 0)).toEqual(outcome);
    expect(h.sim.tenant('new').stats.importJobsCreated).toBe(0);
    // The outcome went to the run's folder, private; Redis keeps no per-batch key of an ended batch.
    const parts = join(h.reportsDir, 'twice', 'parts');
    expect(await readdir(parts)).toEqual(['batch-0.json.gz']);
    expect((await stat(parts)).mode & 0o777).toBe(0o700);
    expect((await stat(join(parts, 'batch-0.json.gz'))).mode & 0o777).toBe(0o600);
    expect(await h.rt.redis.keys(`${h.prefix}:run:twice:*:0`)).toEqual([]);
  });

  it('never recreates a run or a batch that Redis lost: every write and a resume say so', async () => {
    const h = await startHarness({ sim: { seedOld: 30 } });
    const users = importableUsers(h.sim, 20);
    const { runId } = await startRun(h.rt, { kind: 'import', runId: 'gone', file: '/nonexistent' });
    await stagePlan(h.rt, runId, iterate(batchesOf(users, 10)));
    const staged = (await h.rt.store.loadBatch(runId, 0))!;
    // Redis restarted without persistence: every key is gone; the run's folder stays.
    await deleteKeysUnder(h.rt.redis, h.prefix);

    const s = h.rt.store;
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['setBatch', () => s.setBatch(runId, 0, { state: 'queued' })],
      ['finishBatch', () => s.finishBatch(runId, dryRunBatch(`${runId}-0`, 0, staged.users))],
      [
        'putChunk',
        () => s.putChunk(runId, { index: 5, counts: emptyCounts(), skipped: [], alreadyMigrated: [] }, 20),
      ],
      ['stageBatch', () => s.stageBatch(runId, 2, staged, 30)],
      ['setRun', () => s.setRun(runId, { planDone: 1 })],
      ['phaseStarted', () => s.phaseStarted(runId, 'plan')],
      ['markTime', () => s.markTime(runId, 'import', 'start')],
      ['failRun', () => s.failRun(runId, 'boom')],
      ['stopRun', () => s.stopRun(runId)],
      ['claimOnce', () => s.claimOnce(runId, 'emailed')],
      ['countRevival', () => s.countRevival(runId, 1)],
      ['countStageRevival', () => s.countStageRevival(runId, 'plan')],
    ];
    for (const [name, write] of writes) {
      await expect(write(), name).rejects.toThrow(RunStateLost);
    }
    expect(await h.rt.redis.keys(`${h.prefix}:run:*`)).toEqual([]);
    // A redelivered batch job ends without writing; a resume is refused with what to do.
    await expect(runBatch(h.rt, runId, 1)).rejects.toThrow(RunStateLost);
    await expect(startRun(h.rt, { kind: 'import', runId, file: '/nonexistent' })).rejects.toThrow(
      /Redis lost run gone's state: start a new run; users already imported are found in the new tenant/,
    );
    await expect(s.findRun(runId)).rejects.toThrow(RunStateLost);
    expect(await h.rt.redis.keys(`${h.prefix}:run:*`)).toEqual([]);
    // A run that never existed is not "lost".
    expect(await s.findRun('never')).toBeUndefined();
  });

  it('refuses a run folder that is a symbolic link, writing nothing through it', async () => {
    const h = await startHarness();
    const elsewhere = join(h.reportsDir, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o755 });
    await symlink(elsewhere, join(h.reportsDir, 'linked'));
    await expect(h.rt.store.createRun(newRun('linked'))).rejects.toThrow(/linked is a symbolic link/);
    expect(await readdir(elsewhere)).toEqual([]);
    expect((await stat(elsewhere)).mode & 0o777).toBe(0o755);
    expect(existsSync(join(h.reportsDir, 'linked', 'run.json'))).toBe(false);
  });

  it('keeps batch payloads encrypted in Redis when PAYLOAD_KEY is set', async () => {
    const h = await startHarness({
      sim: { seedOld: 30 },
      env: { PAYLOAD_KEY: randomBytes(32).toString('hex') },
    });
    const users = importableUsers(h.sim, 10);
    await h.rt.store.createRun(newRun('sealed'));
    await stagePlan(h.rt, 'sealed', iterate(batchesOf(users, 10)));
    const raw = (await h.rt.redis.getBuffer(`${h.prefix}:run:sealed:payload:0`))!;
    expect(raw[0]).toBe(0x01);
    for (const u of users) expect(raw.includes(Buffer.from(String(u.email)))).toBe(false);
    expect((await h.rt.store.loadBatch('sealed', 0))!.users.map((u) => u.email)).toEqual(
      users.map((u) => u.email),
    );
  });
});
