import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgress, formatProgress, type ProgressSnapshot } from '../../src/report/progress.js';

class Sink {
  chunks: string[] = [];
  isTTY: boolean;
  columns = 200;
  constructor(tty: boolean) {
    this.isTTY = tty;
  }
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const T0 = Date.parse('2024-05-01T10:00:00.000Z');

function snap(done: number, overrides: Partial<ProgressSnapshot> = {}): ProgressSnapshot {
  return {
    runId: 'run-1',
    phase: 'import',
    usersRead: 1000,
    total: 1000,
    batches: { queued: 4, running: 2, done: 3, failed: 0 },
    counts: { imported: done - 50, already_migrated: 40, skipped: 10, failed: 0 },
    startedAt: T0,
    ...overrides,
  };
}

let clock = T0;
beforeEach(() => {
  clock = T0;
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createProgress', () => {
  it('prints plain lines at most once per interval, on phase changes and at the end, with an estimate', () => {
    const out = new Sink(false);
    const p = createProgress({ stream: out, intervalMs: 10_000, now: () => clock });
    p.update(snap(100, { phase: 'plan' }));
    clock += 2000;
    p.update(snap(150, { phase: 'plan' }));
    expect(out.chunks).toHaveLength(1);
    p.update(snap(150));
    expect(out.chunks).toHaveLength(2);
    clock += 10_000;
    p.update(snap(350));
    expect(out.chunks).toHaveLength(3);
    // 250 users in 12 s since the first sample: 650 left at 20.8/s.
    expect(out.chunks[2]).toBe(
      'run-1 import · elapsed 12.0 s · about 31.2 s left · read 1,000/1,000 · batches 4 queued, 2 running, 3 done · users 300 imported, 40 already there, 10 skipped, 0 failed\n',
    );
    p.stop(snap(1000, { phase: 'done' }));
    expect(out.chunks).toHaveLength(4);
    expect(out.chunks[3]).toMatch(/^run-1 done · elapsed 12\.0 s · read .* users 950 imported.*\n$/);
    expect(out.chunks[3]).not.toContain('left');
  });

  it('repeats the last line when no news came for an interval, and stops cleanly', () => {
    const out = new Sink(false);
    const p = createProgress({ stream: out, intervalMs: 5000, now: () => clock });
    p.update(snap(100));
    clock += 5000;
    vi.advanceTimersByTime(5000);
    expect(out.chunks).toHaveLength(2);
    expect(out.chunks[1]).toContain('elapsed 5.0 s');
    p.stop();
    p.stop();
    clock += 20_000;
    vi.advanceTimersByTime(20_000);
    expect(out.chunks).toHaveLength(3);
  });

  it('writes pino-shaped JSON lines when LOG_FORMAT is json', () => {
    const out = new Sink(false);
    const p = createProgress({ stream: out, logFormat: 'json', intervalMs: 1000, now: () => clock });
    p.update(snap(100));
    clock += 10_000;
    p.update(snap(300));
    p.stop();
    const lines = out.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatchObject({
      level: 30,
      msg: 'progress',
      runId: 'run-1',
      done: 300,
      usersPerSecond: 20,
      etaMs: 35_000,
    });
    expect(lines[2]).toMatchObject({ msg: 'finished', done: 300 });
    expect(lines[2]).not.toHaveProperty('etaMs');
  });

  it('says "estimating" until the rate is known, and nothing of the time left once no user remains', () => {
    const out = new Sink(false);
    const p = createProgress({ stream: out, intervalMs: 1000, now: () => clock });
    p.update(snap(100));
    expect(out.chunks[0]).toContain(' · elapsed 0 ms · estimating · read ');
    clock += 2000;
    p.update(snap(500));
    expect(out.chunks[1]).toContain('about 2.5 s left');
    clock += 2000;
    // Every user has an outcome while the report is written: no "about 0 ms left".
    p.update(snap(1000, { phase: 'report' }));
    expect(out.chunks[2]).toMatch(/^run-1 report · elapsed 4\.0 s · read /);
    p.update(snap(1000, { phase: 'import', total: undefined }));
    expect(out.chunks[3]).toMatch(/^run-1 import · elapsed 4\.0 s · read /);
    p.stop();
  });

  it('writes nothing when stopped before any snapshot', () => {
    const out = new Sink(true);
    const p = createProgress({ stream: out, now: () => clock });
    p.stop();
    expect(out.text).toBe('');
  });
});

describe('formatProgress', () => {
  it('counts the relations calls once the stage has planned them', () => {
    const s = snap(1000, { phase: 'relations', relations: { calls: 40, ended: 12 } });
    expect(formatProgress(s, { done: 1000 }, 5000)).toContain('relation calls 12/40');
    expect(formatProgress(snap(1000), { done: 1000 }, 5000)).not.toContain('relation calls');
  });
});
