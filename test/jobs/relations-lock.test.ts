/**
 * One relations run at a time per queue prefix: a second start is refused (the command with exit 1
 * and the active run's id, the schedule's job skipped), the holder resumes its own run, a lapsed
 * lease frees the lock, and a run that lost its lease to another stops instead of running beside it.
 */
import { Writable } from 'node:stream';
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { relationsCommand } from '../../src/commands/relations.js';
import { startRun } from '../../src/jobs/flow.js';
import { acquireRelationsLock, withRelationsLease } from '../../src/jobs/relations-lock.js';
import { RunStopped } from '../../src/jobs/store/index.js';
import { DEFAULT_RELATIONS, type SweepJobData } from '../../src/jobs/types.js';
import { sweepProcessor } from '../../src/workers/sweep.js';
import { FAST, startHarness, type Harness } from './harness.js';
import { until } from './processes.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

/** A relations run that holds the lock and waits in the queue (no workers in this process). */
async function activeRun(h: Harness, runId: string): Promise<void> {
  expect(await acquireRelationsLock(h.rt, runId)).toEqual({ ok: true });
  await startRun(h.rt, { kind: 'relations', runId, relations: DEFAULT_RELATIONS });
}

describe('relations lock', { timeout: 60_000 }, () => {
  it('refuses a second relations command naming the active run; the holder resumes its own run, which frees the lock', async () => {
    const h = await startHarness({ sim: { seedOld: 60, seedNewMigrated: 0.5, seed: 3 } });
    await activeRun(h, 'rel-active');
    let text = '';
    const hooks = { settings: FAST, out: { write: (t: string) => (text += t) }, progressStream: quiet };
    // The CLI exits with the error's exit code: 1.
    await expect(relationsCommand(h.config, {}, hooks)).rejects.toMatchObject({
      exitCode: 1,
      message: 'Relations run rel-active is active; relations runs do not overlap.',
      hint: expect.stringContaining('auth0-migrate status rel-active'),
    });
    expect(await h.rt.store.listRunIds()).toEqual(['rel-active']);

    expect(await relationsCommand(h.config, { runId: 'rel-active' }, hooks)).toBe(0);
    expect(text).toContain('Resuming run rel-active');
    expect((await h.rt.store.getRun('rel-active'))!.status).toBe('completed');
    // Ended: the next run starts.
    expect(await acquireRelationsLock(h.rt, 'rel-next')).toEqual({ ok: true });
  });

  it('a relations command that cannot start its run leaves the lock free', async () => {
    const h = await startHarness();
    await startRun(h.rt, { kind: 'import', runId: 'an-import', file: 'users.ndjson' });
    const hooks = { settings: FAST, out: { write: () => undefined }, progressStream: quiet };
    await expect(relationsCommand(h.config, { runId: 'an-import' }, hooks)).rejects.toThrow(
      /not a relations/,
    );
    expect(await acquireRelationsLock(h.rt, 'rel-next')).toEqual({ ok: true });
  });

  it("skips the schedule's relations job while another relations run is active", async () => {
    const h = await startHarness();
    await activeRun(h, 'rel-active');
    const job = { id: 'repeat:relations:1', timestamp: Date.now(), data: { kind: 'relations' } };
    const result = await sweepProcessor(h.rt)(job as unknown as Job<SweepJobData>);
    expect(result.skippedFor).toBe('rel-active');
    expect(await h.rt.store.listRunIds()).toEqual(['rel-active']);
  });

  it('a lapsed lease frees the lock; the run that lost it stops instead of running beside the next', async () => {
    const h = await startHarness({ settings: { relationsLeaseMs: 300 } });
    await activeRun(h, 'rel-crashed');
    expect(await acquireRelationsLock(h.rt, 'rel-b')).toEqual({ ok: false, holder: 'rel-crashed' });
    // Nobody renews rel-crashed's lease (its process died): it lapses.
    await until(async () => (await acquireRelationsLock(h.rt, 'rel-b')).ok);
    const crashed = (await h.rt.store.getRun('rel-crashed'))!;
    let ran = false;
    await expect(
      withRelationsLease(h.rt, crashed, async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(RunStopped);
    expect(ran).toBe(false);
    expect((await h.rt.store.getRun('rel-crashed'))!.status).toBe('stopped');
    // A stopped holder does not block: its lock is taken over.
    await h.rt.store.releaseRelationsLock('rel-b');
    expect(await acquireRelationsLock(h.rt, 'rel-crashed')).toEqual({ ok: true });
    expect(await acquireRelationsLock(h.rt, 'rel-c')).toEqual({ ok: true });
  });

  it('renews the lease while the work runs', async () => {
    const h = await startHarness({ settings: { relationsLeaseMs: 300 } });
    await activeRun(h, 'rel-long');
    const run = (await h.rt.store.getRun('rel-long'))!;
    await withRelationsLease(h.rt, run, () => new Promise((r) => setTimeout(r, 1_000)));
    expect(await acquireRelationsLock(h.rt, 'rel-other')).toEqual({ ok: false, holder: 'rel-long' });
  });
});
