/**
 * The run store: outcomes recorded twice count once (a redelivered batch), and with PAYLOAD_KEY
 * batch payloads sit encrypted in Redis.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runBatch } from '../../src/jobs/batch-lifecycle.js';
import { dryRunBatch } from '../../src/jobs/outcomes.js';
import { stagePlan } from '../../src/jobs/plan.js';
import { batchesOf, importableUsers, iterate, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('run store', () => {
  it('counts a batch once however often its outcome is written or the batch is run again', async () => {
    h = await startHarness({ sim: { seedOld: 60 } });
    const users = importableUsers(h.sim, 40);
    await h.rt.store.createRun({
      runId: 'twice',
      kind: 'import',
      dryRun: true,
      upsert: false,
      createdAt: Date.now(),
    });
    await stagePlan(h.rt, 'twice', iterate(batchesOf(users, 20)));
    const staged = (await h.rt.store.loadBatch('twice', 0))!;
    const outcome = dryRunBatch('twice-0', 0, staged.users);
    await h.rt.store.finishBatch('twice', outcome);
    await h.rt.store.finishBatch('twice', outcome);
    // A redelivered job of an ended batch does nothing.
    await runBatch(h.rt, 'twice', 0);
    const p = (await h.rt.store.progress('twice'))!;
    expect(p.counts.imported).toBe(20);
    expect(p.counts.records).toBe(20);
    expect(p.batches).toMatchObject({ staged: 2, done: 1, failed: 0 });
    expect(await h.rt.store.loadBatch('twice', 0)).toBeUndefined();
    expect(h.sim.tenant('new').stats.importJobsCreated).toBe(0);
  });

  it('keeps batch payloads encrypted in Redis when PAYLOAD_KEY is set', async () => {
    h = await startHarness({ sim: { seedOld: 30 }, env: { PAYLOAD_KEY: randomBytes(32).toString('hex') } });
    const users = importableUsers(h.sim, 10);
    await h.rt.store.createRun({
      runId: 'sealed',
      kind: 'import',
      dryRun: false,
      upsert: false,
      createdAt: Date.now(),
    });
    await stagePlan(h.rt, 'sealed', iterate(batchesOf(users, 10)));
    const raw = (await h.rt.redis.getBuffer(`${h.prefix}:run:sealed:payload:0`))!;
    expect(raw[0]).toBe(0x01);
    for (const u of users) expect(raw.includes(Buffer.from(String(u.email)))).toBe(false);
    expect((await h.rt.store.loadBatch('sealed', 0))!.users.map((u) => u.email)).toEqual(
      users.map((u) => u.email),
    );
  });
});
