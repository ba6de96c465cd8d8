/**
 * Stopping `sweep`: Ctrl-C marks the run stopped (exit message, progress line and `status` say so)
 * and a resume finishes it with no batch sent twice; while Redis is unreachable, Ctrl-C still
 * stops the command at once, and without it the command gives up after REDIS_WAIT_MS with the
 * resume hint, saying so once instead of once per worker attempt.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { statusCommand } from '../../src/commands/status.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { redisServerInstalled, startPrivateRedis, type PrivateRedis } from '../../src/jobs/redis-server.js';
import { FAST, startHarness, type Harness } from '../jobs/harness.js';
import { captureLogger } from '../jobs/helpers.js';
import { until, workerEnv } from '../jobs/processes.js';
import { expectTenantsMatch, snapshotTenants } from './tenants.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

let h: Harness | undefined;
let redis: PrivateRedis | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await redis?.stop();
  redis = undefined;
});

function sink(): { write(t: string): boolean; text(): string; lines(): Array<Record<string, unknown>> } {
  let text = '';
  return {
    write: (t: string) => ((text += t), true),
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** The first run id under the harness's prefix, once there is one with `ended` batches ended. */
async function runWithEnded(harness: Harness, ended: number): Promise<string> {
  let runId: string | undefined;
  await until(async () => {
    runId = (await harness.rt.store.listRunIds(1))[0];
    return runId !== undefined && (await harness.rt.store.endedCount(runId)) >= ended;
  }, 60_000);
  return runId!;
}

const SIM = { seedOld: 1_500, timing: { importUsersPerSecond: 400, tickMs: 5 } };

describe('stopping a sweep', () => {
  it('Ctrl-C: the exit, the progress line and status say stopped; a resume finishes it, every user once', async () => {
    h = await startHarness({ sim: SIM, env: { BATCH_BYTES: '30000' } });
    const before = snapshotTenants(h.sim);
    const stop = new AbortController();
    const progress = sink();
    const running = sweepCommand(
      h.config,
      {},
      { settings: FAST, signal: stop.signal, out: sink(), progressStream: progress },
    );
    const runId = await runWithEnded(h, 2);
    stop.abort();
    await expect(running).rejects.toThrow(`Stopped: run ${runId} is stopped, not finished.`);
    expect(progress.lines().at(-1)).toMatchObject({ msg: 'stopped', phase: 'stopped' });

    const status = sink();
    expect(await statusCommand(h.config, runId, {}, { out: status })).toBe(1);
    expect(status.text()).toContain(`sweep ${runId}: stopped,`);
    expect(status.text()).toContain(`--run-id ${runId}`);
    const endedWhenStopped = await h.rt.store.endedCount(runId);

    const out = sink();
    expect(await sweepCommand(h.config, { runId }, { settings: FAST, out, progressStream: sink() })).toBe(0);
    expect(out.text()).toContain(`Resuming run ${runId}`);
    const summary = (await h.rt.store.getSummary(runId))!;
    const stats = h.sim.tenant('new').stats;
    expect(summary.status).toBe('completed');
    expect(summary.problems).toBeUndefined();
    expect(summary.batches.total).toBeGreaterThan(endedWhenStopped);
    expect(stats.importJobsCreated).toBe(summary.batches.total);
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
    expectTenantsMatch(h.sim, before);
  });
});

describe.skipIf(!redisServerInstalled())('sweep while Redis is unreachable', () => {
  it('gives up after REDIS_WAIT_MS with the resume hint, saying so once', async () => {
    redis = await startPrivateRedis();
    h = await startHarness({ sim: SIM, env: { REDIS_URL: redis.url, BATCH_BYTES: '30000' } });
    const log = captureLogger();
    const running = sweepCommand(
      { ...h.config, redisWaitMs: 3_000 },
      {},
      { settings: FAST, logger: log.logger, out: sink(), progressStream: sink() },
    );
    running.catch(() => undefined);
    const runId = await runWithEnded(h, 1);
    await redis.halt();
    const err = (await running.then(
      () => undefined,
      (e: unknown) => e,
    )) as Error & { hint?: string };
    expect(err.message).toMatch(new RegExp(`has not answered for .*: stopped following run ${runId}`));
    expect(err.hint).toContain(`auth0-migrate sweep --run-id ${runId}`);
    const msgs = log.lines.map((l) => String(l.msg));
    expect(msgs.filter((m) => m.startsWith('Redis is unreachable'))).toHaveLength(1);
    expect(msgs.filter((m) => /worker error|queue error/.test(m))).toEqual([]);
  });

  it('Ctrl-C (SIGINT to the command) stops at once', async () => {
    redis = await startPrivateRedis();
    h = await startHarness({ sim: SIM, env: { REDIS_URL: redis.url, BATCH_BYTES: '30000' } });
    const env = workerEnv(h, { REDIS_URL: redis.url, BATCH_BYTES: '30000', LOG_LEVEL: 'info' });
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'sweep'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await runWithEnded(h, 1);
      await redis.halt();
      await until(() => stderr.includes('Redis is unreachable'), 30_000);
      const t0 = Date.now();
      child.kill('SIGINT');
      const code = await exited;
      const stoppedIn = Date.now() - t0;
      expect(code).toBe(1);
      expect(stderr).toContain('Stopped while Redis did not answer');
      expect(stderr).toMatch(/hint: Resume it with `auth0-migrate sweep --run-id /);
      expect(stderr).not.toContain('worker error');
      // Far below the 20 s the workers get to hand their jobs back when Redis answers.
      expect(stoppedIn).toBeLessThan(10_000);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});
