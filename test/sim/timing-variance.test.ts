/** Job timing variance: seeded per job, within its spreads, off for `fast` and on request. */
import { afterEach, describe, expect, it } from 'vitest';
import { drawJobTiming } from '../../src/sim/engine/job-timing.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { DEFAULT_VARIANCE, resolveOptions } from '../../src/sim/options.js';
import { Mgmt } from './helpers.js';

describe('timing profiles', () => {
  it('vary on the tiers, not on fast or explicit numbers, and can be turned off or reseeded', () => {
    expect(resolveOptions({ timing: 'enterprise' }).timing.variance).toEqual(DEFAULT_VARIANCE);
    expect(resolveOptions({ timing: 'fast' }).timing.variance).toBe(false);
    expect(resolveOptions({ timing: { importUsersPerSecond: 10 } }).timing.variance).toBe(false);
    expect(resolveOptions({ timing: 'free', timingVariance: false }).timing.variance).toBe(false);
    expect(resolveOptions({ timing: 'fast', timingVariance: 42 }).timing.variance).toEqual({
      ...DEFAULT_VARIANCE,
      seed: 42,
    });
    expect(() => resolveOptions({ timingVariance: { speedSpread: 1.5 } })).toThrow(/speedSpread/);
    expect(() => resolveOptions({ timingVariance: 1.5 })).toThrow(/seed/);
  });
});

describe('drawJobTiming', () => {
  const timing = { pendingMs: 1000, variance: { ...DEFAULT_VARIANCE, seed: 7 } };
  const draws = Array.from({ length: 4000 }, (_, i) => drawJobTiming(timing, 'new', i));

  it('is reproducible, differs by seed and by tenant', () => {
    expect(Array.from({ length: 50 }, (_, i) => drawJobTiming(timing, 'new', i))).toEqual(draws.slice(0, 50));
    const other = drawJobTiming({ ...timing, variance: { ...timing.variance, seed: 8 } }, 'new', 0);
    expect(other).not.toEqual(draws[0]);
    expect(drawJobTiming(timing, 'old', 0)).not.toEqual(draws[0]);
  });

  it('spreads pending delays and speeds as set, with an occasional slow job', () => {
    const pend = draws.map((d) => d.pendingMs);
    expect(Math.min(...pend)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...pend)).toBeLessThanOrEqual(1800);
    expect(Math.max(...pend) - Math.min(...pend)).toBeGreaterThan(1400);
    const normal = draws.filter((d) => d.speed >= 0.7);
    expect(Math.min(...normal.map((d) => d.speed))).toBeLessThan(0.72);
    expect(Math.max(...draws.map((d) => d.speed))).toBeLessThanOrEqual(1.3);
    expect(Math.max(...draws.map((d) => d.speed))).toBeGreaterThan(1.28);
    const slow = draws.filter((d) => d.speed < 0.65);
    // About 3 % are slow (speed × 0.5: from 0.35 to 0.65).
    expect(slow.length / draws.length).toBeGreaterThan(0.015);
    expect(slow.length / draws.length).toBeLessThan(0.045);
    expect(Math.min(...slow.map((d) => d.speed))).toBeGreaterThanOrEqual(0.35);
    const mean = draws.reduce((t, d) => t + d.speed, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.96);
    expect(mean).toBeLessThan(1.0);
  });

  it('is the tier figure itself without variance', () => {
    expect(drawJobTiming({ pendingMs: 1500, variance: false }, 'new', 3)).toEqual({
      pendingMs: 1500,
      speed: 1,
    });
  });
});

describe('import jobs under variance', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  async function durations(
    seed: number | false,
  ): Promise<Array<{ pendingMs: number; speed: number; ms: number }>> {
    sim = await startSimulator({
      timing: { pendingMs: 40, importUsersPerSecond: 2000, tickMs: 5 },
      timingVariance: seed === false ? false : { seed, slowShare: 0.3 },
    });
    const api = await Mgmt.connect(sim, 'new');
    const out = [];
    for (let i = 0; i < 6; i++) {
      const users = Array.from({ length: 400 }, (_, k) => ({ email: `s${seed}-j${i}-u${k}@example.com` }));
      const created = await api.call('POST', '/jobs/users-imports', { form: api.importForm(users) });
      expect(created.status).toBe(202);
      const done = await api.waitForJob(created.body.id);
      expect(done.summary).toMatchObject({ inserted: 400, total: 400 });
      const job = sim.tenant('new').jobs.get(created.body.id)!;
      out.push({ pendingMs: job.pendingMs, speed: job.speed, ms: job.endedAtMs! - job.startedAtMs! });
    }
    await sim.close();
    sim = undefined;
    return out;
  }

  it('run each job at its drawn speed; the same seed draws the same jobs, no variance keeps them constant', async () => {
    const a = await durations(11);
    const b = await durations(11);
    expect(b.map(({ pendingMs, speed }) => ({ pendingMs, speed }))).toEqual(
      a.map(({ pendingMs, speed }) => ({ pendingMs, speed })),
    );
    expect(new Set(a.map((j) => j.speed)).size).toBe(6);
    for (const j of a) {
      // 400 users at 2,000/s × speed: never sooner (give or take the 5 ms tick); later on a busy machine.
      const expected = (400 / (2000 * j.speed)) * 1000;
      expect(j.ms).toBeGreaterThanOrEqual(expected - 10);
      expect(j.ms).toBeLessThan(expected * 3 + 300);
    }
    const constant = await durations(false);
    expect(constant.every((j) => j.speed === 1 && j.pendingMs === 40)).toBe(true);
  });
});
